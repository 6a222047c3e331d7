"""PSNR equals scikit-image's peak_signal_noise_ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from xray_harmonizer.metrics.psnr import psnr


def test_known_value():
    a = np.full((16, 16), 0.25, np.float32)
    b = np.full((16, 16), 0.35, np.float32)  # MSE 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0, abs=1e-4)


def test_matches_skimage():
    rng = np.random.default_rng(0)
    a = rng.random((64, 80), dtype=np.float32)
    b = np.clip(a + np.float32(0.05) * rng.standard_normal(a.shape, dtype=np.float32), 0, 1)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0), rel=1e-6)


def test_data_range_is_squared():
    """Catches a peak that is not squared (invisible with the default data_range 1)."""
    a = np.full((16, 16), 0.25, np.float32)
    b = np.full((16, 16), 0.35, np.float32)  # MSE 0.01; peak 2 -> 10 log10(4 / 0.01) = 26.02 dB
    assert psnr(a, b, data_range=2.0) == pytest.approx(10 * math.log10(400), abs=1e-4)
    assert psnr(a, b, data_range=2.0) == pytest.approx(
        peak_signal_noise_ratio(a, b, data_range=2.0), rel=1e-6)


def test_identical_is_infinite():
    a = np.zeros((8, 8), np.float32)
    assert psnr(a, a) == math.inf


def test_errors():
    """Catches messages that do not say which image is bad ("b must be float32", not
    "image must be ...")."""
    a = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match=r"differ in shape: \(8, 8\) vs \(8, 9\)"):
        psnr(a, np.zeros((8, 9), np.float32))
    with pytest.raises(TypeError, match="^b must be float32"):
        psnr(a, a.astype(np.float64))
    with pytest.raises(TypeError, match="^a must be float32"):
        psnr(a.astype(np.float64), a)
    with pytest.raises(ValueError, match="data_range must be positive, got 0"):
        psnr(a, a, data_range=0)
