"""Shared data for the widget examples: the first bundled sample, harmonized once."""

from __future__ import annotations

import functools

from xray_harmonizer.gui import analysis, backend
from xray_harmonizer.gui.app import sample_study_path


@functools.lru_cache(maxsize=1)
def sample_entry() -> analysis.StudyEntry:
    images, _ = backend.open_study(sample_study_path())
    return analysis.prepare_study_image(images[0])


@functools.lru_cache(maxsize=1)
def sample_result() -> analysis.HarmonizeResult:
    gens, notes = backend.available_generalizers()
    if not gens:
        raise RuntimeError("no generalizer installed: " + "; ".join(notes))
    return analysis.harmonize_and_measure(sample_entry(), gens[0], backend.reference_profile(),
                                          backend.load_classifier(), lambda p, m: None,
                                          lambda: False)


def run(widget) -> int:
    """Show ``widget`` and run the event loop (what ``python examples/<name>.py`` does)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    widget.resize(1000, 700)
    widget.show()
    return app.exec()
