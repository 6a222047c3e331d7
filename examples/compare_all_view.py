"""CompareAllView: every installed generalizer's output on the sample, with its figures."""

from __future__ import annotations

import sys

from _example_data import run, sample_entry, sample_models

from xray_harmonizer.analysis import harmonize_and_measure
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.compare_all_view import CompareAllView


def build():
    display = DisplayModel()
    view = CompareAllView(display)
    entry = sample_entry()
    gens, profile, clf = sample_models()
    results = [harmonize_and_measure(entry.prepared, g, profile, clf, with_map=False)
               for g in gens]
    view.show_results(entry, results)
    view._display = display
    return view


if __name__ == "__main__":
    sys.exit(run(build()))
