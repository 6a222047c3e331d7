"""The training wizard: Data -> Reference -> Method -> Training -> Evaluation -> Finish.

Every page shows the one ``xray-harmonizer train site`` command that does the same; the
training itself runs that command in a child process (see training/sitefit/job.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QApplication, QWidget, QWizard

from xray_harmonizer.gui.wizard.data_page import DataPage
from xray_harmonizer.gui.wizard.evaluation_page import EvaluationPage
from xray_harmonizer.gui.wizard.finish_page import FinishPage
from xray_harmonizer.gui.wizard.method_page import MethodPage
from xray_harmonizer.gui.wizard.reference_page import ReferencePage
from xray_harmonizer.gui.wizard.state import WizardState
from xray_harmonizer.gui.wizard.training_page import TrainingPage
from xray_harmonizer.gui.workers import JobRunner


class TrainingWizard(QWizard):
    """``installed(path)`` is emitted when a package was installed (the main window reloads)."""

    installed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, runs_dir: Path | None = None,
                 models_dir: Path | None = None, min_images: int | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a generalizer for your site")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.resize(1100, 780)
        kwargs: dict[str, Any] = {} if min_images is None else {"min_images": min_images}
        self.state = WizardState(runs_dir, models_dir, parent=self, **kwargs)
        self.runner = JobRunner(self)
        self.data_page = DataPage(self.state, self.runner)
        self.reference_page = ReferencePage(self.state)
        self.method_page = MethodPage(self.state, self.runner)
        self.training_page = TrainingPage(self.state)
        self.evaluation_page = EvaluationPage(self.state, self.runner)
        self.finish_page = FinishPage(self.state)
        for page in (self.data_page, self.reference_page, self.method_page, self.training_page,
                     self.evaluation_page, self.finish_page):
            self.addPage(page)
        self.finished.connect(self._on_finished)

    def _on_finished(self, _result: int) -> None:
        self.training_page.stop()
        self.method_page.stop_estimate()
        self.runner.shutdown(2000)
        if self.state.installed is not None:
            self.installed.emit(str(self.state.installed))

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.training_page.stop()
        super().closeEvent(event)


def open_training_wizard(win: Any) -> TrainingWizard:
    """Menu entry of the main window: open the wizard (non-modal) and reload the window's
    models when it installs a package, so the new model is in the chooser at once."""
    wizard = TrainingWizard(win)
    wizard.installed.connect(lambda _path: win.harm.reload_models(win.settings))
    # Quitting the app stops a running training (it stays resumable from its checkpoint)
    # rather than leaving an orphan process working on.
    QApplication.instance().aboutToQuit.connect(wizard.training_page.stop)
    wizard.show()
    return wizard
