"""GeneralizerBar: the chooser, Harmonize, Auto, Compare all, progress and Cancel."""

from __future__ import annotations

import sys

from _example_data import run

from xray_harmonizer.analysis.models import available_generalizers
from xray_harmonizer.generalizers.registry import chooser_entries
from xray_harmonizer.gui.viewmodels.harmonize import GeneralizerInfo
from xray_harmonizer.gui.widgets.generalizer_bar import GeneralizerBar


def build():
    gens, _ = available_generalizers()
    bar = GeneralizerBar()
    bar.set_generalizers([GeneralizerInfo.of(e) for e in chooser_entries(gens)])
    bar.set_current(0)
    bar.set_busy(True)
    bar.set_progress(40, "harmonize")
    bar.harmonize.connect(lambda: print("harmonize"))
    return bar


if __name__ == "__main__":
    sys.exit(run(build()))
