"""CompareView: original vs harmonized, linked; keys S/W/K switch side/swipe/flicker."""

from __future__ import annotations

import sys

from _example_data import run, sample_entry, sample_result
from PySide6.QtGui import QKeySequence, QShortcut

from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.compare_view import CompareView


def build():
    display = DisplayModel()
    view = CompareView(display)
    view.set_entry(sample_entry())
    view.set_result(sample_result())
    for key, mode in (("S", "side"), ("W", "swipe"), ("K", "flicker")):
        QShortcut(QKeySequence(key), view, activated=lambda m=mode: display.set_mode(m))
    for key, overlay in (("N", "none"), ("D", "difference"), ("M", "ssim")):
        QShortcut(QKeySequence(key), view, activated=lambda o=overlay: display.set_overlay(o))
    view._display = display
    return view


if __name__ == "__main__":
    sys.exit(run(build()))
