"""ImagePane: one image view (ViewBox + ImageItem) with DICOM-viewer mouse conventions.

Wheel zooms, left-drag pans, right-drag changes window/level (reported, not applied: the
shared DisplayModel decides and every pane follows). A second, optional image sits on top,
clipped to the right of a draggable split line (swipe) or shown/hidden (flicker).
Images are row-major float32; levels are set explicitly, never auto-scaled, so that two panes
showing different images with the same levels show real differences.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsRectItem, QLabel, QSizePolicy, QVBoxLayout,
                               QWidget)

from xray_harmonizer.gui.widgets.display_item import DisplayImageItem

pg.setConfigOptions(imageAxisOrder="row-major")

_GREY = np.arange(256, dtype=np.uint8)


def grey_lut(invert: bool = False) -> np.ndarray:
    """The 256-entry grey lookup table every image view uses (white-to-black when inverted)."""
    return _GREY[::-1] if invert else _GREY


class WindowLevelViewBox(pg.ViewBox):
    """ViewBox whose right-drag emits window/level deltas instead of zooming."""

    window_drag = Signal(float, float)  # dx, dy as fractions of the view size

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            delta = ev.pos() - ev.lastPos()
            rect = self.boundingRect()
            self.window_drag.emit(delta.x() / max(rect.width(), 1.0),
                                  delta.y() / max(rect.height(), 1.0))
            return
        super().mouseDragEvent(ev, axis)


class ImagePane(QWidget):
    """A titled image view; see module docstring.

    Signals
    -------
    window_drag(float, float) : right-drag deltas (fractions of the view).
    split_moved(float) : the swipe line moved (image x coordinate).
    """

    window_drag = Signal(float, float)
    split_moved = Signal(float)

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        # A QLabel that may shrink below its text: a graphics LabelItem would make the text
        # width the pane's minimum width and push the image past the pane's edge.
        self.title_label = QLabel(title)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.title_label.setContentsMargins(6, 2, 6, 2)
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.view = WindowLevelViewBox()
        self.graphics.addItem(self.view, row=0, col=0)
        self.image_item = DisplayImageItem()
        self.view.addItem(self.image_item)
        # The swipe overlay: an image inside a rectangle that clips its children.
        self._clip = QGraphicsRectItem()
        self._clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self._clip.setPen(pg.mkPen(None))
        self.top_item = DisplayImageItem()
        self.top_item.setParentItem(self._clip)
        self.view.addItem(self._clip)
        self._clip.setVisible(False)
        self.split_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#ffb000", width=2))
        self.split_line.setVisible(False)
        self.split_line.sigPositionChanged.connect(self._on_split)
        self.view.addItem(self.split_line)
        self.view.window_drag.connect(self.window_drag)
        # A region outline (structure guard) over the image, and a colour scale for maps.
        self.outline_item = pg.ImageItem()
        self.outline_item.setZValue(20)
        self.view.addItem(self.outline_item)
        self.colorbar: pg.ColorBarItem | None = None
        self._shape: tuple[int, int] | None = None
        self._levels: tuple[float, float] = (0.0, 1.0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title_label)
        layout.addWidget(self.graphics)

    # content ----------------------------------------------------------------------------
    def set_title(self, text: str) -> None:
        self.title_label.setText(text)
        self.title_label.setToolTip(text)

    @property
    def title(self) -> str:
        return self.title_label.text()

    def set_image(self, pixels: np.ndarray | None, *, levels: tuple[float, float] | None = None,
                  full_shape: tuple[int, int] | None = None, fit: bool = False) -> None:
        """Show ``pixels`` (row-major). ``full_shape`` stretches a low-resolution map (SSIM) over
        the full image's extent so that it lines up with the other panes. ``fit`` resets the view
        (linked panes follow, so only the leading pane should fit)."""
        if pixels is None:
            self.image_item.clear()
            self.top_item.clear()
            self._shape = None
            return
        shape = full_shape or pixels.shape
        self.image_item.setImage(pixels, levels=levels or self._levels, autoLevels=False)
        self.image_item.setRect(QRectF(0, 0, shape[1], shape[0]))
        self._shape = (int(shape[0]), int(shape[1]))
        self._clip.setRect(self._clip_rect())
        if fit:
            self.fit()

    def set_top_image(self, pixels: np.ndarray | None) -> None:
        """The image laid over the base one in swipe/flicker modes."""
        if pixels is None:
            self.top_item.clear()
            return
        self.top_item.setImage(pixels, levels=self._levels, autoLevels=False)

    def set_levels(self, low: float, high: float) -> None:
        self._levels = (low, high)
        if self.image_item.image is not None:
            self.image_item.setLevels(self._levels)
        if self.top_item.image is not None:
            self.top_item.setLevels(self._levels)

    def set_colormap(self, name: str | None, *, invert: bool = False) -> None:
        """A named pyqtgraph colormap (difference/SSIM maps) or grey, optionally inverted."""
        if name:
            lut = pg.colormap.get(name).getLookupTable(nPts=256)
        else:
            lut = grey_lut(invert)
        self.image_item.setLookupTable(lut)
        self.top_item.setLookupTable(lut)

    def set_colorbar(self, name: str | None, levels: tuple[float, float] = (0.0, 1.0),
                     label: str = "") -> None:
        """A colour scale beside the image for a named colormap (None hides it)."""
        if name is None:
            if self.colorbar is not None:
                self.colorbar.setVisible(False)
            return
        if self.colorbar is None:
            self.colorbar = pg.ColorBarItem(values=levels, colorMap=name, interactive=False,
                                            width=14)
            self.graphics.addItem(self.colorbar, row=0, col=1)
        self.colorbar.setColorMap(pg.colormap.get(name))
        self.colorbar.setLevels(levels)
        self.colorbar.axis.setLabel(label)
        self.colorbar.setVisible(True)

    def set_outline(self, boundary: np.ndarray | None) -> None:
        """Draw a bool boundary mask (any resolution, stretched over the image) in amber."""
        if boundary is None or self._shape is None or not boundary.any():
            self.outline_item.clear()
            return
        rgba = np.zeros(boundary.shape + (4,), np.uint8)
        rgba[boundary] = (255, 176, 0, 255)
        self.outline_item.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.outline_item.setRect(QRectF(0, 0, self._shape[1], self._shape[0]))

    # swipe / flicker --------------------------------------------------------------------
    def set_swipe(self, enabled: bool) -> None:
        self._clip.setVisible(enabled)
        self.split_line.setVisible(enabled)
        if enabled and self._shape is not None:
            self.split_line.setValue(self._shape[1] / 2)
            self._clip.setRect(self._clip_rect())

    def set_top_visible(self, visible: bool) -> None:
        """Flicker: show the top image over the whole base image (no split)."""
        self.split_line.setVisible(False)
        self._clip.setVisible(visible)
        if self._shape is not None:
            self._clip.setRect(QRectF(0, 0, self._shape[1], self._shape[0]))

    def _clip_rect(self) -> QRectF:
        if self._shape is None:
            return QRectF()
        h, w = self._shape
        x = float(np.clip(self.split_line.value(), 0, w)) if self.split_line.isVisible() else 0.0
        return QRectF(x, 0, w - x, h)

    def _on_split(self) -> None:
        self._clip.setRect(self._clip_rect())
        self.split_moved.emit(float(self.split_line.value()))

    # view -------------------------------------------------------------------------------
    def fit(self) -> None:
        if self._shape is not None:
            h, w = self._shape
            self.view.setRange(QRectF(0, 0, w, h), padding=0.02)

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred on the current view centre."""
        if self._shape is None:
            return
        rect = self.view.sceneBoundingRect()
        ratio = self.view.devicePixelRatioF() if hasattr(self.view, "devicePixelRatioF") else 1.0
        cx, cy = self.view.viewRect().center().x(), self.view.viewRect().center().y()
        w, h = rect.width() * ratio, rect.height() * ratio
        self.view.setRange(QRectF(cx - w / 2, cy - h / 2, w, h), padding=0)

