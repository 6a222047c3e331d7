"""MetricsPanel: SSIM, distance to the reference, classifier probabilities and plain warnings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from xray_harmonizer.analysis import HarmonizeResult

_DASH = "—"


def _fmt(value: float | None, spec: str) -> str:
    return _DASH if value is None else format(value, spec)


class MetricsPanel(QWidget):
    """Shows a :class:`HarmonizeResult`; ``set_classifier_text`` says which model (or none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ssim = QLabel(_DASH)
        self.w1 = QLabel(_DASH)
        self.classifier = QLabel("loading classifier…")
        self.p_original = QLabel(_DASH)
        self.p_harmonized = QLabel(_DASH)
        self.generalizer = QLabel(_DASH)
        self.timing = QLabel(_DASH)
        for label in (self.ssim, self.p_original, self.p_harmonized):
            label.setStyleSheet("font-size: 15px; font-weight: 600;")
        for label in (self.classifier, self.generalizer, self.timing):
            label.setWordWrap(True)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("SSIM (harmonized vs original)", self.ssim)
        form.addRow("W1 to reference (orig → harm)", self.w1)
        form.addRow("Classifier", self.classifier)
        form.addRow("P(original)", self.p_original)
        form.addRow("P(harmonized)", self.p_harmonized)
        form.addRow("Generalizer", self.generalizer)
        form.addRow("Time", self.timing)
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

    def set_result(self, result: HarmonizeResult | None) -> None:
        if result is None:
            for label in (self.ssim, self.w1, self.p_original, self.p_harmonized,
                          self.generalizer, self.timing):
                label.setText(_DASH)
            self.warnings.setVisible(False)
            return
        full = result.ssim_side >= max(result.harmonized.shape)
        where = "full resolution" if full else f"at {result.ssim_side} px"
        self.ssim.setText(f"{_fmt(result.ssim, '.3f')}  ({where})")
        self.w1.setText(f"{_fmt(result.w1_original, '.4f')} → {_fmt(result.w1_harmonized, '.4f')}")
        label = result.classifier_label or "positive"
        if result.p_original is None:
            self.p_original.setText(_DASH)
            self.p_harmonized.setText(_DASH)
        else:
            self.p_original.setText(f"{result.p_original:.1%} {label}")
            self.p_harmonized.setText(f"{_fmt(result.p_harmonized, '.1%')} {label}")
        short = (result.model_hash or "")[:12]
        self.generalizer.setText(f"{result.generalizer} ({result.kind} → {result.reference_site})"
                                 f"{' #' + short if short else ''} on {result.generalizer_provider}")
        total = sum(result.timings.values())
        self.timing.setText(f"harmonize {result.timings.get('harmonize', 0):.2f} s, "
                            f"total {total:.2f} s")
        warnings = result.warnings
        self.warnings.setText("\n\n".join("⚠ " + w for w in warnings))
        self.warnings.setVisible(bool(warnings))
