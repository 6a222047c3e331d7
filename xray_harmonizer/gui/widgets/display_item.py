"""DisplayImageItem: a pyqtgraph ImageItem whose screen-resolution copy is cached.

pyqtgraph's ImageItem downsamples a large image to screen resolution on *every* render, and it
re-renders on every level change: for a 2048² radiograph that is ~26 ms of the UI thread per
pane per mouse move while the user drags the window/level. Here the downsampled copy is made
once per zoom factor (block mean by strided adds, ~4x faster) and reused for level changes, so
window/level dragging stays smooth and the UI thread stays well under 100 ms per event.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


def block_mean(image: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Mean over non-overlapping fy x fx blocks (remainder rows/columns dropped), float32."""
    if fy == 1 and fx == 1:
        return image
    h = (image.shape[0] // fy) * fy
    w = (image.shape[1] // fx) * fx
    rows = image[0:h:fy].astype(np.float32, copy=True)
    for i in range(1, fy):
        rows += image[i:h:fy]
    out = rows[:, 0:w:fx].copy()
    for j in range(1, fx):
        out += rows[:, j:w:fx]
    out *= 1.0 / (fy * fx)
    return out


class DisplayImageItem(pg.ImageItem):
    """Drop-in ImageItem (row-major, 2-D) with a cached screen-resolution copy."""

    def __init__(self, image: np.ndarray | None = None, **kwargs) -> None:
        self._small: tuple[tuple[int, int], np.ndarray] | None = None
        kwargs.setdefault("autoDownsample", True)
        super().__init__(image, **kwargs)

    def setImage(self, image=None, autoLevels=None, **kwargs):  # noqa: N802 (pyqtgraph API)
        if image is not None:
            self._small = None
        super().setImage(image, autoLevels=autoLevels, **kwargs)

    def clear(self) -> None:
        self._small = None
        super().clear()

    def render(self) -> None:
        full = self.image
        if full is None or full.ndim != 2 or not self.autoDownsample:
            super().render()
            return
        factors = self._computeDownsampleFactors()
        if factors[0] is None:
            super().render()
            return
        xds, yds = factors
        if self._small is None or self._small[0] != (xds, yds):
            self._small = ((xds, yds), block_mean(full, yds, xds))
        # Let pyqtgraph render the cached copy as if it were the image; paint() then draws it
        # over the full image's rectangle because self.image is restored before painting.
        self.image = self._small[1]
        self.autoDownsample = False
        try:
            super().render()
        finally:
            self.image = full
            self.autoDownsample = True
            self._lastDownsample = (xds, yds)
