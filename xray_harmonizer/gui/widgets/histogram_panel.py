"""HistogramPanel: original, harmonized and reference-site histograms overlaid.

The shaded region is the display window; dragging its edges sets the window on the shared
DisplayModel (two-way binding), so the histograms follow window changes made anywhere.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from xray_harmonizer.gui.viewmodels.display import DisplayModel

COLOURS = {"original": "#4fa3ff", "harmonized": "#ff8c42", "reference": "#7ee081"}


class HistogramPanel(QWidget):
    """See module docstring. Histograms are probability vectors over [0, 1] (any bin count)."""

    def __init__(self, display: DisplayModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("bottom", "intensity in the body region (0 = black, 1 = white)")
        self.plot.setLabel("left", "fraction of pixels")
        self.plot.addLegend(offset=(-10, 10))
        self.curves = {}
        for key, colour in COLOURS.items():
            fill = pg.mkBrush(colour + "38") if key == "original" else None
            self.curves[key] = self.plot.plot(
                [0, 1], [0], stepMode="center", pen=pg.mkPen(colour, width=2),
                fillLevel=0 if fill else None, brush=fill, name=key.capitalize())
        self.window_region = pg.LinearRegionItem(values=display.levels, movable=True,
                                                 brush=pg.mkBrush(255, 255, 255, 18))
        self.window_region.setZValue(-10)
        self.plot.addItem(self.window_region)
        self.window_region.sigRegionChangeFinished.connect(self._region_moved)
        display.levels_changed.connect(self._on_levels)
        self.plot.setXRange(0, 1, padding=0.01)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._updating = False

    def set_histogram(self, key: str, hist: np.ndarray | None) -> None:
        """Show (or hide with None) one of ``original``, ``harmonized``, ``reference``."""
        curve = self.curves[key]
        if hist is None:
            curve.setData([0, 1], [0])
            curve.setVisible(False)
            return
        hist = np.asarray(hist, dtype=np.float64)
        edges = np.linspace(0.0, 1.0, hist.size + 1)
        curve.setData(edges, hist)
        curve.setVisible(True)

    def visible_keys(self) -> list[str]:
        return [k for k, c in self.curves.items() if c.isVisible()]

    def _on_levels(self, low: float, high: float) -> None:
        self._updating = True
        self.window_region.setRegion((low, high))
        self._updating = False

    def _region_moved(self) -> None:
        if self._updating:
            return
        low, high = self.window_region.getRegion()
        self.display.set_window((low + high) / 2, high - low)
