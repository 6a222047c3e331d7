"""CompareAllView: every installed generalizer's output on the sample, with its figures."""

from __future__ import annotations

import sys

from _example_data import run, sample_entry

from xray_harmonizer.gui import analysis, backend
from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.compare_all_view import CompareAllView


def build():
    display = DisplayModel()
    view = CompareAllView(display)
    entry, profile, clf = sample_entry(), backend.reference_profile(), backend.load_classifier()
    gens, _ = backend.available_generalizers()
    results = [analysis.harmonize_and_measure(entry, g, profile, clf, lambda p, m: None,
                                              lambda: False, with_maps=False) for g in gens]
    view.show_results(entry, results)
    view._display = display
    return view


if __name__ == "__main__":
    sys.exit(run(build()))
