"""(shifted, truth) pairs: the thin wrapper that turns reference images into a simulated site."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .profile import SiteProfile
from .simulate import SiteDraws, apply_site_with_draws, seed_for


@dataclass(frozen=True)
class SitePair:
    """One simulated image and its pixel-aligned truth (float32 HxW in [0, 1], same shape)."""

    name: str
    shifted: np.ndarray
    truth: np.ndarray
    draws: SiteDraws


def site_pairs(named_images: Iterator[tuple[str, np.ndarray]] | list[tuple[str, np.ndarray]],
               profile: SiteProfile, seed: int = 0) -> Iterator[SitePair]:
    """Yield a :class:`SitePair` per (name, image); each image's seed depends on (seed, name) only,
    so a subset or another order gives the same pixels."""
    for name, image in named_images:
        shifted, draws = apply_site_with_draws(image, profile, seed_for(name, seed))
        yield SitePair(name, shifted, image, draws)


def site_pairs_from_files(files: list[Path], profile: SiteProfile, seed: int = 0) -> Iterator[SitePair]:
    """:func:`site_pairs` over image files (read with the app's loader, PIL fallback)."""
    from .__main__ import read_image

    return site_pairs(((Path(f).name, read_image(Path(f))) for f in files), profile, seed)
