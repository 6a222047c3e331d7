"""The computations behind the GUI's panels, as pure functions run in worker threads.

Widgets never compute: a worker calls :func:`prepare_study_image` after loading and
:func:`harmonize_and_measure` after a click on Harmonize; the view models hand the frozen
results to the widgets. No Qt here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from xray_harmonizer.gui import backend
from xray_harmonizer.io.image import XrayImage

Progress = Callable[[int, str], None]
Cancelled = Callable[[], bool]

THUMB_SIZE = 112
# A study is a handful of images; a folder of thousands would fill the memory (pixels stay
# loaded for instant switching), so opening stops here and says so.
MAX_STUDY_IMAGES = 200
# SSIM of a 2048² pair costs ~0.2 s here, so it runs at full resolution; only larger images
# are block-averaged to this long side (the panel and the report state the size used).
SSIM_MAX_SIDE = 4096


class JobCancelled(Exception):
    """Raised inside a job when the user pressed Cancel."""


@dataclass(frozen=True)
class WarningThresholds:
    """When the metrics panel warns in plain words."""

    # ~95th percentile of the Kermany images' own W1 to the Kermany profile (40 images, measured).
    w1_far: float = 0.10
    p_disagree: float = 0.30  # |p(original) - p(harmonized)|


@dataclass(frozen=True)
class StudyEntry:
    """An opened image ready for the study list and the viewer."""

    image: XrayImage
    thumbnail: np.ndarray  # uint8 (h, w), long side THUMB_SIZE
    info: dict[str, Any]
    load_s: float = 0.0

    @property
    def title(self) -> str:
        return self.image.meta.source.name


@dataclass(frozen=True)
class HarmonizeResult:
    """Everything the panels show for one (image, generalizer) pair."""

    generalizer: str
    kind: str
    reference_site: str
    model_hash: str | None
    harmonized: np.ndarray  # float32 HxW [0, 1]
    difference: np.ndarray  # float32 HxW [-1, 1], harmonized - original
    ssim: float | None
    ssim_map: np.ndarray | None  # float32, at most SSIM_MAX_SIDE on the long side
    ssim_side: int
    hist_original: np.ndarray
    hist_harmonized: np.ndarray
    w1_original: float | None
    w1_harmonized: float | None
    p_original: float | None
    p_harmonized: float | None
    classifier_label: str | None
    generalizer_provider: str
    classifier_provider: str | None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # plain-language, from :func:`warnings_for`
    classifier_name: str | None = None
    classifier_hash: str | None = None  # sha256 of the classifier's ONNX file


def thumbnail(pixels: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    """uint8 thumbnail of a float32 [0, 1] image, long side ``size`` (block mean)."""
    step = max(1, int(np.ceil(max(pixels.shape) / size)))
    h, w = (pixels.shape[0] // step) * step, (pixels.shape[1] // step) * step
    small = pixels[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))
    return np.ascontiguousarray((small * 255.0 + 0.5).clip(0, 255).astype(np.uint8))


def downsample_to(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Block-mean downsample by an integer factor so the long side is <= max_side."""
    step = int(np.ceil(max(pixels.shape) / max_side))
    if step <= 1:
        return pixels
    h, w = (pixels.shape[0] // step) * step, (pixels.shape[1] // step) * step
    return pixels[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3)).astype(
        np.float32)


def prepare_study_image(image: XrayImage, load_s: float = 0.0) -> StudyEntry:
    """Thumbnail and description of a freshly opened image (cheap: the first image must show
    fast; the body-region histogram follows in a second job, see :func:`body_histograms`)."""
    info = backend.describe(image)
    return StudyEntry(image=image, thumbnail=thumbnail(image.pixels), info=info, load_s=load_s)


def body_histograms(entries: list[StudyEntry], report: Progress, cancelled: Cancelled
                    ) -> list[tuple[StudyEntry, np.ndarray]]:
    """The body-region histogram of each entry (the histogram panel's "original" curve)."""
    out = []
    for i, entry in enumerate(entries):
        if cancelled():
            raise JobCancelled()
        out.append((entry, backend.histogram(entry.image.pixels)))
        report(int(100 * (i + 1) / len(entries)), "histograms")
    return out


def load_study(path: str, report: Progress, cancelled: Cancelled,
               on_entry: Callable[[StudyEntry], None] | None = None,
               max_images: int | None = None) -> tuple[list[StudyEntry], list[str]]:
    """Open a file or folder one image at a time.

    ``on_entry`` is called with each entry as soon as it is ready, so the first image shows
    while the rest load. Returns the entries and one ``path: reason`` per refused file.
    """
    max_images = MAX_STUDY_IMAGES if max_images is None else max_images
    report(1, f"Opening {path}")
    entries: list[StudyEntry] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    for file, item in backend.iter_study(path):
        if cancelled():
            raise JobCancelled()
        if len(entries) >= max_images:
            errors.append(f"{path}: more than {max_images} images; opened the first {max_images}")
            break
        if isinstance(item, Exception):
            errors.append(str(item))
            continue
        entry = prepare_study_image(item, time.perf_counter() - t0)
        t0 = time.perf_counter()
        entries.append(entry)
        if on_entry is not None:
            on_entry(entry)
        report(min(99, 5 + 5 * len(entries)), f"Opened {file.name}")
    return entries, errors


def _provider_of(obj: Any) -> str:
    provider = getattr(obj, "provider", None)
    if provider is None:
        return "CPU (numpy)"
    text = str(provider)
    return "CUDA" if text.startswith("CUDA") else "CPU" if text.startswith("CPU") else text


def classify(classifier: Any, pixels: np.ndarray) -> float | None:
    """The classifier's probability, or None when no classifier is installed."""
    if classifier is None or isinstance(classifier, backend.Unavailable):
        return None
    return float(classifier.predict(pixels))


def harmonize_and_measure(entry: StudyEntry, generalizer: Any, profile: Any, classifier: Any,
                          report: Progress, cancelled: Cancelled, *, p_original: float | None = None,
                          hist_original: np.ndarray | None = None,
                          with_maps: bool = True) -> HarmonizeResult:
    """Harmonize one image and compute every figure the panels show.

    ``p_original`` is passed when the original's probability is already known (it does not
    depend on the generalizer). ``with_maps=False`` skips the SSIM map (compare-all grid).
    """
    original = entry.image.pixels
    timings: dict[str, float] = {}

    def step(name: str, pct: int, fn: Callable[[], Any]) -> Any:
        if cancelled():
            raise JobCancelled()
        report(pct, name)
        t = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - t
        return out

    harmonized = step("harmonize", 5, lambda: np.asarray(generalizer.harmonize(original),
                                                          dtype=np.float32))
    if harmonized.shape != original.shape:
        raise ValueError(f"{generalizer.name} returned shape {harmonized.shape}, "
                         f"expected {original.shape}")
    small_o = downsample_to(original, SSIM_MAX_SIDE)
    small_h = downsample_to(harmonized, SSIM_MAX_SIDE)
    ssim, smap = step("ssim", 45, lambda: backend.ssim_map(small_o, small_h))
    hist_h = step("histogram", 65, lambda: backend.histogram(harmonized))
    if hist_original is None:
        hist_original = step("histogram original", 68, lambda: backend.histogram(original))
    w1_o = step("w1 original", 70, lambda: backend.w1_to_reference(original, profile))
    w1_h = step("w1 harmonized", 75, lambda: backend.w1_to_reference(harmonized, profile))
    if p_original is None:
        p_original = step("classify original", 80, lambda: classify(classifier, original))
    p_h = step("classify harmonized", 90, lambda: classify(classifier, harmonized))
    report(100, "done")
    has_clf = classifier is not None and not isinstance(classifier, backend.Unavailable)
    result = HarmonizeResult(
        generalizer=str(generalizer.name), kind=str(getattr(generalizer, "kind", "?")),
        reference_site=str(getattr(generalizer, "reference_site", "?")),
        model_hash=getattr(generalizer, "model_hash", None), harmonized=harmonized,
        difference=harmonized - original, ssim=ssim, ssim_map=smap if with_maps else None,
        ssim_side=max(small_o.shape), hist_original=hist_original, hist_harmonized=hist_h,
        w1_original=w1_o, w1_harmonized=w1_h, p_original=p_original, p_harmonized=p_h,
        classifier_label=getattr(classifier, "label", None) if has_clf else None,
        generalizer_provider=_provider_of(generalizer),
        classifier_provider=_provider_of(classifier) if has_clf else None, timings=timings,
        classifier_name=str(getattr(classifier, "name", "classifier")) if has_clf else None,
        classifier_hash=getattr(getattr(classifier, "package", None), "content_hash", None)
        if has_clf else None)
    return replace(result, warnings=tuple(warnings_for(result)))


def warnings_for(result: HarmonizeResult, thresholds: WarningThresholds = WarningThresholds()
                 ) -> list[str]:
    """Plain-language warnings for the metrics panel."""
    out = []
    if result.p_original is not None and result.p_harmonized is not None and abs(
            result.p_original - result.p_harmonized) >= thresholds.p_disagree:
        out.append(f"The classifier disagrees strongly between original "
                   f"({result.p_original:.0%}) and harmonized ({result.p_harmonized:.0%}) images. "
                   "Review the image before trusting either figure.")
    if result.w1_original is not None and result.w1_original >= thresholds.w1_far:
        out.append(f"This study is far from the reference site's intensity distribution "
                   f"(W1 = {result.w1_original:.3f} ≥ {thresholds.w1_far:.3f}); the classifier "
                   "was not trained on images like it.")
    if result.w1_harmonized is not None and result.w1_harmonized >= thresholds.w1_far:
        out.append(f"Even after harmonization the image is far from the reference "
                   f"(W1 = {result.w1_harmonized:.3f}).")
    return out
