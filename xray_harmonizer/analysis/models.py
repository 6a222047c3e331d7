"""What the app loads once: the reference profile, the generalizers and the classifier.

A missing or damaged part must not stop the app, so each loader returns the thing or an
:class:`Unavailable` whose ``reason`` the UI shows as is. No Qt here (runs in a worker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xray_harmonizer.analysis.measure import DISPLAY_BINS
from xray_harmonizer.classifier import ClassifierModel
from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.generalizers.registry import discover_generalizers
from xray_harmonizer.models.discovery import bundled_models_dir, discover_packages, user_models_dir
from xray_harmonizer.reference.profile import ReferenceProfile, load_profile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unavailable:
    """A part that could not be loaded; ``reason`` is shown to the user as is."""

    reason: str


def reference_profile() -> ReferenceProfile | Unavailable:
    """The default reference-site profile."""
    try:
        return load_profile()
    except Exception as exc:  # a missing or damaged profile file must not stop the app
        log.warning("reference profile unavailable: %s", exc)
        return Unavailable(f"reference profile unavailable: {exc}")


def _folders(model_folder: str | None) -> list[Path]:
    folders = [bundled_models_dir(), user_models_dir()]
    return folders + [Path(model_folder)] if model_folder else folders


def available_generalizers(*, model_folder: str | None = None, working_size: int | None = None,
                           use_gpu: bool | None = None) -> tuple[list[Generalizer], list[str]]:
    """Every installed generalizer and the reasons others were refused."""
    try:
        gens, refused = discover_generalizers(None, _folders(model_folder),
                                              working_size=working_size, use_gpu=use_gpu)
    except Exception as exc:  # e.g. the reference profile is missing: say so, keep running
        log.warning("generalizer discovery failed: %s", exc)
        return [], [f"no generalizer available: {exc}"]
    return list(gens), [str(e) for e in refused]


def load_classifier(*, model_folder: str | None = None,
                    use_gpu: bool | None = None) -> ClassifierModel | Unavailable:
    """The first installed classifier package as a model."""
    packages, errors = discover_packages(_folders(model_folder), kind="classifier")
    if not packages:
        reason = "; ".join(str(e) for e in errors) if errors else "no classifier installed"
        return Unavailable(reason)
    try:
        return ClassifierModel(packages[0], use_gpu=use_gpu)
    except Exception as exc:  # a broken package is reported, the app keeps running
        log.warning("classifier failed to load: %s", exc)
        return Unavailable(f"classifier failed to load: {exc}")


def reference_histogram(profile: ReferenceProfile | None, bins: int = DISPLAY_BINS
                        ) -> np.ndarray | None:
    """The profile's body-region histogram re-binned to ``bins`` (sums to 1), or None."""
    if profile is None:
        return None
    hist = np.asarray(profile.body_histogram, dtype=np.float64)
    if hist.size % bins == 0:
        hist = hist.reshape(bins, -1).sum(axis=1)
    total = hist.sum()
    return hist / total if total > 0 else hist
