"""Distances between an image's intensity distribution and a reference-site profile.

* Wasserstein-1 (earth mover's distance) in intensity units of [0, 1]: the mean absolute shift
  between the two quantile functions, ``W1 = integral_0^1 |Qa(t) - Qb(t)| dt``.
* Jensen-Shannon **distance** (the square root of the JS divergence, base-2 logarithms, so in
  [0, 1]), as ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` returns it.

The profile is any object with the fields of
:class:`xray_harmonizer.reference.profile.ReferenceProfile`: ``levels``, ``body_quantiles``,
``image_quantiles`` (float64, same length) and ``body_histogram``, ``image_histogram``
(probability vectors over [0, 1]). ``masked=True`` compares the body region
(:func:`xray_harmonizer.imaging.masks.body_mask`) with the profile's ``body_*`` fields,
``masked=False`` the whole image with its ``image_*`` fields.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xray_harmonizer.metrics.histograms import histogram, quantile_function

__all__ = [
    "jensen_shannon",
    "jensen_shannon_to_profile",
    "wasserstein1",
    "wasserstein1_to_profile",
]


def wasserstein1(
    q_a: np.ndarray, q_b: np.ndarray, levels: np.ndarray | None = None
) -> float:
    """Wasserstein-1 distance between two distributions given by quantile functions.

    The quantile functions are taken as linear between the levels, and the integral of their
    absolute difference is exact for that (a sign change inside an interval is handled).

    Parameters
    ----------
    q_a, q_b : np.ndarray
        Quantiles at the same levels, shape (n,), n >= 2, non-decreasing.
    levels : np.ndarray, optional
        Increasing probabilities, shape (n,); default ``np.linspace(0, 1, n)``. When they do
        not span [0, 1], the result covers only ``[levels[0], levels[-1]]``.

    Returns
    -------
    float
        >= 0, in the units of the quantiles (intensity, for images in [0, 1]).
    """
    q_a = np.asarray(q_a, dtype=np.float64)
    q_b = np.asarray(q_b, dtype=np.float64)
    if q_a.ndim != 1 or q_a.shape != q_b.shape or q_a.size < 2:
        raise ValueError(f"quantile arrays must be 1-D, equal length >= 2: {q_a.shape}, {q_b.shape}")
    if levels is None:
        levels = np.linspace(0.0, 1.0, q_a.size)
    levels = np.asarray(levels, dtype=np.float64)
    if levels.shape != q_a.shape:
        raise ValueError(f"levels shape {levels.shape} differs from quantiles {q_a.shape}")
    dt = np.diff(levels)
    if np.any(dt <= 0):
        raise ValueError("levels must be strictly increasing")
    diff = q_a - q_b
    d0, d1 = diff[:-1], diff[1:]
    a0, a1 = np.abs(d0), np.abs(d1)
    trapezoid = 0.5 * (a0 + a1)
    # Where the difference changes sign, |linear| integrates to (d0^2 + d1^2) / (2 (|d0|+|d1|)).
    crossing = (d0 * d1) < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        crossed = (d0 * d0 + d1 * d1) / (2.0 * (a0 + a1))
    return float(np.sum(np.where(crossing, crossed, trapezoid) * dt))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (sqrt of the divergence, base 2) between two histograms.

    Parameters
    ----------
    p, q : np.ndarray
        Non-negative weights, shape (n,); each is normalised to sum 1.

    Returns
    -------
    float
        In [0, 1]: 0 for identical distributions, 1 for disjoint supports.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.ndim != 1 or p.shape != q.shape:
        raise ValueError(f"histograms must be 1-D of equal length: {p.shape}, {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("histograms must be non-negative with a positive sum")
    p = p / p.sum()
    q = q / q.sum()
    m = 0.5 * (p + q)
    divergence = 0.5 * (_kl_bits(p, m) + _kl_bits(q, m))
    # Rounding can push the divergence a hair outside [0, 1].
    return float(np.sqrt(min(max(divergence, 0.0), 1.0)))


def wasserstein1_to_profile(image: np.ndarray, profile: Any, masked: bool = True) -> float:
    """Wasserstein-1 distance from an image's intensities to a reference profile.

    Parameters
    ----------
    image : np.ndarray
        float32, shape (H, W), values in [0, 1].
    profile : ReferenceProfile
        Reference-site profile (see the module docstring).
    masked : bool
        Compare the body region with ``profile.body_quantiles`` (True) or the whole image with
        ``profile.image_quantiles`` (False).

    Returns
    -------
    float
        Mean absolute intensity shift between the quantile functions, in [0, 1].
    """
    levels = np.asarray(profile.levels, dtype=np.float64)
    reference = profile.body_quantiles if masked else profile.image_quantiles
    mask = _mask(image) if masked else None
    return wasserstein1(quantile_function(image, levels, mask), reference, levels)


def jensen_shannon_to_profile(image: np.ndarray, profile: Any, masked: bool = True) -> float:
    """Jensen-Shannon distance from an image's histogram to a reference profile's.

    Parameters
    ----------
    image : np.ndarray
        float32, shape (H, W), values in [0, 1].
    profile : ReferenceProfile
        Reference-site profile (see the module docstring); its histogram's length sets the bins.
    masked : bool
        Compare the body region with ``profile.body_histogram`` (True) or the whole image with
        ``profile.image_histogram`` (False).

    Returns
    -------
    float
        JS distance (sqrt of the base-2 divergence), in [0, 1].
    """
    reference = np.asarray(profile.body_histogram if masked else profile.image_histogram)
    mask = _mask(image) if masked else None
    counts, _ = histogram(image, bins=reference.size, mask=mask)
    return jensen_shannon(counts, reference)


def _mask(image: np.ndarray) -> np.ndarray:
    # Imported here: the mask pulls in scikit-image, which the plain metrics do not need.
    from xray_harmonizer.imaging.masks import body_mask

    return body_mask(image)


def _kl_bits(p: np.ndarray, m: np.ndarray) -> float:
    """KL(p || m) in bits; terms with p = 0 contribute 0 (and m > 0 wherever p > 0)."""
    nz = p > 0
    return float(np.sum(p[nz] * np.log2(p[nz] / m[nz])))
