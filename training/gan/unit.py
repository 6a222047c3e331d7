"""UNIT (Liu et al. 2017): two VAE-GANs whose latent spaces are tied by weight sharing.

``E_A, E_B`` end in shared residual blocks and ``G_A, G_B`` start with shared ones, so both
domains encode to one latent code z. As in the paper, the encoder outputs the mean and the
posterior has unit variance: ``z = E(x) + eta, eta ~ N(0, I)``, so the KL term is
``0.5 * ||E(x)||^2`` (we use the mean over elements). Objective (paper Eq. 1-5), A = reference,
B = new site::

    L = lambda_1 KL(E_A(a)) + lambda_2 |G_A(z_a) - a|_1  + (same for B)      VAE
      + lambda_0 LSGAN(G_A(z_b)) + lambda_0 LSGAN(G_B(z_a))                  GAN
      + lambda_3 KL(E_B(G_B(z_a))) + lambda_4 |G_A(E_B(G_B(z_a))) - a|_1     cycle (+ B side)

with the paper's lambda_0..4 = 10, 0.1, 100, 0.1, 100. We use the least-squares GAN objective of
the authors' released code rather than the paper's cross-entropy (it trains more stably).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from training.gan.config import UnitConfig
from training.gan.cyclegan import Discriminators, structure_term
from training.gan.networks import (ResidualBlock, conv_norm_act, init_weights, lsgan_loss,
                                  upsample_block)


class UnitGenerators(nn.Module):
    """Private encoders/decoders per domain and the shared blocks between them.

    ``generator`` draws the initial weights and, afterwards, the latent noise ``eta`` of
    :meth:`forward`: a training run depends on its seed only, never on the global torch RNG
    (which anything else in the process may consume). Its state is saved with the checkpoint.
    """

    def __init__(self, cfg: UnitConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator = generator
        c = cfg.width * 2 ** cfg.n_down
        self.enc_a, self.enc_b = self._encoder(cfg), self._encoder(cfg)
        self.enc_shared = nn.Sequential(*[ResidualBlock(c) for _ in range(cfg.n_res_shared)])
        self.dec_shared = nn.Sequential(*[ResidualBlock(c) for _ in range(cfg.n_res_shared)])
        self.dec_a, self.dec_b = self._decoder(cfg), self._decoder(cfg)
        init_weights(self, generator)

    @staticmethod
    def _encoder(cfg: UnitConfig) -> nn.Sequential:
        layers: list[nn.Module] = [conv_norm_act(1, cfg.width, 7)]
        c = cfg.width
        for _ in range(cfg.n_down):
            layers.append(conv_norm_act(c, 2 * c, 3, stride=2))
            c *= 2
        layers += [ResidualBlock(c) for _ in range(cfg.n_res_private)]
        return nn.Sequential(*layers)

    @staticmethod
    def _decoder(cfg: UnitConfig) -> nn.Sequential:
        c = cfg.width * 2 ** cfg.n_down
        layers: list[nn.Module] = [ResidualBlock(c) for _ in range(cfg.n_res_private)]
        for _ in range(cfg.n_down):
            layers.append(upsample_block(c, c // 2, cfg.upsample))
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, 1, 7), nn.Tanh()]
        return nn.Sequential(*layers)

    @property
    def multiple(self) -> int:
        return 2 ** self.cfg.n_down

    def encode(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """The posterior mean E(x)."""
        return self.enc_shared((self.enc_a if domain == "a" else self.enc_b)(x))

    def decode(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        return (self.dec_a if domain == "a" else self.dec_b)(self.dec_shared(z))

    def _sample(self, h: torch.Tensor) -> torch.Tensor:
        """``h + eta``, eta ~ N(0, I) from :attr:`generator` (drawn on its device, then moved)."""
        eta = torch.randn(h.shape, generator=self.generator, device=self.generator.device)
        return h + eta.to(device=h.device, dtype=h.dtype)

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        h_a, h_b = self.encode(real_a, "a"), self.encode(real_b, "b")
        z_a, z_b = self._sample(h_a), self._sample(h_b)
        fake_a, fake_b = self.decode(z_b, "a"), self.decode(z_a, "b")
        h_ab, h_ba = self.encode(fake_b, "b"), self.encode(fake_a, "a")
        return {
            "h_a": h_a, "h_b": h_b, "rec_a": self.decode(z_a, "a"), "rec_b": self.decode(z_b, "b"),
            "fake_a": fake_a, "fake_b": fake_b, "h_ab": h_ab, "h_ba": h_ba,
            "cyc_a": self.decode(self._sample(h_ab), "a"),
            "cyc_b": self.decode(self._sample(h_ba), "b"),
        }

    def translate(self, site: torch.Tensor) -> torch.Tensor:
        """Site (B) -> reference (A) through the posterior mean (deterministic), in [-1, 1]."""
        return self.decode(self.encode(site, "b"), "a")


def _kl(h: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.mean(h.float() ** 2)


def generator_loss(cfg: UnitConfig, out: dict[str, torch.Tensor], real_a: torch.Tensor,
                   real_b: torch.Tensor, pred_fake_a: torch.Tensor,
                   pred_fake_b: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The UNIT objective above, generator/encoder side."""
    gan = lsgan_loss(pred_fake_a, True) + lsgan_loss(pred_fake_b, True)
    kl = _kl(out["h_a"]) + _kl(out["h_b"])
    rec = F.l1_loss(out["rec_a"].float(), real_a) + F.l1_loss(out["rec_b"].float(), real_b)
    cyc_kl = _kl(out["h_ab"]) + _kl(out["h_ba"])
    cyc = F.l1_loss(out["cyc_a"].float(), real_a) + F.l1_loss(out["cyc_b"].float(), real_b)
    loss = (cfg.lambda_gan * gan + cfg.lambda_kl * kl + cfg.lambda_recon * rec
            + cfg.lambda_cycle_kl * cyc_kl + cfg.lambda_cycle_recon * cyc)
    logs = {"G": float(gan.detach()), "kl": float(kl.detach()), "rec": float(rec.detach()),
            "cyc": float(cyc.detach())}
    if cfg.experimental.lambda_structure > 0:  # not in the paper: see config.Experimental
        st = structure_term(cfg.experimental, out, real_a, real_b)
        loss = loss + cfg.experimental.lambda_structure * st
        logs["st"] = float(st.detach())
    return loss, logs


def build(cfg: UnitConfig, generator: torch.Generator | None = None
          ) -> tuple[UnitGenerators, Discriminators]:
    """Generators and discriminators, initial weights drawn from ``generator`` (None: a new one
    seeded with 0); the generators keep drawing their latent noise from it."""
    gen = torch.Generator().manual_seed(0) if generator is None else generator
    return UnitGenerators(cfg, gen), Discriminators(cfg.d_width, cfg.d_layers, gen,
                                                    cfg.experimental.d_norm)
