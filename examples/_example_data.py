"""Shared data for the widget examples: the first bundled sample, harmonized once."""

from __future__ import annotations

import functools

from xray_harmonizer.analysis import HarmonizeResult, harmonize_and_measure
from xray_harmonizer.analysis import models
from xray_harmonizer.analysis.study import StudyEntry, prepare_study_image
from xray_harmonizer.gui.app import sample_study_path
from xray_harmonizer.io import open_study


@functools.lru_cache(maxsize=1)
def sample_entry() -> StudyEntry:
    return prepare_study_image(open_study(sample_study_path()).images[0])


@functools.lru_cache(maxsize=1)
def sample_models():
    """(generalizers, profile or None, classifier or None) as installed."""
    gens, notes = models.available_generalizers()
    if not gens:
        raise RuntimeError("no generalizer installed: " + "; ".join(notes))
    profile, clf = models.reference_profile(), models.load_classifier()
    return (gens, None if isinstance(profile, models.Unavailable) else profile,
            None if isinstance(clf, models.Unavailable) else clf)


@functools.lru_cache(maxsize=1)
def sample_result() -> HarmonizeResult:
    gens, profile, clf = sample_models()
    return harmonize_and_measure(sample_entry().prepared, gens[0], profile, clf)


def run(widget) -> int:
    """Show ``widget`` and run the event loop (what ``python examples/<name>.py`` does)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    widget.resize(1000, 700)
    widget.show()
    return app.exec()
