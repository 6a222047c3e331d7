"""CompareAllView: the original and every generalizer's output in a linked grid with figures."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from xray_harmonizer.analysis import HarmonizeResult
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.display_item import DisplayImageItem
from xray_harmonizer.gui.widgets.image_pane import WindowLevelViewBox, grey_lut
from xray_harmonizer.gui.widgets.view_link import ViewLink


# Below this a chest is not readable: more tiles than fit at this size scroll instead of shrinking.
MIN_TILE_PX = 240
LABEL_PX = 52  # three label lines


def _cell_text(res: HarmonizeResult) -> str:
    ssim = "—" if res.ssim is None else f"{res.ssim:.3f}"
    w1 = "—" if res.w1_harmonized is None else f"{res.w1_harmonized:.4f}"
    prob = ("n/a" if res.domain_reason is not None else
            "—" if res.p_harmonized is None else f"{res.p_harmonized:.0%}")
    flag = ("<br><span style='color:#ffb000'>⚠ anatomy changed</span>"
            if res.structure is not None and not res.structure.kept else "")
    # Short lines: a long single line would widen its grid column past the window.
    return (f"<b>{_elide(res.generalizer)}</b><br>SSIM {ssim} · W1 {w1}<br>"
            f"P {prob} · {res.timings.get('harmonize', 0.0):.2f} s{flag}")


TOOLTIP = ("Every generalizer on this image, linked zoom/pan and window. SSIM: similarity to "
           "the original (0-1, unitless). W1: Wasserstein-1 distance of the body region to the "
           "reference site (intensity units of the [0, 1] image; lower = closer). P: the "
           "classifier's probability of its label (n/a outside its domain). Time: harmonize "
           "seconds. ⚠ anatomy changed: the structure guard flagged the output.")


def _elide(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CompareAllView(QWidget):
    """A grid of linked views sharing the DisplayModel's window."""

    def __init__(self, display: DisplayModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setToolTip(TOOLTIP)
        # Any number of tiles: they keep a readable size and the grid scrolls.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.graphics)
        self.hint = QLabel("Press “Compare all” to run every installed generalizer on this image.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.scroll)
        self._rows = 0
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
            prob = ("n/a" if r.domain_reason is not None else
                    "—" if r.p_original is None else f"{r.p_original:.0%}")
            first = f"<b>Original</b><br>{_elide(entry.title)}<br>W1 {w1} · P {prob}"
        cells: list[tuple[str, np.ndarray]] = [(first, entry.image.pixels)]
        cells += [(_cell_text(r), r.harmonized) for r in results]
        width = max(self.scroll.viewport().width(), MIN_TILE_PX)
        cols = max(1, min(math.ceil(math.sqrt(len(cells))), width // MIN_TILE_PX))
        self._rows = math.ceil(len(cells) / cols)
        self._fit_height()
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

    def _fit_height(self) -> None:
        """Rows that do not fit at MIN_TILE_PX make the grid taller than the view (it scrolls)."""
        need = self._rows * (MIN_TILE_PX + LABEL_PX)
        self.graphics.setMinimumHeight(need if need > self.scroll.viewport().height() else 0)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit_height()

    def _on_levels(self, low: float, high: float) -> None:
        lut = grey_lut(self.display.invert)
        for item in self.images:
            item.setLevels((low, high))
            item.setLookupTable(lut)
