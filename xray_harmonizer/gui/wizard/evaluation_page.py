"""Evaluation on the held-out site images: SSIM(output, input), distance to the reference before
and after, side-by-side examples, AUC / specificity when labels are given, and a plain verdict
(with a plain warning when the model changes structure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton)

from training.sitefit.evaluate import Evaluation, evaluate, read_labels
from training.sitefit.service import (held_out_files, load_generalizer, load_installed_classifier,
                                      make_plan, run_profile)
from xray_harmonizer.gui.wizard.base import StatePage
from xray_harmonizer.gui.wizard.data_page import gray_pixmap
from xray_harmonizer.gui.wizard.state import WizardState
from xray_harmonizer.gui.workers import JobRunner

EXAMPLE_SIDE = 220


@dataclass
class EvaluationResult:
    evaluation: Evaluation
    examples: list[tuple[np.ndarray, np.ndarray]]  # (input, output) uint8 thumbnails
    classifier_note: str


def _thumb(pixels: np.ndarray) -> np.ndarray:
    from xray_harmonizer.imaging.transfer import resize, working_shape

    small = resize(pixels, working_shape(pixels.shape, EXAMPLE_SIDE))
    return (np.clip(small, 0, 1) * 255).astype(np.uint8)


def run_evaluation(state_values: dict[str, Any], report, cancelled) -> EvaluationResult:
    """Worker body (no Qt): the same steps as ``train site`` after training."""
    from xray_harmonizer.io import open_image

    run_dir: Path = state_values["run_dir"]
    plan_path = run_dir / "plan.json"
    plan = (json.loads(plan_path.read_text(encoding="utf-8")) if plan_path.is_file()
            else make_plan(state_values["scan"], state_values["holdout"], state_values["seed"]))
    profile = run_profile(run_dir, state_values["reference"], state_values["reference_id"])
    generalizer = load_generalizer(state_values["method"], run_dir, profile)
    files = held_out_files(plan)
    labels = classifier = None
    note = "No labels given: AUC and specificity are not measured."
    if state_values["labels"]:
        try:
            classifier = load_installed_classifier()
            labels = read_labels(state_values["labels"], files, classifier.label)
            note = f"{len(labels)} of {len(files)} held-out images labelled ({classifier.name})."
        except (LookupError, ValueError, OSError) as exc:
            note = f"Labels not used: {exc}"
    ev = evaluate(generalizer, files, profile, labels=labels, classifier=classifier,
                  progress=lambda k, n: report(100 * k // n, f"{k}/{n}"), cancelled=cancelled)
    examples = []
    for f in ev.examples[:3]:
        image = open_image(f).pixels
        examples.append((_thumb(image), _thumb(generalizer.harmonize(image))))
    return EvaluationResult(ev, examples, note)


class EvaluationPage(StatePage):
    def __init__(self, state: WizardState, runner: JobRunner) -> None:
        super().__init__(state, "Evaluation",
                         "The fitted model on the site's held-out images, never seen in "
                         "training.")
        self.runner = runner
        self.running = False
        labels = QHBoxLayout()
        labels.addWidget(QLabel("Labels (optional, for AUC):"))
        self.labels = QLineEdit()
        self.labels.setPlaceholderText("CSV with file,label columns")
        labels.addWidget(self.labels, 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        labels.addWidget(browse)
        self.nlm = QCheckBox("NLM file naming (…_0 / …_1)")
        labels.addWidget(self.nlm)
        self.again = QPushButton("Evaluate")
        self.again.clicked.connect(self.start)
        labels.addWidget(self.again)
        self.body.addLayout(labels)
        self.progress = QProgressBar()
        self.body.addWidget(self.progress)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName("verdict")
        font = self.verdict.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.verdict.setFont(font)
        self.body.addWidget(self.verdict)
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        self.body.addWidget(self.figures)
        self.examples = QGridLayout()
        self.body.addLayout(self.examples)
        self.body.addStretch(1)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels CSV", "", "CSV (*.csv)")
        if path:
            self.labels.setText(path)
            self.start()

    def initializePage(self) -> None:  # noqa: N802
        self.start()

    def start(self) -> None:
        s = self.state
        labels = "nlm" if self.nlm.isChecked() else (self.labels.text().strip() or None)
        s.set(labels=labels, evaluation=None)
        values = {"run_dir": s.run_dir, "scan": s.scan, "holdout": s.holdout, "seed": s.seed,
                  "reference": str(s.reference), "reference_id": s.reference_id,
                  "method": s.method, "labels": labels}
        self.running = True
        self.again.setEnabled(False)
        self.verdict.setText("Harmonizing the held-out images…")
        self.verdict.setStyleSheet("")
        self.figures.setText("")
        self.completeChanged.emit()
        self.runner.start("wizard_evaluate",
                          lambda report, cancelled: run_evaluation(values, report, cancelled),
                          on_result=self._on_result, on_error=self._on_error,
                          on_progress=lambda p, m: self.progress.setValue(p))

    def _on_error(self, msg: str) -> None:
        self.running = False
        self.again.setEnabled(True)
        self.verdict.setText(f"The evaluation failed: {msg}")
        self.verdict.setStyleSheet("color: #d9534f")
        self.completeChanged.emit()

    def _on_result(self, result: EvaluationResult) -> None:
        self.running = False
        self.again.setEnabled(True)
        ev = result.evaluation
        self.state.set(evaluation=ev)
        self.progress.setValue(100)
        self.verdict.setText(ev.verdict())
        self.verdict.setStyleSheet("" if ev.structure_kept else "color: #d9534f")
        rows = [f"Held-out images: {ev.images}",
                f"Anatomy changed (the app's structure guard, blind to intensity changes): "
                f"{ev.structure_flagged} of {ev.images} images (worst score "
                f"{ev.structure_worst:.2f})",
                f"SSIM(output, input): mean {ev.ssim:.3f}, worst {ev.ssim_min:.3f} "
                "(also counts the intended intensity change)",
                f"Distance (W1) to the reference: {ev.w1_before:.4f} before, {ev.w1_after:.4f} "
                f"after ({ev.w1_change:+.0%})"]
        if ev.auc_after is not None:
            rows.append(f"Classifier AUC: {ev.auc_before:.3f} before, {ev.auc_after:.3f} after; "
                        f"specificity {ev.specificity_before:.2f} -> {ev.specificity_after:.2f}, "
                        f"sensitivity {ev.sensitivity_before:.2f} -> {ev.sensitivity_after:.2f}")
        rows.append(result.classifier_note)
        self.figures.setText("\n".join(rows))
        while self.examples.count():
            item = self.examples.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for col, (before, after) in enumerate(result.examples):
            for row, (title, img) in enumerate((("site image", before),
                                                ("harmonized", after))):
                label = QLabel()
                label.setPixmap(gray_pixmap(img))
                label.setToolTip(title)
                self.examples.addWidget(label, row, col)
        self.completeChanged.emit()

    def cleanupPage(self) -> None:  # noqa: N802
        self.runner.cancel_named("wizard_evaluate")
        self.running = False

    def isComplete(self) -> bool:  # noqa: N802
        return not self.running and self.state.evaluation is not None
