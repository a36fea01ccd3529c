"""The adversarial game every family with a discriminator plays, with its stabilisers.

:class:`Adversary` turns the options of :class:`~gane.families.base.AdversarialConfig`
(``--loss``, ``--r1``, ``--feature-matching``, ``--vdb``, the gradient penalty of
``wgan-gp``) into D's and the other players' losses, for any discriminator that
answers ``scores(*inputs, y=None)`` (see :mod:`gane.nets.critic`). Families pass
their inputs as tuples: ``(x,)`` for an image D, ``(x, z)`` for a joint D.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .. import losses, nets
from ..data import DataInfo
from ..losses import ADVERSARIAL_LOSSES


def needs_input_gradients(config) -> bool:
    """Whether D's loss differentiates D with respect to its inputs (gradient penalty or R1).
    Batch norm mixes the examples of a batch, which makes those per-example gradients wrong,
    so discriminators are built without it then."""
    return ADVERSARIAL_LOSSES.get(config.loss).penalty == "gradient" or config.r1 > 0


class Adversary(nn.Module):
    """D's loss and the other players' losses for one configuration.

    Holds no parameters; its one buffer is the VDB's Lagrange multiplier beta,
    updated by dual ascent each time D's loss is computed, and saved with the model.
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.loss = ADVERSARIAL_LOSSES.get(config.loss)
        self.register_buffer("vdb_beta", torch.zeros(()))

    @property
    def bottleneck(self) -> int:
        """The size of the VDB code to build into D (0 = none)."""
        return self.config.vdb_size if getattr(self.config, "vdb", 0) > 0 else 0

    def discriminator(self, info: DataInfo, num_classes: int | None = None) -> nets.Discriminator:
        """D(x) on the data, as this configuration wants it: --width, --spectral-norm, --dropout, no batch
        norm when D's loss takes gradients with respect to its inputs, the VDB when --vdb is on.
        ``num_classes`` makes it a projection discriminator of (x, y)."""
        c = self.config
        return nets.discriminator(info, c.width, c.spectral_norm, c.dropout, batch_norm=not needs_input_gradients(c),
                                  bottleneck=self.bottleneck, num_classes=num_classes, net=c.vector_net)

    def code_discriminator(self, z_dim: int) -> nets.Discriminator:
        """D(z) on codes (B, z_dim), built from the same options as :meth:`discriminator`."""
        c = self.config
        return nets.code_discriminator(z_dim, c.width, c.spectral_norm, c.dropout, not needs_input_gradients(c), self.bottleneck,
                                       net=c.vector_net)

    @staticmethod
    def _columns(logits: torch.Tensor):
        return [logits] if logits.ndim == 1 else list(logits.unbind(1))  # several scores: one loss each

    def d_loss(self, D, real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor], y_real=None, y_fake=None):
        """D's loss on real and fake inputs (tuples), with the configured penalties. Returns (loss, logs)."""
        loss, logs, _, _ = self.d_loss_and_scores(D, real, fake, y_real, y_fake)
        return loss, logs

    def d_loss_and_scores(self, D, real, fake, y_real=None, y_fake=None):
        """As :meth:`d_loss`, also returning D's Scores of the real and fake batches (for auxiliary heads)."""
        c = self.config
        r, f = D.scores(*real, y=y_real), D.scores(*fake, y=y_fake)
        loss = sum(self.loss.d(a, b) for a, b in zip(self._columns(r.logits), self._columns(f.logits)))
        logs = {"score(real)": r.logits.mean().detach(), "score(fake)": f.logits.mean().detach()}
        if self.loss.penalty == "gradient":
            gp = losses.gradient_penalty(self._critic(D, y_real), real, fake)
            loss = loss + c.gp_weight * gp
            logs["gp"] = gp.detach()
        if c.r1 > 0:
            r1 = losses.r1_penalty(self._critic(D, y_real), real)
            loss = loss + 0.5 * c.r1 * r1
            logs["r1"] = r1.detach()
        if getattr(c, "vdb", 0) > 0:  # configs without the option (translators) have no bottleneck
            kl = 0.5 * (r.kl + f.kl)
            loss = loss + self.vdb_beta.clone() * (kl - c.vdb)  # the value before this step's update
            with torch.no_grad():  # dual ascent on beta >= 0
                self.vdb_beta.add_(c.vdb_step * (kl.detach() - c.vdb)).clamp_(min=0.0)
            logs["vdb_kl"], logs["vdb_beta"] = kl.detach(), self.vdb_beta.clone()
        return loss, logs, r, f

    @staticmethod
    def _critic(D, y=None):
        """D as a function of its inputs only, summing several scores, for the gradient penalties.
        Interpolated points keep the real labels: the penalty asks for a smooth D, not a label-specific one."""
        def critic(*inputs):
            logits = D.scores(*inputs, y=y).logits
            return logits if logits.ndim == 1 else logits.sum(1)
        return critic

    def g_loss(self, D, fake: Sequence[torch.Tensor], y_fake=None, real: Sequence[torch.Tensor] | None = None, y_real=None):
        """The loss of the player whose inputs ``fake`` should be called real. With ``real`` given
        and --feature-matching on, adds the feature-matching term. Returns (loss, logs)."""
        loss, logs, _ = self.g_loss_and_scores(D, fake, y_fake, real, y_real)
        return loss, logs

    def g_loss_and_scores(self, D, fake, y_fake=None, real=None, y_real=None):
        """As :meth:`g_loss`, also returning D's Scores of the fake batch."""
        f = D.scores(*fake, y=y_fake)
        loss = sum(self.loss.g(a) for a in self._columns(f.logits))
        logs = {}
        if getattr(self.config, "feature_matching", 0) > 0 and real is not None:
            with torch.no_grad():
                real_features = D.scores(*real, y=y_real).features
            fm = losses.feature_matching(real_features, f.features)
            loss = loss + self.config.feature_matching * fm
            logs["feature_matching"] = fm.detach()
        return loss, logs, f

    def g_flipped_loss(self, D, real: Sequence[torch.Tensor], y_real=None) -> torch.Tensor:
        """The loss of the player whose inputs D calls real and who wants them called fake (BiGAN's encoder)."""
        r = D.scores(*real, y=y_real)
        return sum(self.loss.g_flipped(a) for a in self._columns(r.logits))
