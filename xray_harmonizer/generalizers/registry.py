"""Every generalizer the user can pick: histogram matching plus one per installed model package."""

from __future__ import annotations

import logging
from pathlib import Path

from xray_harmonizer.generalizers.base import Generalizer
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


def select_generalizer(generalizers: list[Generalizer], method: str) -> Generalizer:
    """Pick by kind (``histogram``, ``cyclegan``, ``unit``: the first of that kind) or by name."""
    wanted = method.strip().lower()
    for g in generalizers:
        if g.kind.lower() == wanted or g.name.lower() == wanted:
            return g
    known = sorted({g.kind for g in generalizers} | {g.name for g in generalizers})
    raise LookupError(f"no generalizer {method!r}; available: {', '.join(known)}")
