"""Entry checks shared by every pure image function."""

from __future__ import annotations

import numpy as np


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check that ``image`` is a float32 2-D array in [0, 1] and return it unchanged.

    Raises
    ------
    TypeError
        If it is not a 2-D float32 numpy array.
    ValueError
        If it is empty, holds NaN/inf, or leaves [0, 1] by more than float rounding.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 2:
        raise TypeError(f"{name} must be 2-D (H, W), got shape {image.shape}")
    if image.dtype != np.float32:
        raise TypeError(f"{name} must be float32, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"{name} is empty")
    lo, hi = float(image.min()), float(image.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name} holds NaN or inf")
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"{name} must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")
    return image
