"""Data: the site's folder, scanned in the background; thumbnails, what is left out and why, the
minimum count (the page holds the user until it is met) and the share of patients held out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListView,
                               QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSpinBox)

from training.sitefit.scan import ScanResult, scan_folder
from xray_harmonizer.gui.wizard.base import StatePage
from xray_harmonizer.gui.wizard.state import WizardState
from xray_harmonizer.gui.workers import JobRunner


def gray_pixmap(pixels: np.ndarray) -> QPixmap:
    """uint8 HxW -> QPixmap (the QImage is copied, so the array may go)."""
    arr = np.ascontiguousarray(pixels)
    h, w = arr.shape
    return QPixmap.fromImage(QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy())


class DataPage(StatePage):
    def __init__(self, state: WizardState, runner: JobRunner) -> None:
        super().__init__(state, "Your site's images",
                         "Choose the folder with this site's chest X-rays (DICOM, PNG or JPEG; "
                         "sub-folders are searched). No labels are needed.")
        self.runner = runner
        self.scanning = False
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder of the site's images")
        self.folder.editingFinished.connect(lambda: self.scan(self.folder.text()))
        browse = QPushButton("Choose folder…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.body.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.body.addWidget(self.progress)
        self.summary = QLabel(f"At least {state.min_images} usable images are needed.")
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(96, 96))
        self.thumbs.setFixedHeight(130)
        self.thumbs.setFlow(QListView.Flow.LeftToRight)
        self.thumbs.setWrapping(False)
        self.body.addWidget(self.thumbs)
        self.body.addWidget(QLabel("Left out, and why:"))
        self.refused = QListWidget()
        self.body.addWidget(self.refused, 1)
        hold = QHBoxLayout()
        hold.addWidget(QLabel("Hold out for the evaluation (never trained on):"))
        self.holdout = QSpinBox()
        self.holdout.setRange(10, 50)
        self.holdout.setSuffix(" % of the patients")
        self.holdout.setValue(int(round(state.holdout * 100)))
        self.holdout.valueChanged.connect(self._on_holdout)
        hold.addWidget(self.holdout)
        hold.addStretch(1)
        self.body.addLayout(hold)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Site folder", self.folder.text())
        if path:
            self.folder.setText(path)
            self.scan(path)

    def _on_holdout(self, value: int) -> None:
        self.state.set(holdout=value / 100.0)
        self._show_summary()

    def scan(self, path: str) -> None:
        """Scan ``path`` in a worker; a new scan replaces a running one."""
        if not path:
            return
        folder = Path(path)
        if self.state.site == folder and (self.scanning or self.state.scan is not None):
            return
        self.folder.setText(str(folder))
        self.state.set(site=folder, scan=None)
        self.scanning = True
        self.thumbs.clear()
        self.refused.clear()
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.summary.setText("Scanning…")
        self.completeChanged.emit()

        def job(report, cancelled) -> ScanResult:
            return scan_folder(folder, cancelled=cancelled,
                               progress=lambda done, total: report(
                                   100 * done // max(total, 1), f"{done}/{total}"))

        self.runner.start("wizard_scan", job, on_result=self._on_scan,
                          on_error=self._on_error, on_progress=self._on_progress)

    def _on_progress(self, pct: int, msg: str) -> None:
        self.progress.setValue(pct)
        self.summary.setText(f"Scanning… {msg} files")

    def _on_error(self, msg: str) -> None:
        self.scanning = False
        self.progress.setVisible(False)
        self.summary.setText(f"Could not scan the folder: {msg}")
        self.completeChanged.emit()

    def _on_scan(self, result: ScanResult) -> None:
        if result.folder != self.state.site:
            return  # a scan of a folder the user has since left
        self.scanning = False
        self.progress.setVisible(False)
        for path, pixels in result.thumbnails:
            item = QListWidgetItem(QIcon(gray_pixmap(pixels)), "")
            item.setToolTip(path.name)
            self.thumbs.addItem(item)
        for refusal in result.refused:
            self.refused.addItem(str(refusal))
        self.state.set(scan=result)
        self._show_summary()
        self.completeChanged.emit()

    def _show_summary(self) -> None:
        scan = self.state.scan
        if scan is None:
            return
        n, need = len(scan.accepted), self.state.min_images
        left = ", ".join(f"{v} {k}" for k, v in scan.refused_by_reason().items())
        text = (f"{n} usable images of {scan.patients} patients"
                + (f"; left out: {left}" if left else "; nothing left out") + ".")
        if n < need:
            text += f"  At least {need} usable images are needed: choose another folder."
        else:
            held = max(1, round(self.state.holdout * scan.patients))
            text += f"  About {held} patients' images will be held out for the evaluation."
        self.summary.setText(text)
        self.summary.setStyleSheet("" if n >= need else "color: #d9534f")

    def isComplete(self) -> bool:  # noqa: N802
        scan = self.state.scan
        return (not self.scanning and scan is not None and scan.patients >= 2
                and len(scan.accepted) >= self.state.min_images)

    def cleanupPage(self) -> None:  # noqa: N802
        self.runner.cancel_named("wizard_scan")
