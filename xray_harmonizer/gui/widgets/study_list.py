"""StudyList: thumbnails and basic metadata of the opened images (never the patient's name)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from xray_harmonizer.analysis.study import THUMB_SIZE, StudyEntry


def _summary(entry: StudyEntry) -> str:
    m = entry.image.meta
    h, w = entry.image.shape
    parts = [f"{w}×{h}", f"{m.bits_stored}-bit", (m.modality or m.format).upper()]
    if m.photometric == "MONOCHROME1":
        parts.append("MONO1")
    if m.pixel_spacing_mm:
        parts.append(f"{m.pixel_spacing_mm[0]:.3g} mm")
    return f"{entry.title}\n" + " · ".join(parts)


def thumbnail_icon(entry: StudyEntry) -> QIcon:
    t = entry.thumbnail
    qimg = QImage(t.data, t.shape[1], t.shape[0], t.strides[0], QImage.Format.Format_Grayscale8)
    return QIcon(QPixmap.fromImage(qimg.copy()))  # copy: the numpy buffer is not owned by Qt


class StudyList(QWidget):
    """Emits ``selected(int)`` when the user picks an image."""

    selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.list.setSpacing(4)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.currentRowChanged.connect(self._on_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        self._updating = False

    def set_entries(self, entries: list[StudyEntry]) -> None:
        self._updating = True
        self.list.clear()
        for entry in entries:
            item = QListWidgetItem(thumbnail_icon(entry), _summary(entry))
            item.setToolTip("\n".join(f"{k}: {v}" for k, v in entry.info.items()
                                      if "patient" not in str(k).lower()))
            self.list.addItem(item)
        self._updating = False

    def set_current(self, index: int) -> None:
        self._updating = True
        self.list.setCurrentRow(index)
        self._updating = False

    def _on_row(self, row: int) -> None:
        if not self._updating and row >= 0:
            self.selected.emit(row)
