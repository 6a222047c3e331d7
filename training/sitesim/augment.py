"""Random site profiles for training-time intensity augmentation (the paper's second idea).

The ranges cover the bundled mild..severe profiles' kind of shift so that a classifier trained
with them sees many imaging chains; they are deliberately wide but keep the anatomy readable.
"""

from __future__ import annotations

import numpy as np

from .profile import SiteProfile


def random_profile(rng: np.random.Generator) -> SiteProfile:
    """Draw a random but plausible imaging chain (no collimation; bit depth 10-12)."""
    curve = str(rng.choice(["log", "gamma", "sigmoid"]))
    return SiteProfile(
        name="random",
        exposure=float(np.exp(rng.uniform(-0.5, 0.5))),
        attenuation_range=float(rng.uniform(2.0, 4.0)),
        blur_sigma=float(rng.uniform(0.0, 1.2)),
        quantum_noise=float(10 ** rng.uniform(-5, -3)),
        electronic_noise=float(10 ** rng.uniform(-4, -2.5)),
        tone_curve=curve,
        gamma=float(np.exp(rng.uniform(-0.6, 0.6))),
        sigmoid_slope=float(rng.uniform(3.0, 9.0)),
        sigmoid_center=float(rng.uniform(0.35, 0.65)),
        drc_strength=float(rng.uniform(0.0, 0.6)),
        mce_gain=float(rng.uniform(0.0, 1.5)),
        mce_power=float(rng.uniform(0.6, 1.0)),
        usm_amount=float(rng.uniform(0.0, 1.0)),
        contrast=float(rng.uniform(0.7, 1.4)),
        brightness=float(rng.uniform(-0.12, 0.12)),
        bits=int(rng.integers(10, 13)),
    )
