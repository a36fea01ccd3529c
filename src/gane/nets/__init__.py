"""Plain networks (no loss code). The factories pick the convolutional or MLP version from the data kind."""
from __future__ import annotations

from torch import nn

from ..data import DataInfo
from ..errors import GaneError
from .conv import ConvBody, ConvEncoder, ConvGenerator
from .critic import Discriminator, Scores, VariationalBottleneck
from .density import CodeMixture
from .energy import AutoencoderDiscriminator
from .gaussian import gaussian_parameters, reparameterize
from .joint import JointBody
from .mlp import VECTOR_NETS, MLPBody, MLPEncoder, MLPGenerator, mlp, hidden_units
from .resnet import ResEncoder, ResGenerator, ThreeScoreDiscriminator


def _image(info: DataInfo, net: str = "mlp") -> bool:
    if info.kind != "image":
        return False
    if net != "mlp":
        raise GaneError(f"--vector-net {net} lays out networks for vector data, and this data holds images {tuple(info.shape)}. "
                        "Drop --vector-net.")
    return True


def generator(info: DataInfo, z_dim: int, width: float = 1.0, batch_norm: bool = True, net: str = "mlp") -> nn.Module:
    """code (B, z_dim) -> data (B, *info.shape). ``batch_norm=False`` where G decodes codes from an
    encoder that an adversary moves every step (see families/aae.py). ``net`` picks the layout for
    vector data (nets/mlp.py)."""
    if _image(info, net):
        return ConvGenerator(z_dim, info.shape, width, batch_norm)
    return VECTOR_NETS.get(net).generator(z_dim, info.shape[0], width, batch_norm)


def encoder(info: DataInfo, out_dim: int, width: float = 1.0, batch_norm: bool = True, net: str = "mlp") -> nn.Module:
    """data -> (B, out_dim). ``batch_norm=False`` for encoders an adversary pushes around every step,
    whose batch statistics drift too fast for the running averages used in eval mode."""
    if _image(info, net):
        return ConvEncoder(info.shape, out_dim, width, batch_norm)
    return VECTOR_NETS.get(net).encoder(info.shape[0], out_dim, width, batch_norm)


def body(info: DataInfo, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0, batch_norm: bool = True,
         net: str = "mlp") -> nn.Module:
    """data -> features (B, F), with ``out_features``."""
    if _image(info, net):
        return ConvBody(info.shape, width, spectral_norm, dropout, batch_norm)
    return VECTOR_NETS.get(net).body(info.shape[0], width, spectral_norm, dropout)


def discriminator(info: DataInfo, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                  batch_norm: bool = True, bottleneck: int = 0, num_classes: int | None = None, net: str = "mlp") -> Discriminator:
    """data -> logit (B,). ``num_classes`` makes it a projection discriminator of (x, y)."""
    return Discriminator(body(info, width, spectral_norm, dropout, batch_norm, net), spectral_norm, bottleneck, num_classes)


def joint_discriminator(info: DataInfo, z_dim: int, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.2,
                        bottleneck: int = 0, net: str = "mlp") -> Discriminator:
    """(data, code) -> logit (B,), BiGAN's D(x, z)."""
    _image(info, net)
    return Discriminator(JointBody(info.shape, z_dim, width, spectral_norm, dropout, net), spectral_norm, bottleneck)


def code_discriminator(z_dim: int, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                       batch_norm: bool = True, bottleneck: int = 0, net: str = "mlp") -> Discriminator:
    """code (B, z_dim) -> logit (B,): the adversarial autoencoder's and alpha-GAN's D on codes."""
    return Discriminator(VECTOR_NETS.get(net).body(z_dim, width, spectral_norm, dropout), spectral_norm, bottleneck)


def res_generator(info: DataInfo, code_dim: int, width: float = 1.0, num_classes: int = 0, net: str = "mlp") -> nn.Module:
    """BigBiGAN's generator: residual with class-conditional batch norm for images, a vector layout's G otherwise."""
    if _image(info, net):
        return ResGenerator(code_dim, info.shape, width, num_classes)
    return VECTOR_NETS.get(net).generator(code_dim, info.shape[0], width, True)


def res_encoder(info: DataInfo, out_dim: int, width: float = 1.0, net: str = "mlp") -> nn.Module:
    if _image(info, net):
        return ResEncoder(info.shape, out_dim, width)
    return VECTOR_NETS.get(net).encoder(info.shape[0], out_dim, width, True)


def three_score_discriminator(info: DataInfo, z_dim: int, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                              bottleneck: int = 0, net: str = "mlp") -> ThreeScoreDiscriminator:
    """BigBiGAN's D: unary scores of x and z and a joint score."""
    _image(info, net)
    return ThreeScoreDiscriminator(info.shape, z_dim, width, spectral_norm, dropout, bottleneck, net)


def autoencoder_discriminator(info: DataInfo, code_dim: int, width: float = 1.0, net: str = "mlp") -> AutoencoderDiscriminator:
    return AutoencoderDiscriminator(encoder(info, code_dim, width, net=net), generator(info, code_dim, width, net=net))


def check_batch_for_batch_norm(model: nn.Module, per_process_batch: int, processes: int = 1) -> None:
    """A clear error when batch norm would see one value per channel: with one example per batch, a
    BatchNorm1d over features cannot compute batch statistics in training mode (torch raises deep inside
    the first step). BatchNorm2d still has the pixels of a feature map to average, so it is left alone."""
    if per_process_batch >= 2 or not any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
        return
    where = f" split over {processes} processes" if processes > 1 else ""
    raise GaneError(
        f"--batch-size {per_process_batch * processes}{where} leaves one example per batch, and this model's networks use "
        f"batch norm, which needs at least two. Pass --batch-size {2 * processes} or more (the default is 64)."
    )


__all__ = [
    "AutoencoderDiscriminator", "ConvBody", "check_batch_for_batch_norm", "ConvEncoder", "ConvGenerator", "Discriminator", "JointBody", "MLPBody",
    "CodeMixture", "MLPEncoder", "MLPGenerator", "ResEncoder", "ResGenerator", "Scores", "ThreeScoreDiscriminator", "VariationalBottleneck",
    "autoencoder_discriminator", "body", "code_discriminator", "discriminator", "encoder", "gaussian_parameters", "generator",
    "hidden_units", "joint_discriminator", "mlp", "reparameterize", "res_encoder", "res_generator",
]
