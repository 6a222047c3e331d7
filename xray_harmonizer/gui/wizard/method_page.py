"""Method: which generalizer to fit, the preset, the device, and a time estimate measured by a
short timed trial of the real training on this machine (in a child process: no torch here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QGridLayout, QLabel, QPushButton,
                               QRadioButton)

from training.sitefit.job import NICE, spawn
from training.sitefit.service import universal_base
from xray_harmonizer.models.discovery import bundled_models_dir
from xray_harmonizer.gui.wizard.base import StatePage
from xray_harmonizer.gui.wizard.state import WizardState
from xray_harmonizer.gui.workers import JobRunner

METHODS = (("universal", "Fine-tune the universal generalizer: the fast path (minutes); "
                          "supervised on the reference images, no adversary"),
           ("cyclegan", "CycleGAN: two generators with a cycle; keeps anatomy well"),
           ("unit", "UNIT: shared latent space; often the better transfer to other sites"),
           ("histogram", "Histogram profile only: no training, seconds; intensity only"))
PRESETS = (("quick", "quick (sized for a laptop CPU; on a free 2-core CPU the universal fit "
                     "takes 1-2 min, CycleGAN/UNIT 11-16 min)"),
           ("full", "full (the papers; needs a GPU)"),
           ("tiny", "tiny (tests only: a few seconds, not useful)"))


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class MethodPage(StatePage):
    def __init__(self, state: WizardState, runner: JobRunner) -> None:
        super().__init__(state, "Method",
                         "How to fit the site. The time is measured by a short trial run of "
                         "the real training on this computer.")
        self.runner = runner
        self._proc: subprocess.Popen | None = None
        grid = QGridLayout()
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        for row, (key, text) in enumerate(METHODS):
            radio = QRadioButton(text)
            radio.setChecked(key == state.method)
            self.group.addButton(radio)
            self.radios[key] = radio
            grid.addWidget(radio, row, 0, 1, 2)
        self.base = universal_base(None if state.models_dir is None
                                   else [bundled_models_dir(), state.models_dir])
        if self.base is None:
            if state.method == "universal":
                state.method = "cyclegan"
                self.radios["cyclegan"].setChecked(True)
            self.radios["universal"].setEnabled(False)
            self.radios["universal"].setToolTip("No universal generalizer with weights is installed")
        grid.addWidget(QLabel("Preset:"), 4, 0)
        self.preset = QComboBox()
        for key, text in PRESETS:
            self.preset.addItem(text, key)
        self.preset.setCurrentIndex([k for k, _ in PRESETS].index(state.preset))
        grid.addWidget(self.preset, 4, 1)
        grid.addWidget(QLabel("Device:"), 5, 0)
        self.device = QComboBox()
        self.device.addItem("automatic (the GPU when there is one)", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.addItem("GPU (CUDA)", "cuda")
        grid.addWidget(self.device, 5, 1)
        self.body.addLayout(grid)
        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)
        self.measure = QPushButton("Measure again")
        self.measure.clicked.connect(self.start_estimate)
        self.body.addWidget(self.estimate)
        self.body.addWidget(self.measure)
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #d9534f")
        self.body.addWidget(self.problem)
        self.body.addStretch(1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(self.start_estimate)
        self.group.buttonToggled.connect(lambda *_: self._changed())
        self.preset.currentIndexChanged.connect(lambda *_: self._changed())
        self.device.currentIndexChanged.connect(lambda *_: self._changed())

    def initializePage(self) -> None:  # noqa: N802
        self._changed()

    def _changed(self) -> None:
        method = next(k for k, r in self.radios.items() if r.isChecked())
        self.state.set(method=method, preset=self.preset.currentData(),
                       device=self.device.currentData(), estimate=None)
        self.problem.setText(self._problem() or "")
        self.completeChanged.emit()
        if self._problem() is None:
            self.estimate.setText("Measuring the time on this computer…")
            self._debounce.start()
        else:
            self.estimate.setText("")

    def _problem(self) -> str | None:
        s = self.state
        if s.method == "universal" and self.base is None:
            return "No universal generalizer with weights is installed."
        if s.method != "histogram" and importlib.util.find_spec("torch") is None:
            return ("Training needs the training extra, which this installation lacks: "
                    "pip install 'xray-harmonizer[train]'.")
        if s.method != "histogram" and s.reference == "bundled" and s.reference_images is None:
            return "Training needs the reference site's images (back to Reference)."
        return None

    def start_estimate(self) -> None:
        """Run ``train site --estimate`` in a child process from a worker thread."""
        request = self.state.request(train_only=True)
        if request is None or self._problem() is not None:
            return
        self.stop_estimate()
        cmd = [sys.executable, "-m", "xray_harmonizer.cli", "train", "site", *request.args(),
               "--estimate", "--nice", str(NICE)]

        def job(report, cancelled) -> dict:
            self._proc = proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
            out, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                lines = [ln for ln in err.splitlines() if ln.strip()]
                raise RuntimeError(lines[-1] if lines else f"exit {proc.returncode}")
            return json.loads(out.strip().splitlines()[-1])

        self.measure.setEnabled(False)
        self.runner.start("wizard_estimate", job, on_result=self._on_estimate,
                          on_error=self._on_estimate_error)

    def stop_estimate(self) -> None:
        self.runner.cancel_named("wizard_estimate")
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()

    def _on_estimate(self, est: dict) -> None:
        self.measure.setEnabled(True)
        self.state.set(estimate=est)
        if est["method"] == "histogram":
            self.estimate.setText("No training: a few seconds.")
            return
        gpu = "a GPU is available" if est.get("cuda_available") else "no GPU found"
        self.device.model().item(2).setEnabled(bool(est.get("cuda_available")))
        self.estimate.setText(
            f"About {format_duration(est['total_s'])} on this computer ({est['device']}; "
            f"{gpu}): {est['seconds_per_step']:.3f} s per step measured over "
            f"{est['timed_steps']} steps x {est['steps']} steps, plus loading and export.")

    def _on_estimate_error(self, msg: str) -> None:
        self.measure.setEnabled(True)
        self.estimate.setText(f"Could not measure the time: {msg}")

    def cleanupPage(self) -> None:  # noqa: N802
        self.stop_estimate()

    def validatePage(self) -> bool:  # noqa: N802
        # Moving on: a trial still running would only compete with the training for the CPU.
        self.stop_estimate()
        return True

    def isComplete(self) -> bool:  # noqa: N802
        return self._problem() is None
