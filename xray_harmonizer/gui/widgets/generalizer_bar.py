"""GeneralizerBar: choose a generalizer, Harmonize, auto-harmonize, compare all, progress/cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QWidget)


class GeneralizerBar(QWidget):
    """Signals: ``chosen(int)``, ``harmonize()``, ``auto_toggled(bool)``, ``compare_all()``,
    ``cancel()``."""

    chosen = Signal(int)
    harmonize = Signal()
    auto_toggled = Signal(bool)
    compare_all = Signal()
    cancel = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumWidth(320)
        self.combo.setPlaceholderText("loading generalizers…")
        self.reference = QLabel("")
        self.harmonize_button = QPushButton("Harmonize")
        self.harmonize_button.setToolTip("Harmonize the shown image (Ctrl+H)")
        self.harmonize_button.setDefault(True)
        self.auto = QCheckBox("Auto")
        self.auto.setToolTip("Harmonize automatically when the image or the generalizer changes")
        self.compare_button = QPushButton("Compare all")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Generalizer:"))
        layout.addWidget(self.combo)
        layout.addWidget(self.reference)
        layout.addWidget(self.harmonize_button)
        layout.addWidget(self.auto)
        layout.addWidget(self.compare_button)
        layout.addStretch(1)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        self._updating = False
        self.combo.currentIndexChanged.connect(self._on_index)
        self.harmonize_button.clicked.connect(self.harmonize)
        self.auto.toggled.connect(self.auto_toggled)
        self.compare_button.clicked.connect(self.compare_all)
        self.cancel_button.clicked.connect(self.cancel)

    def set_generalizers(self, labels: list[str], sites: list[str]) -> None:
        self._updating = True
        self.combo.clear()
        self._sites = sites
        for label in labels:
            self.combo.addItem(label)
        if not labels:
            self.combo.setPlaceholderText("no generalizer installed")
        self._updating = False
        self.harmonize_button.setEnabled(bool(labels))
        self.compare_button.setEnabled(bool(labels))

    def set_current(self, index: int) -> None:
        self._updating = True
        self.combo.setCurrentIndex(index)
        sites = getattr(self, "_sites", [])
        self.reference.setText(f"reference site: {sites[index]}" if 0 <= index < len(sites)
                               else "")
        self._updating = False

    def set_auto(self, value: bool) -> None:
        self.auto.blockSignals(True)
        self.auto.setChecked(value)
        self.auto.blockSignals(False)

    def set_progress(self, percent: int, message: str) -> None:
        self.progress.setValue(percent)
        self.progress.setFormat(f"{message} %p%")

    def set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setValue(0)

    def _on_index(self, index: int) -> None:
        if not self._updating and index >= 0:
            self.chosen.emit(index)
