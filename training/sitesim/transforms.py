"""Seeded array transforms of the site simulator: small pure numpy functions.

Every function takes and returns float arrays of shape (H, W); those in the exposure domain work
on relative exposure (positive), the others on presentation values in [0, 1]. Lengths are in
pixels at a 512 px long side, multiplied by ``scale = max(H, W) / 512`` so the same profile gives
the same physical effect at any resolution.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def image_scale(shape: tuple[int, ...]) -> float:
    """Scale factor of an image relative to the 512 px long side the profiles are written for."""
    return max(shape) / 512.0


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (reflect borders); identity for ``sigma <= 0``."""
    if sigma <= 0:
        return x
    return ndimage.gaussian_filter(x, sigma, mode="reflect", truncate=3.0)


def to_exposure(p: np.ndarray, exposure: float, attenuation_range: float) -> np.ndarray:
    """Presentation value (relative attenuation) -> relative detector exposure, float64 > 0."""
    return exposure * np.exp(-attenuation_range * p.astype(np.float64))


def add_noise(e: np.ndarray, quantum: float, electronic: float,
              rng: np.random.Generator, correlation: float = 0.0) -> np.ndarray:
    """Quantum noise (variance ``quantum * E``) plus electronic noise (SD ``electronic``).

    Gaussian approximation of Poisson statistics: fine at the photon counts of a radiograph.
    ``correlation`` > 0 (pixels, already scaled) blurs the white field with a Gaussian of that
    sigma and renormalises it to unit variance: the light spread in a scintillator / CR phosphor
    correlates neighbouring pixels' noise, so real detector noise is not white.
    """
    if quantum <= 0 and electronic <= 0:
        return e
    sd = np.sqrt(np.maximum(quantum, 0.0) * e + electronic ** 2)
    field = rng.standard_normal(e.shape)
    if correlation > 0:
        delta = np.zeros((int(8 * correlation) + 3,) * 2)
        delta[delta.shape[0] // 2, delta.shape[1] // 2] = 1.0
        norm = float(np.sqrt((gaussian(delta, correlation) ** 2).sum()))  # SD of a blurred white field
        field = gaussian(field, correlation) / norm
    return e + sd * field


def heel_effect(e: np.ndarray, strength: float, direction: int) -> np.ndarray:
    """Anode heel: exposure falls linearly by ``strength`` (relative) across the image.

    ``direction`` 0..3 = the anode side at the top, bottom, left or right.
    """
    if strength <= 0:
        return e
    h, w = e.shape
    n = h if direction < 2 else w
    ramp = np.linspace(-0.5, 0.5, n) * (1.0 if direction % 2 == 0 else -1.0)
    gain = 1.0 + strength * ramp  # the anode side (ramp -0.5) gets less exposure
    return e * (gain[:, None] if direction < 2 else gain[None, :])


def grid_lines(e: np.ndarray, amplitude: float, period: float, vertical: bool,
               phase: float) -> np.ndarray:
    """Anti-scatter grid shadow: exposure modulated by ``1 - amplitude * (1 + cos) / 2`` with lines
    every ``period`` pixels (already scaled; a period near 2 px aliases into moire as on real
    images of a stationary grid)."""
    if amplitude <= 0:
        return e
    n = e.shape[1] if vertical else e.shape[0]
    mod = 1.0 - amplitude * 0.5 * (1.0 + np.cos(2 * np.pi * np.arange(n) / period + phase))
    return e * (mod[None, :] if vertical else mod[:, None])


def burn_in_text(y: np.ndarray, labels: int, value: float, scale: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Burn ``labels`` blocky text labels (random 5x7 glyph strings, 8-14 px tall at 512) into
    the image at ``value``, near the corners where sites put them; returns (image, mask)."""
    mask = np.zeros(y.shape, dtype=bool)
    if labels <= 0:
        return y, mask
    h, w = y.shape
    out = y.copy()
    for _ in range(int(labels)):
        cell = max(1, int(round(rng.uniform(8, 14) * scale / 7)))
        chars = int(rng.integers(1, 7))
        glyphs = rng.random((7, 6 * chars)) < 0.45
        glyphs[:, 5::6] = False  # one blank column between characters
        block = np.kron(glyphs, np.ones((cell, cell), dtype=bool))[:h // 3, :w // 2]
        bh, bw = block.shape
        top = int(rng.uniform(0.01, 0.12) * h) if rng.random() < 0.5 else h - bh - int(rng.uniform(0.01, 0.12) * h)
        left = int(rng.uniform(0.01, 0.12) * w) if rng.random() < 0.5 else w - bw - int(rng.uniform(0.01, 0.12) * w)
        top, left = min(max(top, 0), h - bh), min(max(left, 0), w - bw)
        mask[top:top + bh, left:left + bw] |= block
    out[mask] = value
    return out, mask


def log_signal(e: np.ndarray, attenuation_range: float) -> np.ndarray:
    """Exposure -> normalised log signal ``u = -log(E) / attenuation_range`` (attenuation scale)."""
    floor = np.exp(-2.0 * attenuation_range)  # detector floor: noise cannot give log(<=0)
    return -np.log(np.maximum(e, floor)) / attenuation_range


def tone_curve(u: np.ndarray, curve: str, gamma: float = 1.0, slope: float = 6.0,
               center: float = 0.5) -> np.ndarray:
    """Detector response / characteristic curve on the normalised log signal.

    ``log``: identity (a logarithmic CR reader); ``gamma``: ``u**gamma``; ``sigmoid``: an H&D
    film curve rescaled so that 0 -> 0 and 1 -> 1.
    """
    u = np.clip(u, 0.0, 1.0)
    if curve == "log":
        return u
    if curve == "gamma":
        return u ** gamma
    if curve == "sigmoid":
        f = lambda v: 1.0 / (1.0 + np.exp(-slope * (v - center)))  # noqa: E731
        lo, hi = f(0.0), f(1.0)
        return (f(u) - lo) / (hi - lo)
    raise ValueError(f"unknown tone curve {curve!r}")


def dynamic_range_compression(y: np.ndarray, strength: float, sigma: float) -> np.ndarray:
    """Subtract ``strength`` times the large-scale deviation from the image mean."""
    if strength == 0:
        return y
    low = gaussian(y, sigma)
    return y - strength * (low - float(low.mean()))


def multiscale_enhance(y: np.ndarray, gain: float, power: float, levels: int,
                       scale: float) -> np.ndarray:
    """MUSICA-like enhancement: amplify difference-of-Gaussian bands with power compression.

    Band ``b`` becomes ``(1 + gain) * sign(b) * M * (|b| / M)**power`` with ``M`` the band's
    99th percentile of ``|b|``, so faint detail is boosted more than strong edges when power < 1.
    """
    if gain == 0 and power == 1.0:
        return y
    out = np.zeros_like(y)
    current = y
    for level in range(levels):
        low = gaussian(current, (2.0 ** level) * scale)
        band = current - low
        m = float(np.percentile(np.abs(band), 99)) + 1e-6
        shaped = np.sign(band) * m * (np.abs(band) / m) ** power
        out += (1.0 + gain) * shaped
        current = low
    return out + current


def unsharp_mask(y: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """``y + amount * (y - blur(y, sigma))``."""
    if amount == 0 or sigma <= 0:
        return y
    return y + amount * (y - gaussian(y, sigma))


def window(y: np.ndarray, contrast: float, brightness: float) -> np.ndarray:
    """Linear display window ``(y - 0.5) * contrast + 0.5 + brightness``, not clipped."""
    return (y - 0.5) * contrast + 0.5 + brightness


def quantize(y: np.ndarray, bits: int) -> np.ndarray:
    """Clip to [0, 1] and quantise to ``2**bits - 1`` levels (values stay in [0, 1])."""
    levels = float(2 ** int(bits) - 1)
    return np.round(np.clip(y, 0.0, 1.0) * levels) / levels


def collimated(shape: tuple[int, int], fractions: tuple[float, float, float, float]) -> np.ndarray:
    """The pixels :func:`collimate` replaces: (top, bottom, left, right) border fractions."""
    h, w = shape
    top, bottom, left, right = (int(round(f * n)) for f, n in zip(fractions, (h, h, w, w)))
    mask = np.zeros(shape, dtype=bool)
    mask[:top, :] = True
    mask[h - bottom:, :] = True  # an empty slice when bottom is 0
    mask[:, :left] = True
    mask[:, w - right:] = True
    return mask


def collimate(y: np.ndarray, fractions: tuple[float, float, float, float],
              value: float) -> np.ndarray:
    """Replace (top, bottom, left, right) border fractions of the image by ``value``."""
    mask = collimated(y.shape, fractions)
    if not mask.any():
        return y
    out = y.copy()
    out[mask] = value
    return out
