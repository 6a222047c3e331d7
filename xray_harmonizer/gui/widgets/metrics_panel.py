"""MetricsPanel: SSIM, distance to the reference, classifier probabilities, the chosen
generalizer's evidence and plain warnings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from xray_harmonizer.analysis import HarmonizeResult
from xray_harmonizer.classifier import Assessment

_DASH = "—"

TIPS = {
    "ssim": "Structural similarity between the harmonized and the original image (scikit-image "
            "definition, 7x7 window, data range 1). Unitless, -1 to 1; 1 = identical structure. "
            "Low values mean the generalizer changed more than intensities.",
    "w1": "Wasserstein-1 distance between the body-region intensity distribution and the "
          "reference site's, before → after harmonization, both on the original's body mask. "
          "In intensity units of the [0, 1] image (0.01 = 1 % of the full range); lower is "
          "closer to the images the classifier was trained on.",
    "classifier": "The diagnostic classifier whose reference site the generalizers map to.",
    "p": "The classifier's probability of its label, 0-100 %. Shown only for frontal chest "
         "radiographs (DICOM tags and an image check against the classifier's training data); "
         "otherwise the panel says why.",
    "generalizer": "The generalizer used, its method, the reference site it maps to, the "
                   "first 12 hex digits of its model's sha256, and the execution provider.",
    "evidence": "What the chosen generalizer was fitted to and its protocol figures from its "
                "manifest (AUC and specificity of the classifier on simulated new sites, SSIM "
                "to the input).",
    "time": "Wall-clock seconds for harmonization and for all measurements.",
}


def _fmt(value: float | None, spec: str) -> str:
    return _DASH if value is None else format(value, spec)


class MetricsPanel(QWidget):
    """Shows a :class:`HarmonizeResult`, the original's classifier answer as soon as a study
    opens (:meth:`set_assessment`), and the chosen generalizer's evidence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ssim = QLabel(_DASH)
        self.w1 = QLabel(_DASH)
        self.classifier = QLabel("loading classifier…")
        self.p_original = QLabel(_DASH)
        self.p_harmonized = QLabel(_DASH)
        self.generalizer = QLabel(_DASH)
        self.evidence = QLabel(_DASH)
        self.timing = QLabel(_DASH)
        self._label = "positive"
        for label in (self.ssim, self.p_original, self.p_harmonized):
            label.setStyleSheet("font-size: 15px; font-weight: 600;")
        for label in (self.classifier, self.generalizer, self.timing, self.evidence,
                      self.p_original, self.p_harmonized):
            label.setWordWrap(True)
        self.evidence.setStyleSheet("font-size: 11px;")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        rows = (("SSIM (harmonized vs original)", self.ssim, "ssim"),
                ("W1 to reference (orig → harm)", self.w1, "w1"),
                ("Classifier", self.classifier, "classifier"),
                ("P(original)", self.p_original, "p"),
                ("P(harmonized)", self.p_harmonized, "p"),
                ("Generalizer", self.generalizer, "generalizer"),
                ("Evidence", self.evidence, "evidence"),
                ("Time", self.timing, "time"))
        for text, widget, tip in rows:
            caption = QLabel(text)
            caption.setToolTip(TIPS[tip])
            widget.setToolTip(TIPS[tip])
            form.addRow(caption, widget)
        self.warnings = QLabel("")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #ffb000; font-weight: 600;")
        self.warnings.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warnings)
        layout.addStretch(1)

    def set_classifier_text(self, text: str) -> None:
        self.classifier.setText(text)

    def set_label(self, label: str | None) -> None:
        self._label = label or "positive"

    def set_evidence(self, text: str) -> None:
        self.evidence.setText(text or _DASH)

    def set_assessment(self, assessment: Assessment | None) -> None:
        """The original's probability, or why there is none (before any Harmonize)."""
        if assessment is None:
            self.p_original.setText(_DASH)
        elif assessment.probability is None:
            self.p_original.setText(f"not shown: {assessment.verdict.reason}")
        else:
            self.p_original.setText(f"{assessment.probability:.1%} {self._label}")

    def set_result(self, result: HarmonizeResult | None) -> None:
        if result is None:
            for label in (self.ssim, self.w1, self.p_harmonized, self.generalizer, self.timing):
                label.setText(_DASH)
            self.warnings.setVisible(False)
            return
        full = result.ssim_side >= max(result.harmonized.shape)
        where = "full resolution" if full else f"at {result.ssim_side} px"
        self.ssim.setText(f"{_fmt(result.ssim, '.3f')}  ({where})")
        self.w1.setText(f"{_fmt(result.w1_original, '.4f')} → {_fmt(result.w1_harmonized, '.4f')}")
        self.set_label(result.classifier_label)
        if result.assessment is not None:
            self.set_assessment(result.assessment)
        if result.domain_reason is not None:
            self.p_harmonized.setText(f"not shown: {result.domain_reason}")
        else:
            self.p_harmonized.setText(f"{_fmt(result.p_harmonized, '.1%')} {self._label}")
        short = (result.model_hash or "")[:12]
        self.generalizer.setText(f"{result.generalizer} ({result.kind} → {result.reference_site})"
                                 f"{' #' + short if short else ''} on {result.generalizer_provider}")
        total = sum(result.timings.values())
        self.timing.setText(f"harmonize {result.timings.get('harmonize', 0):.2f} s, "
                            f"total {total:.2f} s")
        warnings = result.warnings
        self.warnings.setText("\n\n".join("⚠ " + w for w in warnings))
        self.warnings.setVisible(bool(warnings))
