"""HarmonizeModel: installed generalizers, the chosen one, and the latest harmonized result."""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from PySide6.QtCore import QObject, Signal

from xray_harmonizer.analysis import (Cancelled, Classifier, HarmonizeResult, Progress,
                                      harmonize_and_measure)
from xray_harmonizer.analysis import models as loading
from xray_harmonizer.analysis.models import Unavailable
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.classifier import Assessment
from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.generalizers.registry import ChooserEntry, chooser_entries, package_name
from xray_harmonizer.reference.profile import ReferenceProfile
from xray_harmonizer.gui.settings import AppSettings
from xray_harmonizer.gui.workers import JobRunner


@dataclass(frozen=True)
class GeneralizerInfo:
    """What the chooser shows for one generalizer."""

    name: str
    kind: str
    reference_site: str
    model_hash: str | None
    group: str = ""  # "Recommended", the method, or "<method>: experimental"
    evidence: str = ""  # fitted to + protocol figures (tooltip, analysis panel)
    package: str = ""

    @property
    def label(self) -> str:
        tag = "★ " if self.group == "Recommended" else ""
        return f"{tag}{self.name}  [{self.kind} → {self.reference_site}]"

    @classmethod
    def of(cls, entry: ChooserEntry) -> GeneralizerInfo:
        g = entry.generalizer
        return cls(g.name, g.kind, g.reference_site, g.model_hash, entry.group,
                   entry.evidence.summary(), package_name(g))

    @property
    def tooltip(self) -> str:
        return f"{self.package}: {self.group}\n{self.evidence}"


@dataclass(frozen=True)
class LoadedModels:
    generalizers: list[Generalizer]  # in chooser order: the recommended one first
    notes: list[str]
    profile: ReferenceProfile | Unavailable
    classifier: Classifier | Unavailable
    entries: list[ChooserEntry]


def _load_models(settings: AppSettings) -> LoadedModels:
    # GPU "on" means "when available and not disabled by XRH_DISABLE_GPU" (the runtime decides);
    # "off" forces the CPU.
    use_gpu = None if settings.use_gpu else False
    gens, notes = loading.available_generalizers(
        model_folder=settings.model_folder or None, working_size=settings.working_size or None,
        use_gpu=use_gpu)
    entries = chooser_entries(gens)
    return LoadedModels([e.generalizer for e in entries], notes, loading.reference_profile(),
                        loading.load_classifier(model_folder=settings.model_folder or None,
                                                use_gpu=use_gpu), entries)


class HarmonizeModel(QObject):
    """Runs harmonization + metrics for the current image in a worker.

    Signals
    -------
    generalizers_changed(list) : list of :class:`GeneralizerInfo`.
    selection_changed(int), auto_changed(bool)
    classifier_changed(str) : the classifier's label, or why there is none.
    assessment_changed(object) : the classifier's :class:`Assessment` of the current original
        (its probability, or why it is outside the domain), or None; as soon as a study opens.
    result_changed(object) : :class:`HarmonizeResult`, or None when cleared.
    failed(str), progress(int, str), busy(bool)
    """

    generalizers_changed = Signal(list)
    selection_changed = Signal(int)
    auto_changed = Signal(bool)
    classifier_changed = Signal(str)
    assessment_changed = Signal(object)
    result_changed = Signal(object)
    failed = Signal(str)
    progress = Signal(int, str)
    busy = Signal(bool)

    def __init__(self, runner: JobRunner, settings: AppSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._settings = settings
        self._models: LoadedModels | None = None
        self._index = -1
        self._auto = settings.auto_harmonize
        self._entry: StudyEntry | None = None
        self._result: HarmonizeResult | None = None
        self._pending = False
        # The classifier's answer per entry for the loaded classifier; weak keys: an entry that
        # left the study takes its figure with it, and no other image can inherit it.
        self._assessments: WeakKeyDictionary[StudyEntry, Assessment] = WeakKeyDictionary()
        self.last_harmonize_s: float | None = None

    # models -----------------------------------------------------------------------------
    def reload_models(self, settings: AppSettings | None = None) -> None:
        """(Re)discover generalizers, the reference profile and the classifier in a worker."""
        if settings is not None:
            self._settings = settings
        current = self._settings

        def done(models: LoadedModels) -> None:
            self._models = models
            self._assessments.clear()
            infos = self.generalizer_infos
            self._index = 0 if infos else -1
            self.generalizers_changed.emit(infos)
            self.selection_changed.emit(self._index)
            self.classifier_changed.emit(self.classifier_text)
            self._assess_current()
            if self._pending or (self._auto and self._entry is not None):
                self._pending = False
                self.harmonize()

        self._runner.start("models", lambda rep, can: _load_models(current), on_result=done,
                           on_error=lambda msg: self.failed.emit(f"Loading models failed: {msg}"))

    @property
    def models_loaded(self) -> bool:
        return self._models is not None

    @property
    def generalizers(self) -> list[Generalizer]:
        return list(self._models.generalizers) if self._models else []

    @property
    def generalizer_infos(self) -> list[GeneralizerInfo]:
        entries = self._models.entries if self._models else []
        return [GeneralizerInfo.of(e) for e in entries]

    @property
    def notes(self) -> list[str]:
        return list(self._models.notes) if self._models else []

    @property
    def profile(self) -> ReferenceProfile | None:
        """The reference profile, or None while loading or when it is unavailable."""
        profile = self._models.profile if self._models else None
        return None if isinstance(profile, Unavailable) else profile

    @property
    def classifier(self) -> Classifier | None:
        """The classifier, or None while loading or when none is installed."""
        clf = self._models.classifier if self._models else None
        return None if isinstance(clf, Unavailable) else clf

    @property
    def classifier_text(self) -> str:
        if self._models is None:
            return "loading classifier…"
        clf = self._models.classifier
        if isinstance(clf, Unavailable):
            return clf.reason
        return f"{clf.label} ({clf.name})"

    # selection --------------------------------------------------------------------------
    @property
    def current_index(self) -> int:
        return self._index

    @property
    def current_generalizer(self) -> Generalizer | None:
        gens = self.generalizers
        return gens[self._index] if 0 <= self._index < len(gens) else None

    def select(self, index: int) -> None:
        if not 0 <= index < len(self.generalizers):
            raise IndexError(f"no generalizer at index {index}")
        if index == self._index:
            return
        self._index = index
        self.selection_changed.emit(index)
        self._set_result(None)
        if self._auto and self._entry is not None:
            self.harmonize()

    @property
    def auto(self) -> bool:
        return self._auto

    def set_auto(self, value: bool) -> None:
        if bool(value) == self._auto:
            return
        self._auto = bool(value)
        self.auto_changed.emit(self._auto)
        if self._auto and self._entry is not None and self._result is None:
            self.harmonize()

    def set_entry(self, entry: StudyEntry | None) -> None:
        """The shown image changed: the old result no longer applies."""
        self._entry = entry
        self.cancel()
        self._set_result(None)
        self._assess_current()
        if entry is not None and self._auto:
            self.harmonize()

    def assessment_of(self, entry: StudyEntry | None) -> Assessment | None:
        return self._assessments.get(entry) if entry is not None else None

    def _assess_current(self) -> None:
        """P(original), or why there is none, as soon as an image shows (not after Harmonize)."""
        entry, clf = self._entry, self.classifier
        known = self.assessment_of(entry)
        if entry is None or clf is None or known is not None:
            self.assessment_changed.emit(known)
            return
        self.assessment_changed.emit(None)

        def done(assessment: Assessment) -> None:
            self._assessments[entry] = assessment
            if entry is self._entry:
                self.assessment_changed.emit(assessment)

        self._runner.start("assess", lambda rep, can: clf.assess(entry.image.pixels,
                                                                 entry.image.meta.dataset),
                           on_result=done,
                           on_error=lambda msg: self.failed.emit(f"Classifier failed: {msg}"))

    # harmonize --------------------------------------------------------------------------
    @property
    def result(self) -> HarmonizeResult | None:
        return self._result

    def harmonize(self) -> None:
        """Harmonize the current image with the chosen generalizer (worker)."""
        entry = self._entry
        if entry is None:
            self.failed.emit("Open a study first.")
            return
        if self._models is None:
            self._pending = True  # runs as soon as the models are loaded
            return
        gen = self.current_generalizer
        if gen is None:
            self.failed.emit("No generalizer is installed. " + "; ".join(self.notes))
            return
        known = self.assessment_of(entry)
        profile, clf = self.profile, self.classifier
        self.busy.emit(True)

        def job(rep: Progress, can: Cancelled) -> HarmonizeResult:
            # entry.prepared (mask, histogram) is computed once per image and kept on the entry.
            return harmonize_and_measure(entry.prepared, gen, profile, clf, report=rep,
                                         cancelled=can, assessment=known,
                                         dataset=entry.image.meta.dataset)

        def done(result: HarmonizeResult) -> None:
            self.busy.emit(False)
            if result.assessment is not None:
                self._assessments[entry] = result.assessment
            self.last_harmonize_s = sum(result.timings.values())
            self._set_result(result)

        def failed(msg: str) -> None:
            self.busy.emit(False)
            self.failed.emit(f"Harmonization with {gen.name} failed: {msg}")

        self._runner.start("harmonize", job, on_result=done, on_error=failed,
                           on_progress=lambda p, m: self.progress.emit(p, m))

    def cancel(self) -> None:
        self._runner_cancel()
        self.busy.emit(False)

    def _runner_cancel(self) -> None:
        self._runner.cancel_named("harmonize")

    def _set_result(self, result: HarmonizeResult | None) -> None:
        if result is None and self._result is None:
            return
        self._result = result
        self.result_changed.emit(result)
