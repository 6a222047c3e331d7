"""CompareAllModel: every installed generalizer applied to the current image."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from xray_harmonizer.analysis import (Cancelled, Classifier, HarmonizeResult, JobCancelled,
                                      Progress, harmonize_and_measure)
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.reference.profile import ReferenceProfile
from xray_harmonizer.gui.workers import JobRunner


class CompareAllModel(QObject):
    """Runs each generalizer in turn in one worker (so they do not fight over the CPU).

    Signals
    -------
    results_changed(list) : list of :class:`HarmonizeResult`, in generalizer order (partial while
        running; every finished generalizer shows at once).
    failed(str), progress(int, str), busy(bool)
    """

    results_changed = Signal(list)
    failed = Signal(str)
    progress = Signal(int, str)
    busy = Signal(bool)
    _partial = Signal(object)

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._results: list[HarmonizeResult] = []
        self.entry: StudyEntry | None = None
        self._run_id = 0
        self._partial.connect(self._add)

    @property
    def results(self) -> list[HarmonizeResult]:
        return list(self._results)

    def run(self, entry: StudyEntry | None, generalizers: list[Generalizer],
            profile: ReferenceProfile | None, classifier: Classifier | None) -> None:
        if entry is None:
            self.failed.emit("Open a study first.")
            return
        if not generalizers:
            self.failed.emit("No generalizer is installed.")
            return
        self.entry = entry
        self._run_id += 1
        run_id = self._run_id
        self._results = []
        self.results_changed.emit([])
        self.busy.emit(True)
        n = len(generalizers)

        def job(report: Progress, cancelled: Cancelled) -> list[HarmonizeResult]:
            out: list[HarmonizeResult] = []
            assessment = None  # the original's classifier answer, the same for every tile
            for i, gen in enumerate(generalizers):
                if cancelled():
                    raise JobCancelled()

                def sub(pct: int, msg: str, i: int = i, name: str = str(gen.name)) -> None:
                    report(int(100 * (i + pct / 100) / n), f"{name}: {msg}")

                res = harmonize_and_measure(entry.prepared, gen, profile, classifier,
                                            report=sub, cancelled=cancelled,
                                            assessment=assessment,
                                            dataset=entry.image.meta.dataset, with_map=False)
                assessment = res.assessment
                out.append(res)
                self._partial.emit((run_id, res))  # queued to the UI thread: cells fill in as they finish
            return out

        def done(results: list[HarmonizeResult]) -> None:
            self.busy.emit(False)
            self._results = results
            self.results_changed.emit(self.results)

        def failed(msg: str) -> None:
            self.busy.emit(False)
            self.failed.emit(f"Compare-all failed: {msg}")

        self._runner.start("compare_all", job, on_result=done, on_error=failed,
                           on_progress=lambda p, m: self.progress.emit(p, m))

    def cancel(self) -> None:
        self._runner.cancel_named("compare_all")
        self.busy.emit(False)

    def _add(self, item: tuple[int, HarmonizeResult]) -> None:
        run_id, result = item
        if run_id != self._run_id:
            return  # a late result of a cancelled run
        self._results.append(result)
        self.results_changed.emit(self.results)
