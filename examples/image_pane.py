"""ImagePane: one radiograph, wheel to zoom, left-drag to pan, right-drag for window/level."""

from __future__ import annotations

import sys

from _example_data import run, sample_entry

from xray_harmonizer.gui.viewmodels.display import DisplayModel
from xray_harmonizer.gui.widgets.image_pane import ImagePane


def build():
    display = DisplayModel()
    pane = ImagePane("Sample (right-drag: window/level)")
    pane.window_drag.connect(display.drag_window)
    display.levels_changed.connect(pane.set_levels)
    pane.set_image(sample_entry().image.pixels, levels=display.levels, fit=True)
    pane._display = display  # keep the model alive with the widget
    return pane


if __name__ == "__main__":
    sys.exit(run(build()))
