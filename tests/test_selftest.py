"""``xray-harmonizer --self-test`` from the source tree: the code path the installer's bundle runs."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from xray_harmonizer.gui import selftest


def test_self_test_passes_from_source_tree() -> None:
    """Catches a bundled generalizer or the sample study that no longer loads or gives a bad
    output, and an app window that does not open the sample offscreen (a fresh process, as the
    built bundle runs it, with no display variable)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    run = subprocess.run([sys.executable, "-m", "xray_harmonizer.cli", "--self-test"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("self-test passed: 3 sample images x ") and "Histogram" in run.stdout


def test_self_test_fails_with_one_line_on_a_bad_output(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A generalizer returning NaN must make the self-test exit nonzero with one line, not pass."""
    from xray_harmonizer.generalizers.histogram import HistogramMatching

    monkeypatch.setattr(HistogramMatching, "harmonize", lambda self, px: np.full_like(px, np.nan))
    assert selftest.run_self_test() == selftest.EXIT_FAILED
    err = capsys.readouterr().err.strip()
    assert err.startswith("self-test failed: ") and "non-finite" in err and "\n" not in err
