"""Peak signal-to-noise ratio between two images in [0, 1]."""

from __future__ import annotations

import math

import numpy as np

from xray_harmonizer.imaging.validation import check_image

__all__ = ["psnr"]


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """PSNR in dB, as ``skimage.metrics.peak_signal_noise_ratio(a, b, data_range=...)``.

    Parameters
    ----------
    a, b : np.ndarray
        float32, shape (H, W), values in [0, 1]; ``a`` is the reference (truth).
    data_range : float
        Peak-to-peak range of the signal (1.0 for our images).

    Returns
    -------
    float
        ``10 log10(data_range**2 / MSE)``; ``inf`` for identical images.

    Raises
    ------
    TypeError, ValueError
        On a non-float32 or non-2-D input, values outside [0, 1], or differing shapes.
    """
    check_image(a, "a")
    check_image(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    # float64 difference: the MSE of nearly equal images is tiny and float32 would lose it.
    diff = a.astype(np.float64) - b
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)
