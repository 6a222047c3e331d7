"""MetricsPanel: SSIM, W1 to the reference, classifier probabilities and warnings."""

from __future__ import annotations

import sys

from _example_data import run, sample_result

from xray_harmonizer.gui.widgets.metrics_panel import MetricsPanel


def build():
    panel = MetricsPanel()
    result = sample_result()
    panel.set_classifier_text(result.classifier_label or "no classifier installed")
    panel.set_result(result)
    return panel


if __name__ == "__main__":
    sys.exit(run(build()))
