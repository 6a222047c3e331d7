"""CycleGAN (Zhu et al. 2017) for single-channel images: two generators, two PatchGANs.

Domain A is the reference site, domain B the new site; ``G_BA`` (site -> reference) is what gets
exported. Losses follow the paper's Eq. (3) with the LSGAN objective of its Sec. 4:
``L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + lambda L_cyc + 0.5 lambda L_identity``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from training.gan.config import CycleGanConfig, Experimental
from training.gan.networks import (PatchDiscriminator, ResnetGenerator, init_weights, lsgan_loss,
                                  structure_loss)


class CycleGenerators(nn.Module):
    """Both generators; ``forward`` runs everything one generator step needs (one DDP call)."""

    def __init__(self, cfg: CycleGanConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.cfg = cfg
        self.g_ab = ResnetGenerator(cfg.width, cfg.n_blocks, cfg.upsample)
        self.g_ba = ResnetGenerator(cfg.width, cfg.n_blocks, cfg.upsample)
        init_weights(self, generator)

    @property
    def multiple(self) -> int:
        return ResnetGenerator.multiple

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        fake_b = self.g_ab(real_a)
        fake_a = self.g_ba(real_b)
        out = {"fake_a": fake_a, "fake_b": fake_b,
               "rec_a": self.g_ba(fake_b), "rec_b": self.g_ab(fake_a)}
        if self.cfg.lambda_identity > 0:
            out["idt_a"] = self.g_ba(real_a)  # G_BA should leave reference images alone
            out["idt_b"] = self.g_ab(real_b)
        return out

    def translate(self, site: torch.Tensor) -> torch.Tensor:
        """Site (B) -> reference (A), images in [-1, 1]."""
        return self.g_ba(site)


class Discriminators(nn.Module):
    """``D_A`` (real vs fake reference) and ``D_B`` (real vs fake site) in one module."""

    def __init__(self, width: int, n_layers: int, generator: torch.Generator,
                 norm: str = "instance") -> None:
        super().__init__()
        if norm not in ("instance", "none"):
            raise ValueError(f"discriminator norm must be instance or none, got {norm!r}")
        self.d_a = PatchDiscriminator(width, n_layers, norm == "instance")
        self.d_b = PatchDiscriminator(width, n_layers, norm == "instance")
        init_weights(self, generator)

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.d_a(x_a), self.d_b(x_b)


def structure_term(cfg: Experimental, out: dict[str, torch.Tensor], real_a: torch.Tensor,
                   real_b: torch.Tensor) -> torch.Tensor:
    """The experimental structure term of both translations (see :class:`Experimental`)."""
    return (structure_loss(real_b, out["fake_a"], cfg.structure_window)
            + structure_loss(real_a, out["fake_b"], cfg.structure_window))


def generator_loss(cfg: CycleGanConfig, out: dict[str, torch.Tensor], real_a: torch.Tensor,
                   real_b: torch.Tensor, pred_fake_a: torch.Tensor,
                   pred_fake_b: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. (3): adversarial (LSGAN) + lambda * cycle L1 + 0.5 lambda * identity L1, plus the
    experimental structure term when its weight is set."""
    gan = lsgan_loss(pred_fake_a, True) + lsgan_loss(pred_fake_b, True)
    cyc = F.l1_loss(out["rec_a"].float(), real_a) + F.l1_loss(out["rec_b"].float(), real_b)
    loss = gan + cfg.lambda_cycle * cyc
    logs = {"G": float(gan.detach()), "cyc": float(cyc.detach())}
    if "idt_a" in out:
        idt = F.l1_loss(out["idt_a"].float(), real_a) + F.l1_loss(out["idt_b"].float(), real_b)
        loss = loss + cfg.lambda_cycle * cfg.lambda_identity * idt
        logs["idt"] = float(idt.detach())
    if cfg.experimental.lambda_structure > 0:
        st = structure_term(cfg.experimental, out, real_a, real_b)
        loss = loss + cfg.experimental.lambda_structure * st
        logs["st"] = float(st.detach())
    return loss, logs


def build(cfg: CycleGanConfig, generator: torch.Generator | None = None
          ) -> tuple[CycleGenerators, Discriminators]:
    """Generators and discriminators, initial weights drawn from ``generator`` (None: a new one
    seeded with 0; the global torch RNG is never used)."""
    gen = torch.Generator().manual_seed(0) if generator is None else generator
    return CycleGenerators(cfg, gen), Discriminators(cfg.d_width, cfg.d_layers, gen,
                                                     cfg.experimental.d_norm)
