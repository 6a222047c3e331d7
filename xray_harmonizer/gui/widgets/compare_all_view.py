"""CompareAllView: the original and every generalizer's output in a linked grid with figures."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from xray_harmonizer.analysis import HarmonizeResult
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.display_item import DisplayImageItem
from xray_harmonizer.gui.widgets.image_pane import WindowLevelViewBox, grey_lut
from xray_harmonizer.gui.widgets.view_link import ViewLink


def _cell_text(res: HarmonizeResult) -> str:
    ssim = "—" if res.ssim is None else f"{res.ssim:.3f}"
    w1 = "—" if res.w1_harmonized is None else f"{res.w1_harmonized:.4f}"
    prob = "—" if res.p_harmonized is None else f"{res.p_harmonized:.0%}"
    # Three short lines: a long single line would widen its grid column past the window.
    return (f"<b>{_elide(res.generalizer)}</b><br>SSIM {ssim} · W1 {w1}<br>"
            f"P {prob} · {res.timings.get('harmonize', 0.0):.2f} s")


def _elide(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CompareAllView(QWidget):
    """A grid of linked views sharing the DisplayModel's window."""

    def __init__(self, display: DisplayModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.graphics = pg.GraphicsLayoutWidget()
        self.hint = QLabel("Press “Compare all” to run every installed generalizer on this image.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.graphics)
        self.views: list[WindowLevelViewBox] = []
        self.images: list[pg.ImageItem] = []
        self.labels: list[str] = []
        self.link = ViewLink()
        display.levels_changed.connect(self._on_levels)
        display.invert_changed.connect(lambda _v: self._on_levels(*display.levels))

    def show_results(self, entry: StudyEntry | None, results: list[HarmonizeResult]) -> None:
        self.graphics.clear()
        self.views, self.images, self.labels = [], [], []
        self.link = ViewLink()
        if entry is None:
            return
        first = f"<b>Original</b><br>{_elide(entry.title)}"
        if results:
            r = results[0]
            w1 = "—" if r.w1_original is None else f"{r.w1_original:.4f}"
            prob = "—" if r.p_original is None else f"{r.p_original:.0%}"
            first = f"<b>Original</b><br>{_elide(entry.title)}<br>W1 {w1} · P {prob}"
        cells: list[tuple[str, np.ndarray]] = [(first, entry.image.pixels)]
        cells += [(_cell_text(r), r.harmonized) for r in results]
        cols = max(1, math.ceil(math.sqrt(len(cells))))
        for i, (text, pixels) in enumerate(cells):
            row, col = divmod(i, cols)
            self.graphics.addLabel(text, row=2 * row, col=col)
            view = WindowLevelViewBox()
            view.window_drag.connect(self.display.drag_window)
            item = DisplayImageItem(pixels, levels=self.display.levels)
            view.addItem(item)
            self.graphics.addItem(view, row=2 * row + 1, col=col)
            self.link.add(view)
            self.views.append(view)
            self.images.append(item)
            self.labels.append(text)
        self._on_levels(*self.display.levels)
        h, w = entry.image.shape
        self.views[0].setRange(QRectF(0, 0, w, h), padding=0.02)
        self.link.sync_from(self.views[0])
        self.hint.setVisible(not results)

    def _on_levels(self, low: float, high: float) -> None:
        lut = grey_lut(self.display.invert)
        for item in self.images:
            item.setLevels((low, high))
            item.setLookupTable(lut)
