"""Entry point of the desktop application: ``run(paths) -> exit code``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from xray_harmonizer.resources import resources_dir

log = logging.getLogger(__name__)


def sample_study_path() -> Path:
    """The bundled sample study (``resources/samples/``)."""
    return resources_dir() / "samples"


def create_window(paths: list[str] | None = None, store=None):
    """Build the QApplication (if needed) and a MainWindow opened on ``paths`` or the sample."""
    from PySide6.QtWidgets import QApplication

    from xray_harmonizer.gui.settings import SettingsStore
    from xray_harmonizer.gui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("X-Ray Harmonizer")
    app.setOrganizationName("xray-harmonizer")
    store = store or SettingsStore()
    apply_theme(app, store.load().theme)
    from xray_harmonizer.gui.main_window import MainWindow  # after the theme: pyqtgraph colours

    window = MainWindow(store)
    targets = [str(p) for p in (paths or [])]
    if not targets:
        sample = sample_study_path()
        if sample.is_dir() and any(sample.glob("*.dcm")):
            targets = [str(sample)]
    window.open_initial(targets)
    return app, window


def run(paths: list[str], *, store=None) -> int:
    """Open the main window on ``paths`` (files or folders; the bundled sample if empty).

    Returns the event loop's exit code. ``store`` (a SettingsStore) is for tests.
    """
    app, window = create_window(paths, store=store)
    window.show()
    code = int(app.exec())
    # Delete the window while Qt is still alive: left to interpreter shutdown, PySide6 and
    # pyqtgraph items can be torn down in the wrong order and abort the process.
    window.deleteLater()
    app.processEvents()
    del window
    import gc
    gc.collect()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1:]))
