"""Every widget example in examples/ builds and shows offscreen (they double as smoke tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))


def _load(name: str):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


def test_there_is_an_example_per_widget():
    widgets = {p.stem for p in (EXAMPLES.parent / "xray_harmonizer" / "gui" / "widgets").glob(
        "*.py")} - {"__init__", "settings_dialog", "display_item", "view_link"}
    assert widgets <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_builds(qtbot, name):
    widget = _load(name).build()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(50)
    assert widget.isVisible()
