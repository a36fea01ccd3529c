"""The inversion methods, registered by name; each takes (model, x, options, **context) -> Inversion."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import GaneError
from .core import CodeVariable, Inversion, descend, prior_square, register_inverter, start_codes


def _encoded(model, x, encode, classes, categorical: str) -> torch.Tensor:
    """E(x) (``encode``, or the family's own E when None), with the class part set to ``classes``
    when they are given and kept fixed."""
    if encode is None and not model.has_encoder:
        from .encoders import no_encoder_message

        raise GaneError(no_encoder_message(model.name, "the encoder or hybrid method"))
    with torch.no_grad():
        code = (encode or model.encode)(x).flatten(1)  # a code grid (vqgan) is handed over flattened
    if code.shape[1] != model.code_dim:
        raise GaneError(f"The encoder gives codes of size {code.shape[1]}, but the generator takes {model.code_dim}.")
    if classes is not None and categorical == "fixed" and "class" in model.code_slices():
        code = model.set_code_part(code, "class", classes.to(code.device))
    return code


@register_inverter("encoder")
def encoder(model, x, o, *, distance, encode, classes=None, init=None, bar=None, lifted=None, draws=None, watch=None) -> Inversion:
    code = _encoded(model, lifted if lifted is not None else x, encode, classes, o.categorical)
    with torch.no_grad():
        images = model.decode(code)
    return Inversion("encoder", images, code, 0.0)


def _optimize(model, x, o, start, distance, bar, name, watch=None) -> Inversion:
    code = CodeVariable(model, start, o.categorical)

    def render():
        c = code()
        return model.decode(c), prior_square(model, c)

    curve = descend(model, x, list(code.parameters()), render, distance, o, bar, watch)
    with torch.no_grad():
        c = code()
        return Inversion(name, model.decode(c), c, 0.0, curve)


@register_inverter("optimize")
def optimize(model, x, o, *, distance, encode, classes=None, init=None, bar=None, lifted=None, draws=None, watch=None) -> Inversion:
    start = init if init is not None else start_codes(model, x, draws[: o.candidates], o.categorical, classes, distance.observe)
    return _optimize(model, x, o, start, distance, bar, "optimize", watch)


@register_inverter("hybrid")
def hybrid(model, x, o, *, distance, encode, classes=None, init=None, bar=None, lifted=None, draws=None, watch=None) -> Inversion:
    start = _encoded(model, lifted if lifted is not None else x, encode, classes, o.categorical)
    return _optimize(model, x, o, start, distance, bar, "hybrid", watch)


def multicode_layer(model, layer: int | None) -> int:
    """The layer multicode mixes at: ``layer``, or G's middle stage; a clear error outside 1..L-1."""
    top = model.generator_layers
    if layer is None:
        return max(1, top // 2)
    if not 1 <= layer <= top - 1:
        raise GaneError(f"multicode mixes the codes at a hidden layer of G: 1 to {top - 1} for this generator "
                        f"(0 is the code itself, {top} the output); got --layer {layer}.")
    return layer


@register_inverter("multicode")
def multicode(model, x, o, *, distance, encode, classes=None, init=None, bar=None, lifted=None, draws=None, watch=None) -> Inversion:
    """mGANprior: h = sum_n alpha_n * G_1..l(z_n) channel by channel, output G_l+1..L(h)."""
    n, k = len(x), o.codes
    layer = multicode_layer(model, o.layer)
    start = draws[:k].flatten(0, 1).clone()  # distinct starting codes (else they all follow one gradient)
    if classes is not None and o.categorical == "fixed" and "class" in model.code_slices():
        start = model.set_code_part(start, "class", classes.to(x.device).repeat(k))
    codes = CodeVariable(model, start, o.categorical)  # (k * n) codes: code j of target i is row j * n + i
    with torch.no_grad():
        channels = model.decode_features(start[:1], layer).shape[1]
    # The importance of each channel of each code, kept positive through a softplus and starting at 1/N, so
    # that the mix stays a positive combination of activations G has seen: with unconstrained weights
    # some targets' mixes swing negative early in the descent and saturate G's output to one flat colour,
    # where the gradient vanishes and the image never returns (docs/inversion.md).
    raw = torch.nn.Parameter(torch.full((k, n, channels), math.log(math.expm1(1.0 / k)), device=x.device))

    def importance() -> torch.Tensor:
        return F.softplus(raw)

    def mix(c):
        h = model.decode_features(c, layer)  # (k * n, C, ...) activations at layer l
        h = h.view(k, n, *h.shape[1:])
        w = importance().view(k, n, channels, *([1] * (h.dim() - 3)))
        return (w * h).sum(0)  # (n, C, ...)

    def render():  # the prior term of a target is the mean over its k codes
        c = codes()
        return model.decode_from(mix(c), layer, c[:n]), prior_square(model, c).view(k, n).mean(0)

    curve = descend(model, x, [*codes.parameters(), raw], render, distance, o, bar, watch)
    with torch.no_grad():
        c = codes()
        images = model.decode_from(mix(c), layer, c[:n])
        per_target = c.view(k, n, -1).transpose(0, 1)  # (n, k, code_dim)
        return Inversion("multicode", images, None, 0.0, curve,
                         {"codes": per_target.detach(), "weights": importance().detach().transpose(0, 1), "layer": torch.full((n,), layer, device=per_target.device)})

