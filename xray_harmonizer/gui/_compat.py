"""Work around a reference-count bug in PySide6 6.12.0 that aborts the app on CPython < 3.12.

Measured here (PySide6 6.12.0, CPython 3.11.7): calls that return a singleton give it back
without taking a reference — every ``Signal.emit()`` (returns ``True``) drops one reference to
``True``, every void call such as ``QObject.setObjectName`` drops one to ``None``. As if the
singletons were immortal, which they are only from CPython 3.12 on. pyqtgraph makes such calls
on every repaint, so after a few thousand repaints a count reaches zero and CPython aborts with
"Fatal Python error: bool_dealloc" (or ``none_dealloc``).

The fix gives the singletons a reserve of 2**40 references — what 3.12 does by design — but
only when the leak is actually detected, so a fixed PySide6 (or a newer Python) is untouched.
Singletons are never freed anyway: extra references cost nothing.
"""

from __future__ import annotations

import ctypes
import logging
import platform
import sys

log = logging.getLogger(__name__)

_RESERVE = 1 << 40
_applied = False


def _pyside_leaks_singletons() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(16):
        probe.ping.emit()
        probe.setObjectName("probe")
    after = sys.getrefcount(True), sys.getrefcount(None)
    return after[0] < before[0] - 8 or after[1] < before[1] - 8


def protect_bool_singletons() -> bool:
    """Apply the workaround if needed; returns whether it was applied (idempotent)."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    if not _pyside_leaks_singletons():
        return False
    for obj in (None, True, False, Ellipsis, NotImplemented):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE
    _applied = True
    log.info("PySide6 drops references to None/True; singletons given a reserve")
    return True
