"""Reference: the site the classifier was trained on (bundled), or another site's folder, whose
profile is built during training and whose id the user gives."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QFileDialog, QGridLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton)

from training.sitefit.job import BUNDLED
from xray_harmonizer.gui.wizard.base import StatePage
from xray_harmonizer.gui.wizard.state import WizardState

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def bundled_site_id() -> str:
    from xray_harmonizer.reference.profile import load_profile

    try:
        return load_profile().site_id
    except Exception as exc:  # a damaged install: say so on the page, keep the wizard usable
        return f"unavailable ({exc})"


class ReferencePage(StatePage):
    def __init__(self, state: WizardState) -> None:
        super().__init__(state, "Reference site",
                         "Your images will be made to look like this site's: the one the "
                         "classifier was trained on, unless you have another.")
        self.bundled = QRadioButton(f"The bundled reference site: {bundled_site_id()} "
                                    "(the installed classifier's training site)")
        self.other = QRadioButton("Another site: a folder of its images")
        group = QButtonGroup(self)
        group.addButton(self.bundled)
        group.addButton(self.other)
        self.bundled.setChecked(state.reference == BUNDLED)
        self.other.setChecked(state.reference != BUNDLED)
        grid = QGridLayout()
        grid.addWidget(self.bundled, 0, 0, 1, 3)
        grid.addWidget(QLabel("    Its images (CycleGAN and UNIT learn from them):"), 1, 0)
        self.images = QLineEdit(str(state.reference_images or ""))
        self.images.setPlaceholderText("folder of the reference site's images")
        grid.addWidget(self.images, 1, 1)
        grid.addWidget(self._browse(self.images), 1, 2)
        grid.addWidget(self.other, 2, 0, 1, 3)
        grid.addWidget(QLabel("    Folder:"), 3, 0)
        self.folder = QLineEdit()
        grid.addWidget(self.folder, 3, 1)
        grid.addWidget(self._browse(self.folder), 3, 2)
        grid.addWidget(QLabel("    Its id (shown in the chooser):"), 4, 0)
        self.site_id = QLineEdit()
        self.site_id.setPlaceholderText("e.g. hospital-a-2025")
        grid.addWidget(self.site_id, 4, 1)
        self.body.addLayout(grid)
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #d9534f")
        self.problem.setWordWrap(True)
        self.body.addWidget(self.problem)
        self.body.addStretch(1)
        for w in (self.images, self.folder, self.site_id):
            w.textChanged.connect(self._update)
        group.buttonToggled.connect(lambda *_: self._update())
        self._update()

    def _browse(self, target: QLineEdit) -> QPushButton:
        button = QPushButton("Choose…")

        def pick() -> None:
            path = QFileDialog.getExistingDirectory(self, "Reference images", target.text())
            if path:
                target.setText(path)

        button.clicked.connect(pick)
        return button

    def _update(self) -> None:
        images = self.images.text().strip()
        if self.bundled.isChecked():
            self.state.set(reference=BUNDLED, reference_id="",
                           reference_images=Path(images) if images else None)
        else:
            self.state.set(reference=self.folder.text().strip(),
                           reference_id=self.site_id.text().strip())
        self.problem.setText(self._problem() or "")
        self.completeChanged.emit()

    def _problem(self) -> str | None:
        if self.bundled.isChecked():
            images = self.images.text().strip()
            if images and not Path(images).is_dir():
                return f"{images} is not a folder."
            if not images:
                return "Without the reference images only the histogram profile can be fitted."
            return None
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            return "Choose the reference site's folder."
        if not _ID.match(self.site_id.text().strip()):
            return "Give the reference site an id: letters, digits, '.', '_' or '-'."
        if self.state.site is not None and Path(folder).resolve() == self.state.site.resolve():
            return "The reference cannot be the site itself."
        return None

    def isComplete(self) -> bool:  # noqa: N802
        problem = self._problem()
        return problem is None or problem.startswith("Without the reference images")
