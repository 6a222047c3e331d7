"""StudyList: thumbnails and basic metadata of the bundled sample study."""

from __future__ import annotations

import sys

from _example_data import run

from xray_harmonizer.gui import analysis, backend
from xray_harmonizer.gui.app import sample_study_path
from xray_harmonizer.gui.widgets.study_list import StudyList


def build():
    images, _ = backend.open_study(sample_study_path())
    widget = StudyList()
    widget.set_entries([analysis.prepare_study_image(im) for im in images])
    widget.set_current(0)
    widget.selected.connect(lambda i: print("selected", i))
    return widget


if __name__ == "__main__":
    sys.exit(run(build()))
