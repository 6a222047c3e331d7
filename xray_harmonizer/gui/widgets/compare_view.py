"""CompareView: original and harmonized side by side (or swipe / flicker), plus a map pane.

Binds to a :class:`DisplayModel` (levels, invert, mode, overlay, fit, 1:1); every pane's
right-drag goes back to the model, so both images always share one window. Never computes:
the difference and SSIM maps come precomputed in the :class:`HarmonizeResult`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from xray_harmonizer.analysis import HarmonizeResult
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.image_pane import ImagePane
from xray_harmonizer.gui.widgets.view_link import ViewLink
from xray_harmonizer.metrics.structure import outline

DIFF_LEVELS = (-0.25, 0.25)
FLICKER_MS = 600


class CompareView(QWidget):
    """See module docstring."""

    def __init__(self, display: DisplayModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.original = ImagePane("Original")
        self.harmonized = ImagePane("Harmonized")
        self.map_pane = ImagePane("")
        self.link = ViewLink([self.original.view, self.harmonized.view, self.map_pane.view])
        # While the user has not zoomed or panned, keep the image fitted when panes come and go.
        self._fitted = True
        for pane in (self.original, self.harmonized, self.map_pane):
            pane.view.sigRangeChangedManually.connect(self._manual_range)
        self.original.view.sigResized.connect(self._leader_resized)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for pane in (self.original, self.harmonized, self.map_pane):
            layout.addWidget(pane)
            pane.window_drag.connect(display.drag_window)
        self.map_pane.setVisible(False)
        self._entry: StudyEntry | None = None
        self._result: HarmonizeResult | None = None
        self._flicker = QTimer(self)
        self._flicker.setInterval(FLICKER_MS)
        self._flicker.timeout.connect(self._flick)
        self._flicker_on = False
        self._original_title = "Original"
        display.levels_changed.connect(self._on_levels)
        display.invert_changed.connect(self._on_invert)
        display.mode_changed.connect(lambda _m: self._layout_mode())
        display.overlay_changed.connect(lambda _o: self._show_map())
        display.fit_requested.connect(self.fit)
        display.one_to_one_requested.connect(self.one_to_one)

    def fit(self) -> None:
        self.original.fit()
        self.link.sync_from(self.original.view)
        self._fitted = True

    def _manual_range(self, _mask: object) -> None:
        self._fitted = False

    def _leader_resized(self, _view: object) -> None:
        if self._fitted:
            QTimer.singleShot(0, self.fit)  # after the layout settles

    def one_to_one(self) -> None:
        self.original.one_to_one()
        self.link.sync_from(self.original.view)
        self._fitted = False

    # model -> view ----------------------------------------------------------------------
    def set_entry(self, entry: StudyEntry | None) -> None:
        self._entry = entry
        self._result = None
        self.original.set_image(None)
        pixels = entry.image.pixels if entry is not None else None
        self.original.set_image(pixels, levels=self.display.levels)
        if entry is not None:
            self.fit()
        self._original_title = f"Original · {entry.title}" if entry else "Original"
        self.original.set_title(self._original_title)
        self.harmonized.set_image(None)
        self.harmonized.set_title("Harmonized · press Harmonize (Ctrl+H)")
        self.original.set_top_image(None)
        self._show_map()
        self._layout_mode()

    def set_result(self, result: HarmonizeResult | None) -> None:
        self._result = result
        if result is None:
            self.harmonized.set_image(None)
            self.harmonized.set_title("Harmonized · press Harmonize (Ctrl+H)")
            self.original.set_top_image(None)
        else:
            self.harmonized.set_image(result.harmonized, levels=self.display.levels)
            self.harmonized.set_title(f"Harmonized · {result.generalizer}")
            self.original.set_top_image(result.harmonized)
        self.harmonized.set_outline(self._outline(result) if result is not None else None)
        self._show_map()
        self._layout_mode()

    def _on_levels(self, low: float, high: float) -> None:
        self.original.set_levels(low, high)
        self.harmonized.set_levels(low, high)

    def _on_invert(self, invert: bool) -> None:
        self.original.set_colormap(None, invert=invert)
        self.harmonized.set_colormap(None, invert=invert)

    def _layout_mode(self) -> None:
        mode = self.display.mode
        has_result = self._result is not None
        self.harmonized.setVisible(mode == "side")
        self.original.set_swipe(mode == "swipe" and has_result)
        if mode == "flicker" and has_result:
            self._flicker.start()
        else:
            self._flicker.stop()
            self._flicker_on = False
            if mode != "swipe":
                self.original.set_top_visible(False)
        if mode == "swipe" and has_result:
            self.original.set_title("Swipe: original | harmonized")
        elif mode == "side":
            self.original.set_title(self._original_title)

    def _flick(self) -> None:
        self._flicker_on = not self._flicker_on
        self.original.set_top_visible(self._flicker_on)
        self.original.set_title("Flicker: harmonized" if self._flicker_on else "Flicker: original")

    def _show_map(self) -> None:
        overlay = self.display.overlay
        res = self._result
        if overlay == "none" or res is None:
            self.map_pane.setVisible(False)
            return
        full = res.harmonized.shape
        if overlay == "difference":
            self.map_pane.set_colormap("CET-D1")
            self.map_pane.set_image(res.difference, levels=DIFF_LEVELS)
            self.map_pane.set_colorbar("CET-D1", DIFF_LEVELS, "harmonized − original")
            self.map_pane.set_title("Difference: red brighter, blue darker")
            self.map_pane.setToolTip("Harmonized minus original intensity, in units of the "
                                     "[0, 1] display range (±0.25 = ±25 % of full range).")
        else:
            smap = res.ssim_map if res.ssim_map is not None else np.ones((1, 1), np.float32)
            self.map_pane.set_colormap("viridis")
            self.map_pane.set_image(smap, levels=(0.0, 1.0), full_shape=full)
            self.map_pane.set_colorbar("viridis", (0.0, 1.0), "local SSIM")
            flagged = res.structure is not None and not res.structure.kept
            self.map_pane.set_title(f"SSIM map (mean {res.ssim:.3f}; dark = changed)"
                                    + ("; outlined: anatomy changed" if flagged else ""))
            self.map_pane.setToolTip("Local SSIM between harmonized and original (7x7 window), "
                                     "0-1, unitless; 1 = same local structure. An amber outline "
                                     "marks where the structure guard found the anatomy changed.")
        self.map_pane.set_outline(self._outline(res))
        self.map_pane.setVisible(True)

    @staticmethod
    def _outline(res: HarmonizeResult) -> np.ndarray | None:
        if res.structure is None or res.structure.kept:
            return None
        return outline(res.structure.region)

    @property
    def mode_title(self) -> str:
        return self.original.title
