"""Wasserstein-1 and Jensen-Shannon distances, alone and to a reference profile."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from xray_harmonizer.metrics.distances import (
    jensen_shannon,
    jensen_shannon_to_profile,
    wasserstein1,
    wasserstein1_to_profile,
)
from xray_harmonizer.metrics.histograms import histogram, quantile_function

LEVELS = np.linspace(0.0, 1.0, 1001)


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / np.float32(255)


@pytest.fixture(scope="module")
def images(kermany_dir: Path) -> list[np.ndarray]:
    return [_load(p) for p in sorted(kermany_dir.glob("*.png"))[:3]]


def _stand_in_profile(image: np.ndarray, mask: np.ndarray | None = None) -> SimpleNamespace:
    """A minimal object with ReferenceProfile's fields, built from one image."""
    whole_q = quantile_function(image, LEVELS)
    whole_h, _ = histogram(image)
    body_q = quantile_function(image, LEVELS, mask) if mask is not None else whole_q
    body_h = histogram(image, 256, mask)[0] if mask is not None else whole_h
    return SimpleNamespace(levels=LEVELS, image_quantiles=whole_q, body_quantiles=body_q,
                           image_histogram=whole_h, body_histogram=body_h)


def test_w1_identical_is_zero_and_shift_is_the_shift():
    q = np.sort(np.random.default_rng(0).random(101))
    assert wasserstein1(q, q) == 0.0
    assert wasserstein1(q, q + 0.1) == pytest.approx(0.1, abs=1e-12)
    assert wasserstein1(q + 0.1, q) == pytest.approx(0.1, abs=1e-12)


def test_w1_handles_crossing_quantile_functions_exactly():
    # |t - (1 - t)| = |2t - 1| integrates to 1/2; the crossing falls inside an interval.
    levels = np.linspace(0, 1, 4)
    assert wasserstein1(levels, 1 - levels, levels) == pytest.approx(0.5, abs=1e-12)


def test_w1_with_unequal_levels():
    levels = np.array([0.0, 0.1, 0.5, 1.0])
    assert wasserstein1(levels, levels + 0.2, levels) == pytest.approx(0.2)


def test_w1_matches_scipy_on_real_images(images):
    a, b = images[0], images[1]
    ours = wasserstein1(quantile_function(a, LEVELS), quantile_function(b, LEVELS), LEVELS)
    ref = wasserstein_distance(a.ravel(), b.ravel())
    # Histogram-based quantiles (1/4096 resolution) vs exact order statistics of 8-bit data.
    assert ours == pytest.approx(ref, abs=2e-3)


def test_w1_errors():
    with pytest.raises(ValueError):
        wasserstein1(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        wasserstein1(np.zeros(3), np.zeros(3), levels=np.array([0.0, 0.5, 0.5]))
    with pytest.raises(ValueError):
        wasserstein1(np.zeros(1), np.zeros(1))


def test_js_bounds_and_scipy():
    rng = np.random.default_rng(2)
    p, q = rng.random(256), rng.random(256)
    d = jensen_shannon(p, q)
    assert 0 <= d <= 1
    assert d == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    assert d == pytest.approx(jensen_shannon(q, p), abs=1e-15)
    assert jensen_shannon(p, p) == pytest.approx(0.0, abs=1e-7)
    assert jensen_shannon([1, 0, 0], [0, 0, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        jensen_shannon([1, -1], [1, 1])
    with pytest.raises(ValueError):
        jensen_shannon([0, 0], [1, 1])


def test_to_profile_whole_image(images):
    a = images[0]
    profile = _stand_in_profile(a)
    assert wasserstein1_to_profile(a, profile, masked=False) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon_to_profile(a, profile, masked=False) == pytest.approx(0.0, abs=1e-7)
    # A shift that stays inside [0, 1] moves W1 by the shift (up to the histogram resolution).
    dark = np.ascontiguousarray(a * np.float32(0.5))
    brighter = dark + np.float32(0.25)
    ours = wasserstein1_to_profile(brighter, _stand_in_profile(dark), masked=False)
    assert ours == pytest.approx(0.25, abs=2.0 / 4096)
    js = jensen_shannon_to_profile(images[1], profile, masked=False)
    assert 0 < js <= 1


def test_to_profile_masked_uses_the_body_mask(images):
    from xray_harmonizer.imaging.masks import body_mask

    a = images[0]
    profile = _stand_in_profile(a, body_mask(a))
    assert wasserstein1_to_profile(a, profile) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon_to_profile(a, profile) == pytest.approx(0.0, abs=1e-7)
    assert wasserstein1_to_profile(images[1], profile) > 0


def test_against_the_bundled_profile(images):
    from xray_harmonizer.reference.profile import load_profile

    profile = load_profile()
    a = images[0]
    near = wasserstein1_to_profile(a, profile)
    far = wasserstein1_to_profile(np.ascontiguousarray(1 - a), profile)
    assert 0 <= near < far <= 1
    assert 0 <= jensen_shannon_to_profile(a, profile) < jensen_shannon_to_profile(1 - a, profile) <= 1


def test_distances_to_profile_pick_the_side_the_mask_asks_for(images):
    """Catches masked=False still reading the profile's body quantiles or histogram (and the
    reverse): against a profile whose body and whole-image sides are different images, each
    distance is zero only on its own side."""
    a, b = images[0], images[1]
    profile = _stand_in_profile(a)
    other = _stand_in_profile(b)
    mixed = SimpleNamespace(levels=LEVELS, image_quantiles=profile.image_quantiles,
                            image_histogram=profile.image_histogram,
                            body_quantiles=other.body_quantiles,
                            body_histogram=other.body_histogram)
    assert wasserstein1_to_profile(a, mixed, masked=False) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon_to_profile(a, mixed, masked=False) == pytest.approx(0.0, abs=1e-7)
    assert wasserstein1_to_profile(a, mixed, masked=True) > 0.005
    assert jensen_shannon_to_profile(a, mixed, masked=True) > 0.01


def test_small_and_empty_inputs():
    """Catches an off-by-one that refuses two quantile levels (the least W1 needs), and an
    empty second histogram that is not refused."""
    assert wasserstein1(np.array([0.0, 1.0]), np.array([0.5, 1.0]),
                        np.array([0.0, 1.0])) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        jensen_shannon([1, 1], [0, 0])
