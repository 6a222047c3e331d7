"""Apply a site profile to a reference image: the image another imaging chain would have made."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from . import transforms as T
from .profile import SiteProfile


@dataclass(frozen=True)
class SiteDraws:
    """What :func:`apply_site` drew for one image (recorded so a result can be explained)."""

    log_exposure_offset: float
    collimation: tuple[float, float, float, float]  # top, bottom, left, right fractions
    # Burned-in text pixels (None when the profile burns none): a training target keeps them.
    text_mask: np.ndarray | None = field(default=None, compare=False, repr=False)


def seed_for(name: str, seed: int) -> int:
    """Per-image seed from a run seed and a file name, independent of processing order."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(name.encode("utf-8"))])
               .generate_state(1)[0])


def replaced_mask(shape: tuple[int, int], draws: SiteDraws) -> np.ndarray:
    """The pixels where :func:`apply_site` *replaced* the anatomy (collimation borders and
    burned-in text) rather than re-imaged it: no method can know what the truth is there."""
    mask = T.collimated(shape, draws.collimation)
    if draws.text_mask is not None:
        mask |= draws.text_mask
    return mask


def draw(profile: SiteProfile, rng: np.random.Generator) -> SiteDraws:
    """Draw the per-image random parameters (always the same number of draws, in this order)."""
    offset = float(rng.normal(0.0, 1.0)) * profile.exposure_jitter
    lo, hi = profile.collimation
    fractions = tuple(float(f) for f in rng.uniform(lo, hi, size=4))
    return SiteDraws(log_exposure_offset=offset, collimation=fractions)  # type: ignore[arg-type]


def apply_site(image: np.ndarray, profile: SiteProfile,
               seed: int | np.random.Generator = 0) -> np.ndarray:
    """Re-image a reference radiograph through the imaging chain of ``profile``.

    Parameters
    ----------
    image : np.ndarray
        float32, shape (H, W), in [0, 1], presentation orientation (higher = more attenuation).
    profile : SiteProfile
        The simulated site.
    seed : int or np.random.Generator
        Seed of the noise and per-image draws; the result is deterministic for a given seed.

    Returns
    -------
    np.ndarray
        float32, shape (H, W) (geometry unchanged: the input is a pixel-aligned truth; only the
        collimation border replaces pixels), in [0, 1], quantised to ``profile.bits``.
    """
    return apply_site_with_draws(image, profile, seed)[0]


def apply_site_with_draws(image: np.ndarray, profile: SiteProfile,
                          seed: int | np.random.Generator = 0) -> tuple[np.ndarray, SiteDraws]:
    """:func:`apply_site`, also returning the per-image draws."""
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        raise TypeError("image must be a 2-D numpy array (H, W)")
    if image.dtype != np.float32:
        raise TypeError(f"image must be float32, got {image.dtype}")
    if image.size == 0 or not np.isfinite(image).all():
        raise ValueError("image must be non-empty and finite")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(int(seed))
    p = profile
    draws = draw(p, rng)
    scale = T.image_scale(image.shape)
    x = np.clip(image.astype(np.float64), 0.0, 1.0)

    # Imaging: exposure through the patient, detector blur (scintillator spread precedes the
    # photon statistics only partly, but blurring first keeps the noise white as on real DR).
    # The heel, grid and text draws happen only when the profile asks for them, so profiles
    # without them draw exactly what they drew before these effects existed.
    e = T.to_exposure(x, p.exposure * float(np.exp(draws.log_exposure_offset)), p.attenuation_range)
    if p.heel > 0:
        e = T.heel_effect(e, p.heel, int(rng.integers(0, 4)))
    if p.grid_amplitude > 0:
        e = T.grid_lines(e, p.grid_amplitude, p.grid_period * scale,
                         p.grid_orientation == "vertical", float(rng.uniform(0, 2 * np.pi)))
    e = T.gaussian(e, p.blur_sigma * scale)
    e = T.add_noise(e, p.quantum_noise, p.electronic_noise, rng, p.noise_correlation * scale)

    # Detector response, then the vendor's image processing.
    y = T.tone_curve(T.log_signal(e, p.attenuation_range), p.tone_curve, p.gamma,
                     p.sigmoid_slope, p.sigmoid_center)
    y = T.dynamic_range_compression(y, p.drc_strength, p.drc_sigma * scale)
    y = T.multiscale_enhance(y, p.mce_gain, p.mce_power, p.mce_levels, scale)
    y = T.unsharp_mask(y, p.usm_amount, p.usm_sigma * scale)
    y = T.window(y, p.contrast, p.brightness)
    y = T.collimate(np.clip(y, 0.0, 1.0), draws.collimation, p.collimation_value)
    if p.text_labels > 0:
        y, mask = T.burn_in_text(y, p.text_labels, p.text_value, scale, rng)
        draws = replace(draws, text_mask=mask)
    y = T.quantize(y, p.bits)
    return y.astype(np.float32), draws
