"""Training: ``train site`` in a child process; live loss curves, a held-out site image through
the current weights every N steps, progress and ETA, Pause / Cancel, and Resume for a run that
was cancelled, crashed or killed (also one left by a closed app)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from training.sitefit.job import TrainProcess, interrupted_step
from xray_harmonizer.gui.wizard.base import StatePage
from xray_harmonizer.gui.wizard.method_page import format_duration
from xray_harmonizer.gui.wizard.state import WizardState

POLL_MS = 200
COLOURS = ("#4e9af1", "#f1a34e", "#6ccf6c", "#e05c5c", "#b07ce0", "#d0d060", "#60d0d0")


class TrainingPage(StatePage):
    def __init__(self, state: WizardState) -> None:
        super().__init__(state, "Training",
                         "Training runs in its own process: the app stays usable, Cancel stops "
                         "it at once, and a stopped run can be resumed from its last checkpoint.")
        self.proc: TrainProcess | None = None
        self.finished = False
        self.history: dict[str, tuple[list[int], list[float]]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.total_steps = 0
        self.last_step = 0
        self.rate: float | None = None
        top = QHBoxLayout()
        self.plot = pg.PlotWidget(title="Losses")
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setLabel("bottom", "step")
        self.plot.setMinimumHeight(260)
        top.addWidget(self.plot, 3)
        side = QVBoxLayout()
        side.addWidget(QLabel("Held-out image | harmonized now:"))
        self.preview = QLabel("(the first preview comes after a few steps)")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(300, 160)
        side.addWidget(self.preview, 1)
        top.addLayout(side, 2)
        self.body.addLayout(top, 1)
        self.progress = QProgressBar()
        self.body.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.body.addWidget(self.status)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.resume_button = QPushButton("Resume")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel training")
        for b in (self.start_button, self.resume_button, self.pause_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.body.addLayout(buttons)
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    # page life ----------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802
        if self.proc is not None and self.proc.poll() is None:
            return
        self.finished = self._package_ready()
        step = interrupted_step(self.state.run_dir)
        self._set_running(False)
        if self.finished:
            self.status.setText("This run has finished: its package is ready. Next: evaluation. "
                                "(Start training to fit it again from the beginning.)")
        elif step is not None:
            self.status.setText(f"An interrupted run of this site and method was found (last "
                                f"checkpoint at step {step}). Resume it, or start over.")
        else:
            self.status.setText("Ready. Training writes checkpoints as it goes.")
        self.resume_button.setVisible(step is not None and not self.finished)
        self.completeChanged.emit()

    def _package_ready(self) -> bool:
        return (self.state.method == "histogram"
                or (self.state.run_dir / "package" / "manifest.json").is_file())

    def isComplete(self) -> bool:  # noqa: N802
        return self.finished and (self.proc is None or self.proc.poll() is not None)

    def validatePage(self) -> bool:  # noqa: N802
        return self.isComplete()

    # commands -----------------------------------------------------------------------------
    def start(self, resume: bool) -> None:
        request = self.state.request(train_only=True)
        if request is None or (self.proc is not None and self.proc.poll() is None):
            return
        if self.state.method == "histogram":
            self.finished = True
            self.status.setText("The histogram profile needs no training. Next: evaluation.")
            self.completeChanged.emit()
            return
        if not resume:
            for stale in (request.run_dir / "checkpoint.pt", request.run_dir / "package"):
                _remove(stale)
        self.history.clear()
        self.plot.clear()
        self.curves.clear()
        self.finished = False
        self.rate = None
        self.proc = TrainProcess(request, resume=resume)
        self._set_running(True)
        self.status.setText("Starting (loading the images)…")
        self.completeChanged.emit()
        self.timer.start()

    def toggle_pause(self) -> None:
        if self.proc is None:
            return
        if self.proc.paused:
            self.proc.unpause()
            self.pause_button.setText("Pause")
        else:
            self.proc.pause()
            self.pause_button.setText("Continue")
            self.status.setText(f"Paused at step {self.last_step}.")

    def cancel(self) -> None:
        """Kill the training process now; the run can be resumed from its last checkpoint."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.cancel()
        self.timer.stop()
        self._set_running(False)
        step = interrupted_step(self.state.run_dir)
        self.resume_button.setVisible(step is not None)
        self.status.setText(f"Cancelled at step {self.last_step}."
                            + (f" Resume continues from step {step}." if step is not None else ""))

    def stop(self) -> None:
        """The wizard is closing: kill the run (it stays resumable)."""
        self.timer.stop()
        if self.proc is not None:
            self.proc.cancel()

    # progress -----------------------------------------------------------------------------
    def poll(self) -> None:
        proc = self.proc
        if proc is None:
            return
        for event in proc.events():
            self._on_event(event)
        code = proc.poll()
        if code is None:
            return
        for event in proc.events():  # the last lines written before the exit
            self._on_event(event)
        self.timer.stop()
        self._set_running(False)
        self.finished = code == 0 and self._package_ready()
        if self.finished:
            self.status.setText(f"Finished: {self.last_step} steps. Next: evaluation.")
            self.progress.setValue(self.progress.maximum())
        else:
            step = interrupted_step(self.state.run_dir)
            self.resume_button.setVisible(step is not None)
            self.status.setText(f"Training stopped (exit {code}) at step {self.last_step}: "
                                f"{proc.log_tail(1) or 'no message'}"
                                + (f" Resume continues from step {step}." if step else ""))
        self.completeChanged.emit()

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            self.total_steps = int(event["steps"])
            self.last_step = int(event["step"])
            self.progress.setRange(0, self.total_steps)
            self.progress.setValue(self.last_step)
            self.status.setText(f"Training on {event.get('device', 'cpu')}"
                                + (f", resumed at step {self.last_step}" if event.get("resumed")
                                   else "") + "…")
        elif kind == "step":
            self.last_step = int(event["step"])
            if event.get("seconds_per_step"):
                self.rate = float(event["seconds_per_step"])
            for name, value in event["losses"].items():
                xs, ys = self.history.setdefault(name, ([], []))
                xs.append(self.last_step)
                ys.append(float(value))
                if name not in self.curves:
                    pen = pg.mkPen(COLOURS[len(self.curves) % len(COLOURS)], width=1.5)
                    self.curves[name] = self.plot.plot(name=name, pen=pen)
                self.curves[name].setData(xs, ys)
            self.progress.setValue(self.last_step)
            left = ""
            if self.rate:
                left = f" · about {format_duration(self.rate * (self.total_steps - self.last_step))} left"
            self.status.setText(f"Step {self.last_step} of {self.total_steps}{left}")
        elif kind == "preview":
            pixmap = QPixmap(str(event["path"]))
            if not pixmap.isNull():
                self.preview.setPixmap(pixmap.scaled(
                    self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation))
                self.preview.setToolTip(f"step {event['step']}")
        elif kind == "done":
            self.status.setText("Exporting the package…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Pause")


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
