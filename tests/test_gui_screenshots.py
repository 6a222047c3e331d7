"""Screenshots of the main views under a real X server (Xvfb), saved for people to look at.

The PNGs go to ``tests/screenshots_out/`` (or ``$XRH_SCREENSHOTS``); CI keeps that folder.
Skipped where Xvfb is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[1]
EXPECTED = ("01_opened_sample", "02_harmonized_0_histogram", "03_difference_map", "04_ssim_map",
            "05_swipe", "06_window_level_inverted", "07_compare_all", "08_bad_file_dialog")


@pytest.fixture(scope="module")
def xvfb_display():
    # CI installs Xvfb (.ci/run); without it the screenshots would silently not be checked.
    assert shutil.which("Xvfb") is not None, "Xvfb is not installed (apt-get install xvfb)"
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()  # Xvfb writes the display number once it is ready
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def test_screenshots_of_the_main_views(xvfb_display, tmp_path):
    out = Path(os.environ.get("XRH_SCREENSHOTS", REPO / "tests" / "screenshots_out"))
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb",
           "XRH_DISABLE_GPU": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "gui_screens.py"), str(out),
                           str(tmp_path / "settings.ini")], env=env, capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from PIL import Image

    for name in EXPECTED:
        path = out / f"{name}.png"
        assert path.is_file(), f"missing {path}"
        with Image.open(path) as im:
            assert im.width >= 1000 and im.height >= 600
            grey = np.asarray(im.convert("L"), dtype=np.float32)
        assert grey.std() > 10, f"{name} looks blank"
