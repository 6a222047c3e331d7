"""Typed, frozen training configuration, saved with every checkpoint and in the package manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

ARCHS = ("cyclegan", "unit")
PRESETS = ("quick", "full", "tiny")


@dataclass(frozen=True)
class Experimental:
    """Options that no bundled package uses, kept so that a recorded experiment can be rerun.

    Both were tried on the site_severe pair and not adopted (figures and logs:
    ``training/gan/README.md``, "How the recipe and the transfer were chosen").
    The defaults are the papers' objective and networks.
    """

    # "instance" (the papers) or "none": discriminators without instance norm
    # (``--d-norm none``, logs ``exp-*-severe-dnone.log``).
    d_norm: str = "instance"
    # Weight of a structure term not in the papers (``--lambda-structure``, logs
    # ``exp-*-severe-st*.log``): 1 - local correlation between each translation and its source
    # over ``structure_window`` boxes, i.e. "the output is a local affine map of the input".
    lambda_structure: float = 0.0
    structure_window: int = 9

    def __post_init__(self) -> None:
        if self.d_norm not in ("instance", "none"):
            raise ValueError(f"d_norm must be instance or none, got {self.d_norm!r}")


@dataclass(frozen=True)
class CycleGanConfig:
    """CycleGAN hyper-parameters (Zhu et al. 2017); paper values unless the preset says otherwise."""

    width: int = 64
    n_blocks: int = 9
    upsample: str = "transpose"  # the paper; resize-conv in the quick preset (networks.py)
    d_width: int = 64
    d_layers: int = 3
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle, as in the paper's Monet/photo experiments
    pool_size: int = 50
    experimental: Experimental = field(default_factory=Experimental)

    @property
    def lambda_structure(self) -> float:
        """``experimental.lambda_structure`` (read by ``export.display_name``)."""
        return self.experimental.lambda_structure


@dataclass(frozen=True)
class UnitConfig:
    """UNIT hyper-parameters (Liu et al. 2017, Sec. 3 and appendix): loss weights lambda_0..4."""

    width: int = 64
    n_down: int = 2
    n_res_private: int = 3  # per-domain residual blocks of each encoder/decoder
    n_res_shared: int = 1  # last encoder / first decoder blocks shared by both domains
    upsample: str = "transpose"
    d_width: int = 64
    d_layers: int = 3
    lambda_gan: float = 10.0  # lambda_0
    lambda_kl: float = 0.1  # lambda_1
    lambda_recon: float = 100.0  # lambda_2
    lambda_cycle_kl: float = 0.1  # lambda_3
    lambda_cycle_recon: float = 100.0  # lambda_4
    weight_decay: float = 1e-4
    experimental: Experimental = field(default_factory=Experimental)

    @property
    def lambda_structure(self) -> float:
        """``experimental.lambda_structure`` (read by ``export.display_name``)."""
        return self.experimental.lambda_structure


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``domain A`` is the reference site, ``domain B`` the new site."""

    arch: str
    preset: str
    seed: int = 0
    steps: int = 200_000
    working_size: int = 256  # long side the network sees, aspect kept
    crop_size: int = 256  # square random crops taken at the working size
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_fraction: float = 0.5  # linear decay to 0 over the last half of the steps
    checkpoint_every: int = 100
    preview_every: int = 0
    cyclegan: CycleGanConfig = field(default_factory=CycleGanConfig)
    unit: UnitConfig = field(default_factory=UnitConfig)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.crop_size > self.working_size or self.crop_size % 4:
            raise ValueError("crop_size must be a multiple of 4 and <= working_size")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be >= 1")

    @property
    def hparams(self) -> CycleGanConfig | UnitConfig:
        return self.cyclegan if self.arch == "cyclegan" else self.unit

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # Only the active architecture's hyper-parameters mean anything for this run.
        d.pop("unit" if self.arch == "cyclegan" else "cyclegan")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`. A dict with fields this version does not have (e.g. a
        checkpoint written before the experiment flags were pruned) raises ValueError."""
        d = dict(d)
        try:
            arch = {}
            for key, kind in (("cyclegan", CycleGanConfig), ("unit", UnitConfig)):
                h = dict(d.pop(key, {}))
                h["experimental"] = Experimental(**h.get("experimental", {}))
                arch[key] = kind(**h)
            return cls(**arch, **d)
        except TypeError as exc:
            raise ValueError(f"not a configuration of this version: {exc}") from None


def preset_config(arch: str, preset: str, *, seed: int = 0, steps: int | None = None,
                  preview_every: int = 0, lambda_identity: float | None = None,
                  lambda_structure: float | None = None,
                  upsample: str | None = None, d_norm: str | None = None) -> TrainConfig:
    """The named preset, with the command line's overrides (None keeps the preset's value).

    ``full`` is the papers: width 64, 9 blocks (CycleGAN) / 3+1 blocks (UNIT), 256 crops, 200k
    iterations, transposed-conv upsampling. ``quick`` trains on a 2-core CPU in 11-16 min per
    package: width 16, 4 blocks (UNIT 1+1), whole images at a 128 px long side, resize-conv,
    D width 32 (twice G's), 1500 steps at lr 2e-4. ``tiny`` is for tests only.
    ``lambda_structure`` and ``d_norm`` set the :class:`Experimental` group.
    """
    if preset == "full":
        cfg = TrainConfig(arch=arch, preset=preset, seed=seed, checkpoint_every=1000,
                          lr=2e-4 if arch == "cyclegan" else 1e-4)
    elif preset == "quick":
        cfg = TrainConfig(
            # Whole images (crop = working size; the short side is padded bottom/right as at
            # inference): D judges the global look. 96 px crops at 256 left G_BA near the
            # identity (training/gan/README.md).
            arch=arch, preset=preset, seed=seed, steps=1500, working_size=128, crop_size=128,
            checkpoint_every=50, lr=2e-4,  # UNIT too: the short schedule needs the larger step
            # D twice as wide as G (32 vs 16): with the paper's tanh head this replaced an
            # affine head with a 16-wide D, site_severe val AUC 0.593 -> 0.836 (README).
            cyclegan=CycleGanConfig(width=16, n_blocks=4, upsample="resize", d_width=32,
                                    d_layers=3),
            unit=UnitConfig(width=16, n_res_private=1, n_res_shared=1, upsample="resize",
                            d_width=32, d_layers=3))
    elif preset == "tiny":
        cfg = TrainConfig(
            arch=arch, preset=preset, seed=seed, steps=4, working_size=64, crop_size=32,
            checkpoint_every=2,
            cyclegan=CycleGanConfig(width=4, n_blocks=1, upsample="resize", d_width=4,
                                    d_layers=2, pool_size=4),
            unit=UnitConfig(width=4, n_res_private=1, n_res_shared=1, upsample="resize",
                            d_width=4, d_layers=2))
    else:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    if upsample is not None and upsample not in ("resize", "transpose"):
        raise ValueError(f"upsample must be resize or transpose, got {upsample!r}")
    exp = {k: v for k, v in (("lambda_structure", lambda_structure), ("d_norm", d_norm))
           if v is not None}
    arch_changes: dict[str, Any] = {} if upsample is None else {"upsample": upsample}
    cycle = dict(arch_changes, **({} if lambda_identity is None
                                  else {"lambda_identity": lambda_identity}))
    changes: dict[str, Any] = {
        "preview_every": preview_every,
        "cyclegan": replace(cfg.cyclegan, experimental=replace(cfg.cyclegan.experimental, **exp),
                            **cycle),
        "unit": replace(cfg.unit, experimental=replace(cfg.unit.experimental, **exp),
                        **arch_changes)}
    if steps is not None:
        changes["steps"] = steps
    return replace(cfg, **changes)
