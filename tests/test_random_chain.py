"""Randomized imaging chains (training.sitesim.random_chain) and the effects they added."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.sitesim import apply_site, apply_site_with_draws, available_profiles, load_site_profile
from training.sitesim.profile import SiteProfile, profile_from_dict
from training.sitesim.random_chain import (EVAL_DIR, EVAL_SEEDS, RANGES, distance, eval_chain,
                                           inside_ranges, random_chain, training_rng)


def _phantom(h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = 0.2 + 0.5 * np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (h / 4) ** 2))
    return np.clip(img + 0.1 * (np.sin(xx / 3.0) > 0), 0, 1).astype(np.float32)


@pytest.mark.parametrize("name", ["site_mild", "site_moderate", "site_severe", "site_mono1_dr"])
def test_shipped_profiles_inside_ranges(name):
    """Catches ranges narrowed so that a shipped evaluation site falls outside the training
    distribution (it would then test extrapolation, not what the issue asks)."""
    assert inside_ranges(load_site_profile(name)) == []


def test_draws_respect_ranges_and_are_deterministic():
    """Catches a sampler that leaves its documented ranges, or depends on anything but its seed."""
    a = [random_chain(training_rng(5)) for _ in range(1)] + [random_chain(training_rng(5))]
    assert a[0] == a[1]
    rng = training_rng(0)
    chains = [random_chain(rng) for _ in range(200)]
    assert all(inside_ranges(c) == [] for c in chains)
    assert len({c.to_dict()["exposure"] for c in chains}) == 200
    # the draws use the ranges, not a corner of them
    for n, (lo, hi, _) in RANGES.items():
        vals = np.array([getattr(c, n) for c in chains])
        assert vals.max() - vals.min() > 0.3 * (hi - lo), n
    shipped = [load_site_profile(n) for n in available_profiles()]
    assert min(distance(c, s) for c in chains for s in shipped) > 0.02
    assert {c.tone_curve for c in chains} == {"log", "gamma", "sigmoid"}


def test_eval_chains_are_not_training_draws():
    """Catches evaluation chains that a training stream reproduces (they must be unseen sites),
    and written files that drift from the sampler."""
    train = [random_chain(training_rng(s)) for s in range(4)]
    for seed in EVAL_SEEDS:
        ev = eval_chain(seed)
        assert all(distance(ev, t) > 0 for t in train)
        written = json.loads((EVAL_DIR / f"random_eval_{seed}.json").read_text(encoding="utf-8"))
        assert profile_from_dict(written) == ev


@pytest.mark.parametrize("name", ["site_mild", "site_moderate", "site_severe", "site_mono1_dr"])
def test_shipped_profiles_draw_as_before(name):
    """Catches the new effects (heel, grid, correlated noise, text) drawing from the generator
    when off: the shipped profiles' pixels, and every committed protocol figure, would move.
    Before they existed a chain drew one normal, four uniforms and one noise field, nothing else
    (pixels were checked identical to the previous commit's simulator when they were added)."""
    img = _phantom()
    rng = np.random.default_rng(3)
    apply_site(img, load_site_profile(name), rng)
    expected = np.random.default_rng(3)
    expected.normal(0.0, 1.0)
    expected.uniform(0, 1, size=4)
    expected.standard_normal(img.shape)
    assert rng.bit_generator.state == expected.bit_generator.state


def test_new_effects_do_what_they_say():
    """Catches a heel ramp, grid or text that has no effect or hits the wrong place."""
    img = np.full((128, 128), 0.5, np.float32)
    heel = apply_site(img, SiteProfile(heel=0.3, bits=16), 0)
    assert abs(float(heel[:, 0].mean() - heel[:, -1].mean())) > 0.02 or \
        abs(float(heel[0].mean() - heel[-1].mean())) > 0.02
    grid = apply_site(img, SiteProfile(grid_amplitude=0.05, grid_period=16.0, bits=16), 0)
    assert grid.std(axis=1).mean() > 5 * grid.std(axis=0).mean()  # vertical lines vary along rows
    out, draws = apply_site_with_draws(img, SiteProfile(text_labels=2, bits=16), 0)
    assert draws.text_mask is not None and 0 < draws.text_mask.mean() < 0.2
    assert np.all(out[draws.text_mask] == 1.0)
    noisy = SiteProfile(quantum_noise=1e-3, electronic_noise=1e-3, bits=16)
    white = apply_site(img, noisy, 0)
    corr = apply_site(img, SiteProfile(**{**noisy.to_dict(), "collimation": (0, 0), "noise_correlation": 4.0}), 0)  # 1 px at 128
    lag = lambda a: np.corrcoef(a[:, :-1].ravel(), a[:, 1:].ravel())[0, 1]  # noqa: E731
    assert lag(corr) > lag(white) + 0.3
    assert 0.5 < corr.std() / white.std() < 1.5  # correlation keeps the noise level
