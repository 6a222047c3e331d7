"""First run on a new machine: no display, missing Qt libraries, mistyped commands (issue 10)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from xray_harmonizer.cli import main
from xray_harmonizer.gui import display_check
from xray_harmonizer.gui.display_check import display_problem, missing_libraries

LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f6a)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f6a)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
"""


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xray_harmonizer.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_app_without_display_prints_one_line_and_exits_2():
    """Catches the Qt abort (SIGABRT, core dump, rc -6) when the app starts with no display: the
    process must end by itself with rc 2 and one line pointing to the headless command."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = _run_cli([], env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "no display" in lines[0] and "xray-harmonizer harmonize" in lines[0]


def test_unreachable_x_server_is_a_message_not_an_abort():
    """Catches DISPLAY pointing at no X server: Qt's xcb plugin would abort the process."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":187"  # nobody serves display 187 here
    result = _run_cli([], env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot open a window" in result.stderr


def test_missing_xcb_libraries_are_named_by_their_debian_package(monkeypatch):
    """Catches Qt's misleading 'libxcb-cursor0' hint: the line must name what is missing."""
    monkeypatch.setattr(display_check, "_ldd", lambda path: LDD_MISSING)
    problem = display_problem({"DISPLAY": ":0"})
    assert problem is not None and "\n" not in problem
    assert "(apt-get install libxcb-icccm4 libxcb-keysyms1)" in problem
    assert "libxcb-cursor0" not in problem
    assert missing_libraries(LDD_MISSING) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def test_non_x11_platforms_are_trusted():
    """Catches the probe refusing offscreen/Wayland, where no X server is needed."""
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert "no display" in display_problem({"QT_QPA_PLATFORM": "xcb"})


def test_unknown_subcommand_is_a_usage_error(capsys, monkeypatch):
    """Catches `xray-harmonizer foo` being opened as a GUI path (and crashing Qt)."""
    monkeypatch.setattr("xray_harmonizer.cli._run_gui", lambda paths: pytest.fail("GUI opened"))
    assert main(["foo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'foo' is neither a command" in err


def test_existing_path_still_opens_the_app(monkeypatch, tmp_path):
    """Catches the usage check swallowing real files and folders given to the app."""
    opened: list = []
    monkeypatch.setattr("xray_harmonizer.cli._run_gui", lambda paths: opened.append(paths) or 0)
    assert main([str(tmp_path)]) == 0
    assert opened == [[str(tmp_path)]]
