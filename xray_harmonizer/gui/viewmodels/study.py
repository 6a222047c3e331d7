"""StudyModel: the opened images and which one is shown."""

from __future__ import annotations

from weakref import WeakKeyDictionary

import numpy as np
from PySide6.QtCore import QObject, Signal

from xray_harmonizer.analysis.study import StudyEntry, body_histograms, load_study
from xray_harmonizer.gui.workers import JobRunner


class StudyModel(QObject):
    """Holds the study list; opening runs in a worker.

    Signals
    -------
    entries_changed() : the list was replaced or extended.
    current_changed(object) : the shown :class:`StudyEntry` (or None).
    load_failed(list) : ``path: reason`` lines for files that could not be opened.
    opened(str) : a path was opened successfully (for the recent list).
    progress(int, str), busy(bool)
    """

    entries_changed = Signal()
    current_changed = Signal(object)
    load_failed = Signal(list)
    opened = Signal(str)
    histogram_ready = Signal(object)  # the StudyEntry whose body histogram is now known
    progress = Signal(int, str)
    busy = Signal(bool)
    _partial = Signal(object)  # (run id, StudyEntry), queued from the loading thread

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._entries: list[StudyEntry] = []
        self._index = -1
        self._shown: StudyEntry | None = None
        self.last_load_s: float | None = None
        # Histograms computed in the background, by entry (weak: they leave with the entry).
        self._hists: WeakKeyDictionary[StudyEntry, np.ndarray] = WeakKeyDictionary()
        self._run_id = 0
        self._runs: dict[int, dict] = {}
        self._partial.connect(self._add_entry)

    @property
    def entries(self) -> list[StudyEntry]:
        return list(self._entries)

    @property
    def current(self) -> StudyEntry | None:
        return self._entries[self._index] if 0 <= self._index < len(self._entries) else None

    @property
    def current_index(self) -> int:
        return self._index

    def open(self, path: str, *, append: bool = False) -> None:
        """Open a file or a folder in the background; replaces the list unless ``append``.

        Images arrive one by one: the first is shown as soon as it is decoded.
        """
        self._run_id += 1
        run_id = self._run_id
        if not append:  # a new study replaces any still-loading one
            for old in list(self._runs):
                self._runs.pop(old)
                self._runner.cancel_named(f"load{old}")
        self._runs[run_id] = {"append": append, "entries": []}
        self.busy.emit(True)

        def done(out: tuple[list[StudyEntry], list[str]]) -> None:
            state = self._runs.pop(run_id, None)
            self.busy.emit(bool(self._runs))
            if state is None:
                return
            entries, errors = out
            self.progress.emit(100, f"Opened {len(entries)} image(s) from {path}")
            if entries:
                self.opened.emit(path)
                self._start_histograms(entries)
            if errors:
                self.load_failed.emit(errors)

        def failed(msg: str) -> None:
            self._runs.pop(run_id, None)
            self.busy.emit(bool(self._runs))
            self.load_failed.emit([msg])

        def job(rep, can):
            return load_study(path, rep, can,
                              on_entry=lambda e: self._partial.emit((run_id, e)))

        self._runner.start(f"load{run_id}", job, on_result=done, on_error=failed,
                           on_progress=lambda p, m: self.progress.emit(p, m))

    def _add_entry(self, item: tuple[int, StudyEntry]) -> None:
        run_id, entry = item
        state = self._runs.get(run_id)
        if state is None:
            return  # a late image of a cancelled load
        first = not state["entries"]
        state["entries"].append(entry)
        if first and not state["append"]:
            self._entries, self._index, self._shown = [], -1, None
        self._entries.append(entry)
        self.entries_changed.emit()
        if first:
            self.last_load_s = entry.load_s
            self.select(len(self._entries) - 1)

    @property
    def loading(self) -> bool:
        """True while a study is still arriving image by image."""
        return bool(self._runs)

    def cancel(self) -> None:
        """Stop loading; the images already shown stay."""
        for run_id in list(self._runs):
            self._runs.pop(run_id)
            self._runner.cancel_named(f"load{run_id}")
        self.busy.emit(False)

    def histogram_of(self, entry: StudyEntry) -> np.ndarray | None:
        """The entry's body-region histogram, or None while it is being computed."""
        return self._hists.get(entry)

    def _start_histograms(self, entries: list[StudyEntry]) -> None:
        def done(pairs: list) -> None:
            for entry, hist in pairs:
                self._hists[entry] = hist
                self.histogram_ready.emit(entry)

        self._runner.start("histograms", lambda rep, can: body_histograms(entries, rep, can),
                           on_result=done, on_error=lambda msg: None, replace=False)

    def select(self, index: int) -> None:
        if not 0 <= index < len(self._entries):
            raise IndexError(f"no study image at index {index}")
        self._index = index
        if self.current is self._shown:
            return
        self._shown = self.current
        self.current_changed.emit(self._shown)

    def clear(self) -> None:
        self._entries, self._index, self._shown = [], -1, None
        self.entries_changed.emit()
        self.current_changed.emit(None)
