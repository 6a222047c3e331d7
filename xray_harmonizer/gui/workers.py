"""Background jobs on the global QThreadPool with progress, cancel and errors as signals.

A job is a plain function ``fn(report, cancelled) -> result``; it reports progress with
``report(percent, message)`` and checks ``cancelled()`` between steps (a running numpy call
cannot be interrupted, so cancel drops the result of the current step). Signals are queued to
the UI thread, so the UI never waits on a job.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from shiboken6 import isValid

from xray_harmonizer.analysis import JobCancelled

_Q = Qt.ConnectionType.QueuedConnection
log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[int, str], None], Callable[[], bool]], Any]


class JobSignals(QObject):
    """Signals of one job (a QRunnable cannot carry signals itself)."""

    started = Signal()
    progress = Signal(int, str)
    result = Signal(object)
    error = Signal(str)
    cancelled = Signal()
    finished = Signal()


class Job(QRunnable):
    """One unit of background work. Keep a reference until ``finished`` (the pool may not)."""

    def __init__(self, name: str, fn: JobFn) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.name = name
        self._fn = fn
        self._cancel = threading.Event()
        self.signals = JobSignals()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # runs in a pool thread
        sig = self.signals
        sig.started.emit()
        try:
            out = self._fn(lambda pct, msg: sig.progress.emit(int(pct), str(msg)),
                           self._cancel.is_set)
        except JobCancelled:
            sig.cancelled.emit()
        except Exception as exc:  # every failure reaches the UI as a message, never a crash
            log.warning("job %s failed:\n%s", self.name, traceback.format_exc())
            sig.error.emit(str(exc) or type(exc).__name__)
        else:
            if self._cancel.is_set():
                sig.cancelled.emit()
            else:
                sig.result.emit(out)
        sig.finished.emit()


class JobRunner(QObject):
    """Starts jobs and keeps them alive until they finish; cancels the previous job of a kind."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._running: dict[int, Job] = {}
        self._latest: dict[str, Job] = {}
        self._closed = False

    def start(self, name: str, fn: JobFn, *, on_result: Callable[[Any], None],
              on_error: Callable[[str], None], on_progress: Callable[[int, str], None] | None = None,
              replace: bool = True) -> Job:
        """Run ``fn`` in the pool. With ``replace``, an earlier job of this name is cancelled and
        its late result ignored (e.g. the user clicked another study while one was loading)."""
        if replace and name in self._latest:
            self._latest[name].cancel()
        job = Job(name, fn)
        self._latest[name] = job
        self._running[id(job)] = job
        sig = job.signals

        def deliver(fn: Callable[..., None], *args: Any) -> None:
            # Results queued before a cancel, or before the window closed, are dropped.
            # Also dropped when the runner (and so the window that owns it) was destroyed.
            if not job.is_cancelled and not self._closed and isValid(self):
                fn(*args)

        sig.result.connect(lambda out: deliver(on_result, out), _Q)
        sig.error.connect(lambda msg: deliver(on_error, msg), _Q)
        if on_progress is not None:
            sig.progress.connect(lambda p, m: deliver(on_progress, p, m), _Q)
        sig.finished.connect(lambda: self._done(job), _Q)
        was_idle = len(self._running) == 1
        self._pool.start(job)
        if was_idle:
            self.busy_changed.emit(True)
        return job

    def cancel_named(self, name: str) -> None:
        job = self._latest.get(name)
        if job is not None:
            job.cancel()

    def shutdown(self, msecs: int = 5000) -> None:
        """Cancel everything and drop late results (the window is closing)."""
        self._closed = True
        self.cancel_all()
        self._pool.waitForDone(msecs)

    def cancel_all(self) -> None:
        for job in list(self._running.values()):
            job.cancel()

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def _done(self, job: Job) -> None:
        # The queued "finished" of a job can arrive after the runner's window (its parent) was
        # destroyed, e.g. a wizard closed while its scan was ending: the lambda that calls us is
        # not tied to our lifetime, and emitting on a deleted QObject raises RuntimeError.
        if not isValid(self):
            return
        self._running.pop(id(job), None)
        if self._latest.get(job.name) is job:
            del self._latest[job.name]
        if not self._running and not self._closed:
            self.busy_changed.emit(False)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (tests and shutdown only)."""
        return self._pool.waitForDone(msecs)
