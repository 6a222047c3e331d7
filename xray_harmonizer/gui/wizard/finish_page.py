"""Finish: name the model; on Finish the package (ONNX + manifest naming the site, the reference,
the data counts and the evaluation figures) is installed in the user's model folder, where the
main window's chooser lists it at once and after a restart."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit

from training.sitefit.install import check_name, install_package
from training.sitefit.service import site_record
from xray_harmonizer.models.package import PackageError
from xray_harmonizer.gui.wizard.base import StatePage
from xray_harmonizer.gui.wizard.state import WizardState


class FinishPage(StatePage):
    def __init__(self, state: WizardState) -> None:
        super().__init__(state, "Name and install",
                         "The model is installed for this user and appears in the "
                         "generalizer chooser of the main window.")
        row = QHBoxLayout()
        row.addWidget(QLabel("Name:"))
        self.name = QLineEdit()
        self.name.setObjectName("model_name")
        self.name.textChanged.connect(self._changed)
        row.addWidget(self.name, 1)
        self.body.addLayout(row)
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #d9534f")
        self.problem.setWordWrap(True)
        self.body.addWidget(self.problem)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        self.body.addStretch(1)
        self.setFinalPage(True)

    def _models_dir(self):
        from xray_harmonizer.models.discovery import user_models_dir

        return self.state.models_dir or user_models_dir()

    def initializePage(self) -> None:  # noqa: N802
        s = self.state
        if not self.name.text():
            self.name.setText(f"{s.site.name if s.site else 'site'}-{s.method}-{s.preset}")
        ev = s.evaluation
        if s.method == "histogram":
            self.summary.setText(
                "Histogram matching needs no package: the app's 'Histogram matching' entry "
                "already maps to the reference profile. Finish closes the wizard.")
        else:
            self.summary.setText(
                f"Site: {s.site}\nReference: {s.reference_id or 'bundled'}\n"
                f"Evaluation: {ev.verdict() if ev else 'not run'}\n"
                f"Installed into: {self._models_dir()}")
        self._changed()

    def _changed(self) -> None:
        self.state.set(name=self.name.text().strip())
        self.problem.setText(self._problem() or "")
        self.completeChanged.emit()

    def _problem(self) -> str | None:
        if self.state.method == "histogram":
            return None
        return check_name(self.name.text().strip(), self._models_dir())

    def isComplete(self) -> bool:  # noqa: N802
        return self._problem() is None

    def validatePage(self) -> bool:  # noqa: N802
        """Install on Finish; an error stays on the page (nothing half-installed)."""
        s = self.state
        if s.method == "histogram":
            return True
        try:
            plan = json.loads((s.run_dir / "plan.json").read_text(encoding="utf-8"))
            target = install_package(
                s.run_dir / "package", s.name,
                site=site_record(s.site, plan, s.method, s.preset),
                evaluation=s.evaluation.figures() if s.evaluation else {},
                models_dir=self._models_dir())
        except (OSError, ValueError, PackageError) as exc:
            self.problem.setText(f"Could not install: {exc}")
            return False
        s.set(installed=target)
        return True
