"""Harmonize one image and measure it: the single path behind the GUI, the CLI and the protocol.

:func:`prepare` does the per-input work once (validation, body mask, fine histogram);
:func:`harmonize_and_measure` runs a generalizer on it and measures the output against the
*input's* body mask, so "W1 before" and "W1 after" describe the same pixels wherever they are
shown. No Qt, no torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from xray_harmonizer.classifier import Assessment
from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.imaging.masks import body_mask
from xray_harmonizer.imaging.resample import downsample_to
from xray_harmonizer.imaging.validation import check_image
from xray_harmonizer.metrics.distances import wasserstein1
from xray_harmonizer.metrics.histograms import FINE_BINS, histogram, quantiles_from_counts
from xray_harmonizer.metrics.ssim import ssim_map
from xray_harmonizer.metrics.structure import StructureCheck, structure_check
from xray_harmonizer.reference.profile import ReferenceProfile

if TYPE_CHECKING:  # the DICOM header, for the tag checks; only typed here
    from pydicom import Dataset

Progress = Callable[[int, str], None]
Cancelled = Callable[[], bool]
T = TypeVar("T")

# Bins of the histograms the panels and the report draw (FINE_BINS is a multiple of it).
DISPLAY_BINS = 128
# SSIM of a 2048² pair costs ~0.2 s here, so it runs at full resolution; only larger images
# are block-averaged to this long side (the panel and the report state the size used).
SSIM_MAX_SIDE = 4096


class JobCancelled(Exception):
    """Raised between steps when the caller's ``cancelled()`` turns true."""


class Classifier(Protocol):
    """What the analysis needs of a classifier (:class:`xray_harmonizer.classifier.ClassifierModel`)."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def model_hash(self) -> str | None: ...

    provider: str

    def predict(self, image: np.ndarray) -> float: ...

    def assess(self, image: np.ndarray, dataset: Dataset | None = None) -> Assessment: ...


@dataclass(frozen=True, eq=False)
class Prepared:
    """One input image, validated, with what every measurement of it shares.

    ``eq=False``: identity semantics, so it can key a ``WeakKeyDictionary`` and never be
    confused with another image that happens to reuse its address.
    """

    pixels: np.ndarray  # float32 (H, W) in [0, 1], checked
    mask: np.ndarray  # bool (H, W): the body region, computed once
    fine_counts: np.ndarray  # float64 (FINE_BINS,): body-region histogram, sums to 1

    @property
    def hist(self) -> np.ndarray:
        """The body-region histogram at DISPLAY_BINS (sums to 1)."""
        return coarsen(self.fine_counts)


def prepare(pixels: np.ndarray) -> Prepared:
    """Validate an input image and compute its body mask and histogram (once per image)."""
    check_image(pixels)
    mask = body_mask(pixels)
    return Prepared(pixels, mask, histogram(pixels, FINE_BINS, mask)[0])


def coarsen(fine_counts: np.ndarray, bins: int = DISPLAY_BINS) -> np.ndarray:
    """A FINE_BINS histogram summed down to ``bins`` equal bins (exact: bins divide FINE_BINS)."""
    return fine_counts.reshape(bins, -1).sum(axis=1)


def w1_to_profile(fine_counts: np.ndarray, profile: ReferenceProfile) -> float:
    """Wasserstein-1 between a body-region histogram and the profile's body distribution."""
    return wasserstein1(quantiles_from_counts(fine_counts, profile.levels),
                        profile.body_quantiles, profile.levels)


@dataclass(frozen=True)
class WarningThresholds:
    """When the metrics panel warns in plain words."""

    # ~95th percentile of the Kermany images' own W1 to the Kermany profile (40 images, measured).
    w1_far: float = 0.10
    p_disagree: float = 0.30  # |p(original) - p(harmonized)|


@dataclass(frozen=True)
class HarmonizeResult:
    """Everything shown or recorded for one (image, generalizer) pair.

    Adding a figure (a guard, a score): give it a field with a default here, compute it in
    :func:`harmonize_and_measure`, and, if it should warn, add the sentence in
    :func:`warnings_for`. Every caller (GUI panels, CLI JSON, protocol) then has it.
    """

    generalizer: str
    kind: str
    reference_site: str
    model_hash: str | None
    original: np.ndarray = field(repr=False)  # float32 HxW [0, 1], the input (not a copy)
    harmonized: np.ndarray = field(repr=False)  # float32 HxW [0, 1]
    ssim: float  # mean SSIM(harmonized, original) at ssim_side
    ssim_map: np.ndarray | None = field(repr=False)  # float32, long side ssim_side; None if not asked
    ssim_side: int
    hist_original: np.ndarray = field(repr=False)  # DISPLAY_BINS, body region of the input
    hist_harmonized: np.ndarray = field(repr=False)  # same bins, same region (the input's mask)
    w1_original: float | None  # W1 to the reference profile; None without a profile
    w1_harmonized: float | None  # on the input's body mask, like w1_original
    p_original: float | None  # classifier probability; None without a classifier
    p_harmonized: float | None
    classifier_label: str | None
    generalizer_provider: str
    classifier_provider: str | None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # plain-language, from :func:`warnings_for`
    classifier_name: str | None = None
    classifier_hash: str | None = None  # sha256 of the classifier package
    # The classifier's answer for the original (reusable for other generalizers), and why no
    # probability is shown when the image is outside the classifier's domain.
    assessment: Assessment | None = field(default=None, repr=False)
    domain_reason: str | None = None
    # Did harmonization keep the anatomy (metrics/structure.py); None only for old callers.
    structure: StructureCheck | None = field(default=None, repr=False)

    @cached_property
    def difference(self) -> np.ndarray:
        """float32 HxW in [-1, 1]: harmonized - original (made with the maps, else on first use)."""
        return self.harmonized - self.original


def provider_name(provider: str | None) -> str:
    """Short execution-provider name for the panels: CUDA, CPU, or CPU (numpy) for no runtime."""
    if provider is None:
        return "CPU (numpy)"
    return "CUDA" if provider.startswith("CUDA") else "CPU" if provider.startswith("CPU") else provider


@dataclass(frozen=True)
class OutputFigures:
    """How an output image compares with its input (see :func:`measure_output`)."""

    ssim: float  # mean SSIM(output, input) at ssim_side
    ssim_map: np.ndarray = field(repr=False)  # float32, long side ssim_side
    ssim_side: int
    fine_counts: np.ndarray = field(repr=False)  # FINE_BINS histogram of the output, input's mask
    w1_input: float | None  # W1 of the input to the profile (None without a profile)
    w1_output: float | None  # W1 of the output, on the input's body mask


def _untimed(name: str, pct: int, fn: Callable[[], T]) -> T:
    return fn()


Step = Callable[[str, int, Callable[[], T]], T]


def measure_output(source: Prepared, output: np.ndarray, profile: ReferenceProfile | None, *,
                   step: Step = _untimed) -> OutputFigures:
    """SSIM to the input and W1 before/after, all on the input's body mask.

    Any image standing for the input after a transformation (a generalizer's output, the
    protocol's truth or oracle rows) is measured here, so the figures mean the same everywhere.
    ``step(name, percent, fn)`` wraps each part (timing, progress, cancel).
    """
    if output.shape != source.pixels.shape:
        raise ValueError(f"output shape {output.shape} differs from input {source.pixels.shape}")
    small_i = downsample_to(source.pixels, SSIM_MAX_SIDE)
    small_o = downsample_to(output, SSIM_MAX_SIDE)
    # Always with the map: the mean then never depends on whether a caller keeps the map.
    value, smap = step("ssim", 45, lambda: ssim_map(small_o, small_i))
    fine = step("histogram", 65, lambda: histogram(output, FINE_BINS, source.mask)[0])
    w1_i = w1_o = None
    if profile is not None:
        w1_i = step("w1 original", 70, lambda: w1_to_profile(source.fine_counts, profile))
        w1_o = step("w1 harmonized", 75, lambda: w1_to_profile(fine, profile))
    return OutputFigures(float(value), smap, max(small_i.shape), fine, w1_i, w1_o)


def harmonize_and_measure(source: Prepared, generalizer: Generalizer,
                          profile: ReferenceProfile | None, classifier: Classifier | None, *,
                          report: Progress | None = None, cancelled: Cancelled | None = None,
                          assessment: Assessment | None = None, dataset: Dataset | None = None,
                          with_map: bool = True) -> HarmonizeResult:
    """Harmonize one prepared image and compute every figure of :class:`HarmonizeResult`.

    Parameters
    ----------
    source : Prepared
        From :func:`prepare` (the caller may keep it to harmonize the same image again).
    profile, classifier : optional
        Without them the W1 / probability figures are None.
    report, cancelled : optional
        Progress callback ``(percent, step)`` and a cancel check run between steps
        (raises :class:`JobCancelled`).
    assessment : Assessment, optional
        The classifier's answer for the original when already known (it does not depend on the
        generalizer): its probability, or why the image is outside the classifier's domain.
    dataset : optional
        The input's DICOM dataset (its body-part/view/modality tags feed the domain guard).
    with_map : bool
        Keep the SSIM map (the compare-all grid and the CLI do not need it). The SSIM value is
        computed the same way either way, so it never depends on this flag.
    """
    original = source.pixels
    timings: dict[str, float] = {}

    def step(name: str, pct: int, fn: Callable[[], T]) -> T:
        if cancelled is not None and cancelled():
            raise JobCancelled()
        if report is not None:
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
    check_image(harmonized, f"output of {generalizer.name}")
    fig = measure_output(source, harmonized, profile, step=step)
    structure = step("structure", 78, lambda: structure_check(original, harmonized,
                                                              mask=source.mask))
    p_original = p_h = domain_reason = None
    if classifier is not None:
        if assessment is None:
            assessment = step("classify original", 80,
                              lambda: classifier.assess(original, dataset))
        p_original, domain_reason = assessment.probability, assessment.verdict.reason
        if p_original is not None:  # outside the domain neither image gets a number
            p_h = step("classify harmonized", 90, lambda: classifier.predict(harmonized))
    if report is not None:
        report(100, "done")
    result = HarmonizeResult(
        generalizer=generalizer.name, kind=generalizer.kind,
        reference_site=generalizer.reference_site, model_hash=generalizer.model_hash,
        original=original, harmonized=harmonized, ssim=fig.ssim,
        ssim_map=fig.ssim_map if with_map else None, ssim_side=fig.ssim_side,
        hist_original=source.hist, hist_harmonized=coarsen(fig.fine_counts),
        w1_original=fig.w1_input, w1_harmonized=fig.w1_output,
        p_original=p_original, p_harmonized=p_h,
        classifier_label=classifier.label if classifier is not None else None,
        # A generalizer without an execution provider is plain numpy (histogram matching).
        generalizer_provider=provider_name(getattr(generalizer, "provider", None)),
        classifier_provider=provider_name(classifier.provider) if classifier is not None else None,
        timings=timings,
        classifier_name=classifier.name if classifier is not None else None,
        classifier_hash=classifier.model_hash if classifier is not None else None,
        assessment=assessment, domain_reason=domain_reason, structure=structure)
    result = replace(result, warnings=tuple(warnings_for(result)))
    if with_map:  # the viewer's maps come ready: no full-size arithmetic on the UI thread
        step("difference", 95, lambda: result.difference)
    return result


def warnings_for(result: HarmonizeResult, thresholds: WarningThresholds = WarningThresholds()
                 ) -> list[str]:
    """Plain-language warnings for the metrics panel, the report and the CLI."""
    out = []
    if result.structure is not None and result.structure.message:
        out.append(result.structure.message)
    if result.domain_reason is not None:
        out.append(f"No {result.classifier_label or 'classifier'} probability: "
                   f"{result.domain_reason}. The classifier only reads frontal chest "
                   "radiographs.")
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


def record(result: HarmonizeResult) -> dict[str, float | str | None]:
    """The JSON-able figures of a result (CLI ``--json``, protocol rows), unrounded."""
    return {"generalizer": result.generalizer, "ssim_to_input": result.ssim,
            "ssim_side": result.ssim_side, "w1_before": result.w1_original,
            "w1_after": result.w1_harmonized, "p_original": result.p_original,
            "p_harmonized": result.p_harmonized, "not_in_domain": result.domain_reason,
            "structure_score": None if result.structure is None else result.structure.score,
            "structure_kept": None if result.structure is None else result.structure.kept}
