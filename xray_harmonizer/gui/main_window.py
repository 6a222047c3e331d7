"""MainWindow: wires the view models to the widgets; owns no computation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QSizePolicy, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from xray_harmonizer.analysis import export, report
from xray_harmonizer.analysis.models import reference_histogram
from xray_harmonizer.gui.menus import build_menus
from xray_harmonizer.gui.settings import AppSettings, SettingsStore
from xray_harmonizer.gui.viewmodels.compare_all import CompareAllModel
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.viewmodels.harmonize import HarmonizeModel
from xray_harmonizer.gui.viewmodels.study import StudyModel
from xray_harmonizer.gui.widgets.compare_all_view import CompareAllView
from xray_harmonizer.gui.widgets.compare_view import CompareView
from xray_harmonizer.gui.widgets.generalizer_bar import GeneralizerBar
from xray_harmonizer.gui.widgets.histogram_panel import HistogramPanel
from xray_harmonizer.gui.widgets.metrics_panel import MetricsPanel
from xray_harmonizer.gui.widgets.study_list import StudyList
from xray_harmonizer.gui.workers import JobRunner
from xray_harmonizer.io.deidentify import Deidentifier

log = logging.getLogger(__name__)

RESEARCH_NOTICE = "Research use only — not for diagnosis."


class MainWindow(QMainWindow):
    """The application window. ``errors`` records every error shown (tests read it)."""

    def __init__(self, store: SettingsStore | None = None) -> None:
        super().__init__()
        self.setWindowTitle("X-Ray Harmonizer")
        self.setAcceptDrops(True)
        self.store = store or SettingsStore()
        self.settings: AppSettings = self.store.load()
        self.errors: list[str] = []
        self._error_box: QMessageBox | None = None
        # One UID map per session: de-identified exports/sends of one study stay one study.
        self.deidentifier = Deidentifier()
        self.runner = JobRunner(self)
        self.display = DisplayModel(self)
        self.study = StudyModel(self.runner, self)
        self.harm = HarmonizeModel(self.runner, self.settings, self)
        self.compare = CompareAllModel(self.runner, self)
        self._build_widgets()
        self.actions_ = build_menus(self)
        self._bind()
        geometry = self.store.geometry()
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 900)

    # layout -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.bar = GeneralizerBar()
        self.compare_view = CompareView(self.display)
        self.compare_all_view = CompareAllView(self.display)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.compare_view, "Compare")
        self.tabs.addTab(self.compare_all_view, "Compare all")
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(centre)
        self.study_list = StudyList()
        dock = QDockWidget("Study", self)
        dock.setObjectName("study_dock")
        dock.setWidget(self.study_list)
        dock.setMinimumWidth(300)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.histograms = HistogramPanel(self.display)
        self.metrics = MetricsPanel()
        # The metrics scroll: long warnings or evidence must never widen or heighten the window.
        metrics_scroll = QScrollArea()
        metrics_scroll.setWidgetResizable(True)
        metrics_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        metrics_scroll.setWidget(self.metrics)
        # Its size hint would follow the panel's text and make the dock (and the window) wider.
        metrics_scroll.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.histograms)
        split.addWidget(metrics_scroll)
        split.setSizes([260, 440])
        panel = QDockWidget("Analysis", self)
        panel.setObjectName("analysis_dock")
        panel.setWidget(split)
        panel.setMinimumWidth(380)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
        self.notice_label = QLabel(RESEARCH_NOTICE)
        self.notice_label.setStyleSheet("color: #ffb000;")
        self.provider_label = QLabel("provider: —")
        self.timing_label = QLabel("")
        for label, width in ((self.timing_label, 260), (self.provider_label, 330)):
            # Status texts grow after Harmonize; a fixed width keeps them readable and the
            # window's size unchanged.
            label.setFixedWidth(width)
        # Permanent: temporary status messages hide normal status-bar widgets.
        self.statusBar().addPermanentWidget(self.notice_label)
        self.statusBar().addPermanentWidget(self.timing_label)
        self.statusBar().addPermanentWidget(self.provider_label)

    def _bind(self) -> None:
        s, h, b, c = self.study, self.harm, self.bar, self.compare
        s.entries_changed.connect(lambda: self.study_list.set_entries(s.entries))
        s.current_changed.connect(self._on_current)
        s.load_failed.connect(lambda lines: self.show_error("Could not open", lines))
        s.opened.connect(self._on_opened)
        s.histogram_ready.connect(self._on_histogram)
        s.progress.connect(lambda p, m: self.statusBar().showMessage(m if p >= 100 else f"{m} ({p}%)"))
        self.study_list.selected.connect(s.select)
        h.generalizers_changed.connect(b.set_generalizers)
        h.generalizers_changed.connect(self._on_models)
        h.selection_changed.connect(b.set_current)
        h.selection_changed.connect(self._on_selection)
        h.assessment_changed.connect(self.metrics.set_assessment)
        h.auto_changed.connect(b.set_auto)
        h.classifier_changed.connect(self.metrics.set_classifier_text)
        h.classifier_changed.connect(
            lambda _text: self.metrics.set_label(getattr(h.classifier, "label", None)))
        h.result_changed.connect(self._on_result)
        h.failed.connect(lambda msg: self.show_error("Harmonize", [msg]))
        h.progress.connect(b.set_progress)
        h.busy.connect(b.set_busy)
        b.chosen.connect(h.select)
        b.harmonize.connect(h.harmonize)
        b.auto_toggled.connect(self._set_auto)
        b.compare_all.connect(self.run_compare_all)
        b.cancel.connect(self.cancel_jobs)
        b.set_auto(h.auto)
        c.results_changed.connect(
            lambda results: self.compare_all_view.show_results(c.entry, results))
        c.progress.connect(b.set_progress)
        c.busy.connect(b.set_busy)
        c.failed.connect(lambda msg: self.show_error("Compare all", [msg]))

    # reactions --------------------------------------------------------------------------
    def _on_selection(self, index: int) -> None:
        infos = self.harm.generalizer_infos
        self.metrics.set_evidence(infos[index].tooltip if 0 <= index < len(infos) else "")

    def _on_current(self, entry: Any) -> None:
        self.compare_view.set_entry(entry)
        self.histograms.set_histogram("original",
                                      self.study.histogram_of(entry) if entry else None)
        self.histograms.set_histogram("harmonized", None)
        self.compare_all_view.show_results(entry, [])
        self.study_list.set_current(self.study.current_index)
        self.harm.set_entry(entry)
        if entry is not None:
            self.setWindowTitle(f"X-Ray Harmonizer — {entry.title}{self._patient_suffix(entry)}")
            if self.study.last_load_s is not None:
                self.timing_label.setText(f"load {self.study.last_load_s:.2f} s")

    def _on_histogram(self, entry: Any) -> None:
        hist = self.study.histogram_of(entry)
        if entry is self.study.current:
            self.histograms.set_histogram("original", hist)

    def _patient_suffix(self, entry: Any) -> str:
        ds = entry.image.meta.dataset
        if not self.settings.show_patient_name or ds is None:
            return ""
        name = str(getattr(ds, "PatientName", "") or "")
        return f" — {name}" if name else ""

    def _on_models(self, infos: list) -> None:
        ref = reference_histogram(self.harm.profile)
        self.histograms.set_histogram("reference", ref)
        for note in self.harm.notes:
            self.statusBar().showMessage(note, 8000)

    def _on_result(self, result: Any) -> None:
        if result is not None and result.structure is not None and not result.structure.kept:
            # The structure guard's outline lives on the SSIM map: show it with the warning.
            self.actions_.by_name["overlay_ssim"].setChecked(True)
            self.display.set_overlay("ssim")
        self.compare_view.set_result(result)
        self.metrics.set_result(result)
        self.histograms.set_histogram("harmonized", result.hist_harmonized if result else None)
        self.actions_.set_export_enabled(result is not None)
        if result is None:
            return
        clf = f", classifier {result.classifier_provider}" if result.classifier_provider else ""
        self.provider_label.setText(f"provider: generalizer {result.generalizer_provider}{clf}")
        t = result.timings
        self.timing_label.setText(
            f"harmonize {t.get('harmonize', 0):.2f} s · metrics "
            f"{sum(v for k, v in t.items() if k != 'harmonize'):.2f} s")

    def _on_opened(self, path: str) -> None:
        recent = self.store.add_recent(path)
        self.actions_.set_recent(recent)

    def _set_auto(self, value: bool) -> None:
        self.harm.set_auto(value)
        self.apply_settings(AppSettings(**{**self.settings.__dict__, "auto_harmonize": value}))

    def open_initial(self, paths: list[str]) -> None:
        """Open the start-up paths, then load the models: the first image shows before the
        (slower) model packages and onnxruntime sessions compete with it for the CPU."""
        if not paths:
            self.harm.reload_models()
            return
        pending = {"first": True}

        def start_models(*_args: Any) -> None:
            if pending["first"]:
                pending["first"] = False
                self.harm.reload_models()

        self.study.current_changed.connect(start_models)
        self.study.load_failed.connect(start_models)
        for i, path in enumerate(paths):
            self.study.open(path, append=i > 0)

    # commands ---------------------------------------------------------------------------
    def open_path(self, path: str) -> None:
        self.study.open(str(path))

    def open_dialog(self, folder: bool = False) -> None:
        start = self.store.last_folder("open")
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Open study folder", start)
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open study", start,
                "Images (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)")
        if path:
            self.store.set_last_folder("open", str(Path(path) if folder else Path(path).parent))
            self.open_path(path)

    def run_compare_all(self) -> None:
        self.tabs.setCurrentWidget(self.compare_all_view)
        self.compare.run(self.study.current, self.harm.generalizers, self.harm.profile,
                         self.harm.classifier)

    def cancel_jobs(self) -> None:
        self.study.cancel()
        self.harm.cancel()
        self.compare.cancel()
        self.statusBar().showMessage("Cancelled", 4000)

    def apply_settings(self, settings: AppSettings) -> None:
        reload_models = (settings.model_folder, settings.working_size, settings.use_gpu) != (
            self.settings.model_folder, self.settings.working_size, self.settings.use_gpu)
        self.settings = settings
        self.store.save(settings)
        if reload_models:
            self.harm.reload_models(settings)

    def export(self, kind: str, path: str | None = None) -> None:
        """Export ``png``, ``dicom`` or ``report``; asks for a path unless given."""
        entry, result = self.study.current, self.harm.result
        if entry is None or result is None:
            self.show_error("Export", ["Harmonize an image first."])
            return
        suffix = {"png": ".png", "dicom": ".dcm", "report": ".html"}[kind]
        if path is None:
            folder = Path(self.store.last_folder("export") or Path.home())
            start = str(folder / export.suggested_name(entry, result, suffix))
            path, _ = QFileDialog.getSaveFileName(self, f"Export {kind}", start, f"*{suffix}")
            if not path:
                return
            self.store.set_last_folder("export", str(Path(path).parent))
        clf_text = self.harm.classifier_text
        deidentifier = self.deidentifier if self.settings.deidentify_dicom else None
        ref = reference_histogram(self.harm.profile)
        profile_hash = self.harm.profile.content_hash if self.harm.profile else None

        def job(rep: Any, can: Any) -> Path:
            if kind == "png":
                return export.export_png(entry, result, path)
            if kind == "dicom":
                return export.export_dicom(entry, result, path, deidentifier=deidentifier)
            return report.write_report(path, entry, result, reference_hist=ref,
                                       classifier_text=clf_text, profile_hash=profile_hash)

        self.runner.start(f"export_{kind}", job,
                          on_result=lambda p: self.statusBar().showMessage(f"Saved {p}", 8000),
                          on_error=lambda msg: self.show_error("Export failed", [msg]))

    def show_error(self, title: str, lines: list[str]) -> None:
        """A non-modal message box: the app stays usable and tests never block on it."""
        text = "\n".join(lines)
        self.errors.append(text)
        log.warning("%s: %s", title, text)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setModal(False)
        box.show()
        self._error_box = box

    # drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        for i, path in enumerate(paths):
            self.study.open(path, append=i > 0)
        if paths:
            event.acceptProposedAction()

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.store.save_geometry(bytes(self.saveGeometry()))
        self.runner.shutdown(5000)
        super().closeEvent(event)
