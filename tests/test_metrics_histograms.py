"""Histograms and quantile functions over [0, 1]."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xray_harmonizer.metrics.histograms import histogram, quantile_function


@pytest.fixture(scope="module")
def image(kermany_dir: Path) -> np.ndarray:
    path = sorted(kermany_dir.glob("*.png"))[0]
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / np.float32(255)


def test_normalised_and_equal_to_numpy(image):
    counts, edges = histogram(image)
    assert counts.dtype == np.float64 and counts.shape == (256,)
    assert counts.sum() == pytest.approx(1.0, abs=1e-12)
    assert edges.shape == (257,) and edges[0] == 0.0 and edges[-1] == 1.0
    ref, ref_edges = np.histogram(image, bins=256, range=(0.0, 1.0))
    assert np.array_equal(np.rint(counts * image.size), ref)
    assert np.allclose(edges, ref_edges)


@pytest.mark.parametrize("bins", [1, 2, 64, 4096])
def test_power_of_two_bins_equal_numpy(bins):
    rng = np.random.default_rng(0)
    a = rng.random((97, 131), dtype=np.float32)
    a[0, :3] = (0.0, 1.0, 0.5)
    counts, _ = histogram(a, bins)
    ref, _ = np.histogram(a, bins=bins, range=(0.0, 1.0))
    assert np.array_equal(np.rint(counts * a.size), ref)


def test_other_bin_counts_are_normalised():
    a = np.random.default_rng(1).random((50, 60), dtype=np.float32)
    for bins in (10, 100, 255):
        counts, edges = histogram(a, bins)
        assert counts.shape == (bins,) and edges.shape == (bins + 1,)
        assert counts.sum() == pytest.approx(1.0)
        ref, _ = np.histogram(a, bins=bins, range=(0.0, 1.0))
        # Bin of a value sitting on an edge may differ by rounding only.
        assert np.abs(counts * a.size - ref).sum() <= 4


def test_one_goes_to_the_last_bin_and_zero_to_the_first():
    a = np.array([[0.0, 1.0, 1.0, 0.5]], dtype=np.float32)
    counts, _ = histogram(a, 4)
    assert counts.tolist() == [0.25, 0.0, 0.25, 0.5]


def test_mask_counts_only_selected_pixels(image):
    mask = np.zeros(image.shape, bool)
    mask[50:200, 100:300] = True
    counts, _ = histogram(image, 256, mask)
    ref, _ = np.histogram(image[mask], bins=256, range=(0.0, 1.0))
    assert counts.sum() == pytest.approx(1.0)
    assert np.allclose(counts * mask.sum(), ref)


def test_mask_errors(image):
    with pytest.raises(ValueError, match="no pixels"):
        histogram(image, mask=np.zeros(image.shape, bool))
    with pytest.raises(ValueError, match="shape"):
        histogram(image, mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError):
        histogram(image, mask=np.ones(image.shape, np.uint8))


@pytest.mark.parametrize("bins", [0, -3, 70000, 2.5])
def test_bad_bins(image, bins):
    with pytest.raises(ValueError):
        histogram(image, bins)


def test_bad_images():
    with pytest.raises(TypeError):
        histogram(np.zeros((4, 4), np.float64))
    with pytest.raises(ValueError):
        histogram(np.full((4, 4), 2.0, np.float32))


def test_quantile_function_close_to_numpy(image):
    levels = np.linspace(0, 1, 101)
    q = quantile_function(image, levels)
    assert q.dtype == np.float64 and q.shape == levels.shape
    assert np.all(np.diff(q) >= 0) and q.min() >= 0 and q.max() <= 1
    ref = np.quantile(image, levels[1:-1])
    # Uniform within 1/255-wide steps of 8-bit data vs numpy's order statistics: < 1 grey level.
    assert np.abs(q[1:-1] - ref).max() < 1.0 / 255 + 1e-6


def test_quantile_function_of_uniform_data_is_identity():
    a = ((np.arange(4096 * 8, dtype=np.float32) + 0.5) / np.float32(4096 * 8)).reshape(64, -1)
    levels = np.linspace(0, 1, 11)
    assert np.allclose(quantile_function(a, levels), levels, atol=1e-6)


def test_quantile_function_with_mask_and_bad_levels(image):
    mask = np.zeros(image.shape, bool)
    mask[:10, :10] = True
    q = quantile_function(image, [0.5], mask)
    assert abs(q[0] - np.median(image[mask])) < 2.0 / 255
    with pytest.raises(ValueError):
        quantile_function(image, [-0.1, 0.5])


def test_quantile_function_spreads_mass_within_its_own_bin_only():
    a = np.full((8, 8), 0.75, np.float32)
    a[0, 0] = 0.25  # one bin far below: empty bins in between must become a jump
    levels = np.array([0.0, 0.5 / 64, 0.5, 1.0])
    q = quantile_function(a, levels)
    assert q[0] == 0.25
    assert q[1] == pytest.approx(0.25 + 0.5 / 4096)  # inside the lower bin, not stretched
    assert q[2] == pytest.approx(0.75 + (31 / 63) / 4096)
    assert q[3] == pytest.approx(0.75 + 1 / 4096)


def test_body_histogram_leaves_out_the_background():
    """Catches a body histogram over the whole image (the dark border would hold most of the
    mass) or one that ignores ``bins``: a bright body on a dark frame puts its mass at the
    body's level only."""
    from xray_harmonizer.metrics.histograms import body_histogram

    img = np.full((200, 240), 0.02, np.float32)
    img[40:160, 50:190] = 0.6
    counts, edges = body_histogram(img, bins=64)
    assert counts.shape == (64,) and edges.shape == (65,)
    assert counts.sum() == pytest.approx(1.0)
    assert counts[int(0.6 * 64)] == pytest.approx(1.0)  # all of it in the body's bin
    whole, _ = histogram(img, 64)
    assert whole[int(0.02 * 64)] > 0.4  # the frame the mask left out
