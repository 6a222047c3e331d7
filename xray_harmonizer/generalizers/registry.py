"""Every generalizer the user can pick: histogram matching plus one per installed model package."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.generalizers.evidence import Evidence, evidence_for, recommend
from xray_harmonizer.generalizers.histogram import HistogramMatching
from xray_harmonizer.models.discovery import discover_packages
from xray_harmonizer.models.package import ModelPackage, PackageError
from xray_harmonizer.reference.profile import ReferenceProfile, load_profile

log = logging.getLogger(__name__)


def neural_generalizer(package: ModelPackage, *, working_size: int | None = None,
                       use_gpu: bool | None = None) -> Generalizer:
    """Build the ONNX generalizer of a verified generalizer package."""
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer  # onnxruntime is heavy

    return NeuralGeneralizer(package, working_size=working_size, use_gpu=use_gpu)


def discover_generalizers(
    profile: ReferenceProfile | None = None,
    folders: list[Path] | None = None,
    *,
    working_size: int | None = None,
    use_gpu: bool | None = None,
) -> tuple[list[Generalizer], list[Exception]]:
    """Histogram matching to ``profile`` (the bundled Kermany profile by default), then every
    generalizer package found; returns the generalizers and the errors of refused packages."""
    profile = profile if profile is not None else load_profile()
    generalizers: list[Generalizer] = [HistogramMatching(profile, masked=True)]
    packages, errors = discover_packages(folders, kind="generalizer")
    refused: list[Exception] = list(errors)
    for package in packages:
        try:
            generalizers.append(neural_generalizer(package, working_size=working_size,
                                                   use_gpu=use_gpu))
        except (PackageError, ImportError, RuntimeError, ValueError, OSError) as exc:
            log.warning("could not load generalizer %s: %s", package.name, exc)
            refused.append(exc)
    return generalizers, refused


def available_generalizers(profile: ReferenceProfile | None = None,
                           folders: list[Path] | None = None) -> list[Generalizer]:
    """The generalizers :func:`discover_generalizers` could load (errors are logged)."""
    return discover_generalizers(profile, folders)[0]


def package_name(generalizer: Generalizer) -> str:
    """The model package's name (``histogram`` for histogram matching): file-name safe, unique
    per package, so outputs of two UNIT packages never share a name."""
    package = getattr(generalizer, "package", None)
    return package.name if package is not None else generalizer.kind


@dataclass(frozen=True)
class ChooserEntry:
    """One generalizer as the chooser lists it."""

    generalizer: Generalizer
    evidence: Evidence
    recommended: bool
    group: str  # "Recommended", the method ("Histogram matching", "UNIT"...) or "UNIT: experimental"

    @property
    def experimental(self) -> bool:
        return self.evidence.experimental


_METHODS = {"histogram": "Histogram matching", "universal": "Universal", "unit": "UNIT",
            "cyclegan": "CycleGAN"}


def chooser_entries(generalizers: list[Generalizer]) -> list[ChooserEntry]:
    """The recommended default first, then the rest grouped by method; packages that miss the
    evidence bar (``generalizers/evidence.py``) after them, also by method, never the default."""
    evidence = {g.name: evidence_for(g) for g in generalizers}
    best = recommend(generalizers, evidence)
    methods = list(_METHODS)

    def entry(g: Generalizer) -> ChooserEntry:
        method = _METHODS.get(g.kind, g.kind)
        group = ("Recommended" if g is best else f"{method}: experimental"
                 if evidence[g.name].experimental else method)
        return ChooserEntry(g, evidence[g.name], g is best, group)

    def key(e: ChooserEntry) -> tuple:
        kind = e.generalizer.kind
        return (not e.recommended, e.experimental,
                methods.index(kind) if kind in methods else len(methods), kind,
                e.evidence.worst_auc_gap)

    return sorted((entry(g) for g in generalizers), key=key)


def select_generalizer(generalizers: list[Generalizer], method: str | None) -> Generalizer:
    """Pick by package name or display name (case-insensitive), or by method (``histogram``,
    ``cyclegan``, ``unit``...: the best-measured of that method); None = the recommended one."""
    entries = chooser_entries(generalizers)
    if method is None:
        if not entries:
            raise LookupError("no generalizer installed")
        return entries[0].generalizer
    wanted = method.strip().lower()
    for e in entries:
        if wanted in (e.generalizer.name.lower(), package_name(e.generalizer).lower()):
            return e.generalizer
    for e in entries:
        if e.generalizer.kind.lower() == wanted or (wanted == "histogram-matching"
                                                    and e.generalizer.kind == "histogram"):
            return e.generalizer
    known = sorted({g.kind for g in generalizers} | {package_name(g) for g in generalizers})
    raise LookupError(f"no generalizer {method!r}; available: {', '.join(known)}")
