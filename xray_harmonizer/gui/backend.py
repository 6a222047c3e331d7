"""Adapters from the GUI to the rest of the application, with graceful degradation.

The GUI is built while its neighbours (io, metrics, generalizers, classifier) land one by one,
and a user may run it with no classifier package installed. Every function here therefore asks
for the real implementation first and, when it is missing, either falls back to a small local
equivalent (loading, histograms, SSIM) or returns ``None`` with a plain reason the UI shows.
No Qt here: these run in worker threads.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xray_harmonizer.io.errors import NotAnImageError, StudyError
from xray_harmonizer.io.image import ImageMetadata, XrayImage

log = logging.getLogger(__name__)

_RASTER = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}


@dataclass(frozen=True)
class Unavailable:
    """A component that is not installed; ``reason`` is shown to the user as is."""

    reason: str


# --------------------------------------------------------------------------- loading
def open_study(path: str | Path) -> tuple[list[XrayImage], list[StudyError]]:
    """Open a file, folder or DICOM series; returns (images, errors)."""
    try:
        from xray_harmonizer.io import open_study as _open_study
    except ImportError:
        return _fallback_open_study(Path(path))
    result = _open_study(path)
    return list(result.images), list(result.errors)


def iter_study(path: str | Path) -> Iterator[tuple[Path, XrayImage | StudyError]]:
    """``(file, image or error)`` one file at a time, in study order."""
    try:
        from xray_harmonizer.io.study import iter_study as _iter_study
    except ImportError:
        images, errors = _fallback_open_study(Path(path))
        yield from ((im.meta.source, im) for im in images)
        yield from ((e.path, e) for e in errors)
        return
    yield from _iter_study(path)


def describe(image: XrayImage) -> dict[str, Any]:
    """JSON-able description without patient identity."""
    try:
        from xray_harmonizer.io import describe as _describe
        return dict(_describe(image))
    except ImportError:
        m = image.meta
        return {"file": m.source.name, "format": m.format, "photometric": m.photometric,
                "bits_stored": m.bits_stored, "size": f"{image.shape[1]}x{image.shape[0]}",
                "modality": m.modality, "pixel_spacing_mm": m.pixel_spacing_mm}


def _fallback_open_study(path: Path) -> tuple[list[XrayImage], list[StudyError]]:
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    images: list[XrayImage] = []
    errors: list[StudyError] = []
    for f in files:
        try:
            images.append(_fallback_open_image(f))
        except StudyError as exc:
            errors.append(exc)
    if not images and not errors:
        errors.append(NotAnImageError(path, "no images found"))
    return images, errors


def _fallback_open_image(path: Path) -> XrayImage:
    suffix = path.suffix.lower()
    if suffix in _RASTER:
        from PIL import Image
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert("I;16") if im.mode.startswith("I") else im.convert("L"))
        except Exception as exc:  # PIL raises many types for damaged files
            raise NotAnImageError(path, f"cannot decode image ({exc})") from exc
        bits = 16 if arr.dtype == np.uint16 else 8
        pixels = (arr.astype(np.float32) / float((1 << bits) - 1)).clip(0, 1)
        meta = ImageMetadata(source=path, format=_RASTER[suffix], photometric="MONOCHROME2",
                             bits_stored=bits)
        return XrayImage(pixels.astype(np.float32), meta)
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut
    try:
        ds = pydicom.dcmread(path)
        raw = ds.pixel_array
    except Exception as exc:
        raise NotAnImageError(path, f"not a readable DICOM image ({exc})") from exc
    arr = apply_voi_lut(apply_modality_lut(raw, ds), ds).astype(np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    pixels = (arr - lo) / max(hi - lo, 1e-6)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "MONOCHROME1":
        pixels = 1.0 - pixels
    meta = ImageMetadata(source=path, format="dicom", photometric=photometric,
                         bits_stored=int(ds.get("BitsStored", 16)), modality=ds.get("Modality"))
    return XrayImage(np.ascontiguousarray(pixels, dtype=np.float32), meta)


# --------------------------------------------------------------------------- models
def reference_profile() -> Any:
    """The default reference-site profile, or :class:`Unavailable`."""
    try:
        from xray_harmonizer.reference.profile import load_profile
        return load_profile()
    except ImportError:
        return Unavailable("no reference profile module installed")
    except Exception as exc:  # a missing or damaged profile file must not stop the app
        log.warning("reference profile unavailable: %s", exc)
        return Unavailable(f"reference profile unavailable: {exc}")


def available_generalizers(*, model_folder: str | None = None, working_size: int | None = None,
                           use_gpu: bool | None = None) -> tuple[list[Any], list[str]]:
    """Every installed generalizer and the reasons others were refused."""
    try:
        from xray_harmonizer.generalizers.registry import discover_generalizers
        from xray_harmonizer.models.discovery import bundled_models_dir, user_models_dir
    except ImportError:
        return [], ["no generalizer installed"]
    folders = None
    if model_folder:
        folders = [bundled_models_dir(), user_models_dir(), Path(model_folder)]
    try:
        gens, refused = discover_generalizers(None, folders, working_size=working_size,
                                              use_gpu=use_gpu)
    except Exception as exc:  # e.g. the reference profile is missing: say so, keep running
        log.warning("generalizer discovery failed: %s", exc)
        return [], [f"no generalizer available: {exc}"]
    return list(gens), [str(e) for e in refused]


def load_classifier(*, model_folder: str | None = None, use_gpu: bool | None = None) -> Any:
    """The first installed classifier package as a model, or :class:`Unavailable`."""
    try:
        from xray_harmonizer.classifier import ClassifierModel
        from xray_harmonizer.models.discovery import (bundled_models_dir, discover_packages,
                                                      user_models_dir)
    except ImportError:
        return Unavailable("no classifier installed")
    folders = [bundled_models_dir(), user_models_dir()]
    if model_folder:
        folders.append(Path(model_folder))
    packages, errors = discover_packages(folders, kind="classifier")
    if not packages:
        reason = "; ".join(str(e) for e in errors) if errors else "no classifier installed"
        return Unavailable(reason)
    try:
        if use_gpu is not None and _accepts_gpu(ClassifierModel):
            return ClassifierModel(packages[0], use_gpu=use_gpu)
        return ClassifierModel(packages[0])
    except Exception as exc:
        log.warning("classifier failed to load: %s", exc)
        return Unavailable(f"classifier failed to load: {exc}")


def _accepts_gpu(cls: Any) -> bool:
    try:
        return "use_gpu" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- metrics
def ssim_map(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean SSIM and its map (data_range 1.0) of two float32 HxW images in [0, 1]."""
    try:
        from xray_harmonizer.metrics.ssim import ssim_map as _ssim_map
        value, smap = _ssim_map(a, b)
        return float(value), np.asarray(smap, dtype=np.float32)
    except ImportError:
        from skimage.metrics import structural_similarity
        value, smap = structural_similarity(a, b, data_range=1.0, full=True)
        return float(value), smap.astype(np.float32)


def histogram(image: np.ndarray, bins: int = 128) -> np.ndarray:
    """Probability histogram (sums to 1) of the body region over [0, 1], float64 (bins,).

    The body region, because the reference profile describes the body region: comparing a
    whole-image histogram (with its collimation borders) to it would mislead.
    """
    try:
        from xray_harmonizer.metrics.histograms import body_histogram
        counts = np.asarray(body_histogram(image, bins=bins)[0], dtype=np.float64)
    except ImportError:
        counts = np.bincount(np.clip((image.ravel() * bins).astype(np.int64), 0, bins - 1),
                             minlength=bins).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def w1_to_reference(image: np.ndarray, profile: Any) -> float | None:
    """Wasserstein-1 distance of the image's body region to the reference; None if unknown."""
    if profile is None or isinstance(profile, Unavailable):
        return None
    try:
        from xray_harmonizer.metrics.distances import wasserstein1_to_profile
        return float(wasserstein1_to_profile(image, profile, masked=True))
    except ImportError:
        levels = np.asarray(profile.levels, dtype=np.float64)
        ref = np.asarray(profile.image_quantiles, dtype=np.float64)
        ours = np.quantile(image[::4, ::4], levels)
        return float(np.trapezoid(np.abs(ours - ref), levels))
    except Exception as exc:
        log.warning("W1 failed: %s", exc)
        return None


def reference_histogram(profile: Any, bins: int = 128) -> np.ndarray | None:
    """The profile's body-region histogram re-binned to ``bins`` (sums to 1), or None."""
    if profile is None or isinstance(profile, Unavailable):
        return None
    hist = getattr(profile, "body_histogram", None)
    if hist is None:
        hist = getattr(profile, "image_histogram", None)
    if hist is None:
        return None
    hist = np.asarray(hist, dtype=np.float64)
    if hist.size % bins == 0:
        hist = hist.reshape(bins, -1).sum(axis=1)
    total = hist.sum()
    return hist / total if total > 0 else hist
