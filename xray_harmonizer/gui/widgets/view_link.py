"""ViewLink: keep several image views on the same centre and the same zoom (pixels per pixel).

pyqtgraph's setXLink/setYLink line views up by their *screen* positions, which suits stacked
plots but not side-by-side image panes of unequal or changing size (a pane that appears, such
as the SSIM map, would show another part of the image). DICOM viewers synchronise the centre
and the scale instead; this does the same. The view the user last zoomed or panned leads; a
view that is resized or shown pulls its range from the leader.
"""

from __future__ import annotations

import weakref

import pyqtgraph as pg
from PySide6.QtCore import QRectF


class ViewLink:
    """Synchronise ``views``; call :meth:`sync_from` after changing a range in code."""

    def __init__(self, views: list[pg.ViewBox] | None = None) -> None:
        self._views: list[weakref.ref] = []
        self._leader: weakref.ref | None = None
        self._busy = False
        for view in views or []:
            self.add(view)

    def add(self, view: pg.ViewBox) -> None:
        ref = weakref.ref(view)
        self._views.append(ref)
        if self._leader is None:
            self._leader = ref
        view.sigRangeChangedManually.connect(lambda _mask, r=ref: self._manual(r))
        view.sigResized.connect(lambda _v, r=ref: self._resized(r))

    @property
    def views(self) -> list[pg.ViewBox]:
        return [v for v in (r() for r in self._views) if v is not None]

    def sync_from(self, view: pg.ViewBox) -> None:
        """Make ``view`` the leader and give every other visible view its centre and scale."""
        self._leader = weakref.ref(view)
        if self._busy:
            return
        rect, size = view.viewRect(), view.boundingRect()
        if size.width() < 2 or size.height() < 2:
            return
        scale = max(rect.width() / size.width(), rect.height() / size.height())
        centre = rect.center()
        self._busy = True
        try:
            for other in self.views:
                if other is view:
                    continue
                s = other.boundingRect()
                if s.width() < 2 or s.height() < 2:
                    continue
                w, h = scale * s.width(), scale * s.height()
                other.setRange(QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h), padding=0)
        finally:
            self._busy = False

    def _manual(self, ref: weakref.ref) -> None:
        view = ref()
        if view is not None:
            self.sync_from(view)

    def _resized(self, ref: weakref.ref) -> None:
        if self._busy:
            return
        leader = self._leader() if self._leader is not None else None
        resized = ref()
        if leader is None or resized is None:
            return
        if leader is resized:
            self.sync_from(leader)
        else:
            self._pull(resized, leader)

    def _pull(self, view: pg.ViewBox, leader: pg.ViewBox) -> None:
        keep = self._leader
        self.sync_from(leader)
        self._leader = keep
