"""HistogramPanel: original, harmonized and reference histograms; drag the window region."""

from __future__ import annotations

import sys

from _example_data import run, sample_models, sample_result

from xray_harmonizer.analysis.models import reference_histogram
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.histogram_panel import HistogramPanel


def build():
    display = DisplayModel()
    panel = HistogramPanel(display)
    result = sample_result()
    panel.set_histogram("original", result.hist_original)
    panel.set_histogram("harmonized", result.hist_harmonized)
    panel.set_histogram("reference", reference_histogram(sample_models()[1]))
    panel._display = display
    return panel


if __name__ == "__main__":
    sys.exit(run(build()))
