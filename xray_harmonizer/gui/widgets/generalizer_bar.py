"""GeneralizerBar: choose a generalizer, Harmonize, auto-harmonize, compare all, progress/cancel."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSizePolicy, QWidget)


class ChooserItem(Protocol):
    """What the bar shows per generalizer (``viewmodels.harmonize.GeneralizerInfo``)."""

    name: str
    reference_site: str
    group: str

    @property
    def label(self) -> str: ...

    @property
    def tooltip(self) -> str: ...


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
        # Long package names must not widen the window: the combo's size follows a fixed
        # number of characters, the popup shows the full names.
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(26)
        self.combo.view().setMinimumWidth(560)
        self.combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.combo.setPlaceholderText("loading generalizers…")
        self.harmonize_button = QPushButton("Harmonize")
        self.harmonize_button.setToolTip("Harmonize the shown image (Ctrl+H)")
        self.harmonize_button.setDefault(True)
        self.auto = QCheckBox("Auto")
        self.auto.setToolTip("Harmonize automatically when the image or the generalizer changes")
        self.compare_button = QPushButton("Compare all")
        # The step text gets the bar's free width (elided, full text in the tooltip) instead of
        # being squeezed into the progress bar; the bar and Cancel keep their room while hidden,
        # so starting a job never widens the window.
        self.progress_label = QLabel("")
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(120)
        self.progress.setFormat("%p%")
        self.cancel_button = QPushButton("Cancel")
        for widget in (self.progress_label, self.progress, self.cancel_button):
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
            widget.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Generalizer:"))
        layout.addWidget(self.combo)
        layout.addWidget(self.harmonize_button)
        layout.addWidget(self.auto)
        layout.addWidget(self.compare_button)
        layout.addWidget(self.progress_label, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        self._updating = False
        self.combo.currentIndexChanged.connect(self._on_index)
        self.harmonize_button.clicked.connect(self.harmonize)
        self.auto.toggled.connect(self.auto_toggled)
        self.compare_button.clicked.connect(self.compare_all)
        self.cancel_button.clicked.connect(self.cancel)

    def set_generalizers(self, items: list[ChooserItem]) -> None:
        """One row per generalizer in the given order (index = the model's index), prefixed by
        its group; the tooltip gives what it was fitted to and its protocol figures;
        experimental ones are greyed."""
        self._updating = True
        self.combo.clear()
        for row, item in enumerate(items):
            self.combo.addItem(f"{item.group} — {item.label}")
            self.combo.setItemData(row, item.tooltip, Qt.ItemDataRole.ToolTipRole)
            if item.group.endswith("experimental"):
                self.combo.setItemData(row, QBrush(QColor("#9a9a9a")),
                                       Qt.ItemDataRole.ForegroundRole)
        if not items:
            self.combo.setPlaceholderText("no generalizer installed")
        self._updating = False
        self.harmonize_button.setEnabled(bool(items))
        self.compare_button.setEnabled(bool(items))

    def set_current(self, index: int) -> None:
        self._updating = True
        self.combo.setCurrentIndex(index)
        self.combo.setToolTip(self.combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
                              if index >= 0 else "")
        self._updating = False

    def set_auto(self, value: bool) -> None:
        self.auto.blockSignals(True)
        self.auto.setChecked(value)
        self.auto.blockSignals(False)

    def set_progress(self, percent: int, message: str) -> None:
        self.progress.setValue(percent)
        self.progress_label.setToolTip(message)
        width = max(self.progress_label.width() - 8, 40)
        self.progress_label.setText(self.progress_label.fontMetrics().elidedText(
            message, Qt.TextElideMode.ElideMiddle, width))

    def set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.progress_label.setVisible(busy)
        if busy:
            self.progress.setValue(0)
        else:
            self.progress_label.setText("")

    def _on_index(self, index: int) -> None:
        if not self._updating and index >= 0:
            self.chosen.emit(index)
