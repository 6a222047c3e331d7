"""Help > About: version, installed models and the research-use notice."""

from __future__ import annotations

import sys

from _example_data import run, sample_models

from xray_harmonizer import __version__
from xray_harmonizer.generalizers.registry import chooser_entries
from xray_harmonizer.gui.viewmodels.harmonize import GeneralizerInfo
from xray_harmonizer.gui.widgets.about_dialog import show_about


def build():
    gens, _, clf = sample_models()
    infos = [GeneralizerInfo.of(e) for e in chooser_entries(gens)]
    box = show_about(None, __version__, infos, f"{clf.label} ({clf.name})" if clf else "none")
    box.hide()
    return box


if __name__ == "__main__":
    sys.exit(run(build()))
