"""DisplayImageItem: a pyqtgraph ImageItem whose screen-resolution copy is cached.

pyqtgraph's ImageItem downsamples a large image to screen resolution on *every* render, and it
re-renders on every level change: for a 2048² radiograph that is ~26 ms of the UI thread per
pane per mouse move while the user drags the window/level. Here the downsampled copy is made
once per zoom factor (:func:`xray_harmonizer.imaging.resample.block_mean`) and reused for level
changes, so window/level dragging stays smooth and the UI thread stays well under 100 ms per
event.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from xray_harmonizer.imaging.resample import block_mean


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
