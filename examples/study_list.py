"""StudyList: thumbnails and basic metadata of the bundled sample study."""

from __future__ import annotations

import sys

from _example_data import run

from xray_harmonizer.analysis.study import prepare_study_image
from xray_harmonizer.gui.app import sample_study_path
from xray_harmonizer.io import open_study
from xray_harmonizer.gui.widgets.study_list import StudyList


def build():
    images = open_study(sample_study_path()).images
    widget = StudyList()
    widget.set_entries([prepare_study_image(im) for im in images])
    widget.set_current(0)
    widget.selected.connect(lambda i: print("selected", i))
    return widget


if __name__ == "__main__":
    sys.exit(run(build()))
