"""DisplayModel: how images are shown (window/level, invert, compare mode, overlays)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

MODES = ("side", "swipe", "flicker")
OVERLAYS = ("none", "difference", "ssim")
MIN_WIDTH = 0.01


class DisplayModel(QObject):
    """Shared by every image pane so that original and harmonized always use the same levels.

    Window/level are in image units ([0, 1]); ``levels`` is (low, high) = center -/+ width/2.

    Signals
    -------
    levels_changed(float, float), invert_changed(bool), mode_changed(str),
    overlay_changed(str), fit_requested(), one_to_one_requested()
    """

    levels_changed = Signal(float, float)
    invert_changed = Signal(bool)
    mode_changed = Signal(str)
    overlay_changed = Signal(str)
    fit_requested = Signal()
    one_to_one_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._center, self._width = 0.5, 1.0
        self._invert = False
        self._mode = "side"
        self._overlay = "none"

    # window / level ---------------------------------------------------------------------
    @property
    def window(self) -> tuple[float, float]:
        return self._center, self._width

    @property
    def levels(self) -> tuple[float, float]:
        return self._center - self._width / 2, self._center + self._width / 2

    def set_window(self, center: float, width: float) -> None:
        center = min(max(float(center), -0.5), 1.5)
        width = min(max(float(width), MIN_WIDTH), 2.0)
        if (center, width) == (self._center, self._width):
            return
        self._center, self._width = center, width
        self.levels_changed.emit(*self.levels)

    def drag_window(self, dx_fraction: float, dy_fraction: float) -> None:
        """Right-drag as in DICOM viewers: right widens the window, up raises the level.

        Fractions are of the view's size, so a drag across the whole view spans the full range.
        """
        self.set_window(self._center - dy_fraction, self._width + dx_fraction)

    def reset_window(self) -> None:
        self.set_window(0.5, 1.0)

    # invert / mode / overlay -----------------------------------------------------------
    @property
    def invert(self) -> bool:
        return self._invert

    def set_invert(self, value: bool) -> None:
        if bool(value) != self._invert:
            self._invert = bool(value)
            self.invert_changed.emit(self._invert)

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self.mode_changed.emit(mode)

    @property
    def overlay(self) -> str:
        return self._overlay

    def set_overlay(self, overlay: str) -> None:
        if overlay not in OVERLAYS:
            raise ValueError(f"overlay must be one of {OVERLAYS}, got {overlay!r}")
        if overlay != self._overlay:
            self._overlay = overlay
            self.overlay_changed.emit(overlay)

    def request_fit(self) -> None:
        self.fit_requested.emit()

    def request_one_to_one(self) -> None:
        self.one_to_one_requested.emit()
