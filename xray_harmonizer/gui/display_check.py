"""Can Qt open a window here? Asked before the QApplication exists.

Qt aborts the whole process (SIGABRT, core dump) when its platform plugin cannot start: no
display, or the xcb plugin's shared libraries missing — and its message then names
``libxcb-cursor0`` whatever is really missing. So the app asks first, in this process and
without Qt's GUI: the environment, ``ldd`` on the xcb plugin (which libraries are missing, by
their Debian package), and a bare ``xcb_connect`` to the X server. :func:`display_problem`
returns one line for the user, or None when the window can open.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

HEADLESS_HINT = ("without a screen, harmonize headless: "
                 "xray-harmonizer harmonize PATH -o OUTDIR")

# Shared libraries Qt's xcb plugin links -> the Debian/Ubuntu package that ships them.
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.0": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def missing_libraries(ldd_output: str) -> list[str]:
    """The ``not found`` libraries in ``ldd`` output, in order, without repeats."""
    out: list[str] = []
    for line in ldd_output.splitlines():
        name, _, where = line.strip().partition("=>")
        if "not found" in where and name.strip() not in out:
            out.append(name.strip())
    return out


def missing_message(libraries: list[str]) -> str:
    """One line naming the Debian packages (or, when unknown, the libraries) to install."""
    packages = list(dict.fromkeys(DEBIAN_PACKAGES.get(lib, lib) for lib in libraries))
    return (f"cannot open a window: Qt's xcb plugin needs {', '.join(libraries)} "
            f"(apt-get install {' '.join(packages)}); {HEADLESS_HINT}")


def _xcb_plugin() -> Path:
    from PySide6.QtCore import QLibraryInfo  # QtCore needs no display

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / \
        "libqxcb.so"


def _ldd(path: Path) -> str:
    try:
        return subprocess.run(["ldd", str(path)], capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""  # no ldd (not glibc): let the X connection check speak


def _x_server_answers(display: str) -> bool:
    """A bare ``xcb_connect`` to ``display``: what Qt's xcb plugin does first."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return False
    lib = ctypes.CDLL(name)
    lib.xcb_connect.restype = ctypes.c_void_p
    lib.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    lib.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = lib.xcb_connect(display.encode(), None)
    try:
        return conn is not None and lib.xcb_connection_has_error(conn) == 0
    finally:
        if conn is not None:
            lib.xcb_disconnect(conn)


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why the app's window cannot open here (one line), or None when it can.

    ``QT_QPA_PLATFORM`` other than xcb (offscreen, vnc, wayland...) and a Wayland session are
    trusted as they are; only the X11 path, Qt's default on Linux, is checked.
    """
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform and platform != "xcb":
        return None
    if not platform and env.get("WAYLAND_DISPLAY"):
        return None
    display = env.get("DISPLAY", "")
    if not display:
        return (f"cannot open a window: no display (DISPLAY and WAYLAND_DISPLAY are not set, "
                f"QT_QPA_PLATFORM is not set); {HEADLESS_HINT}")
    missing = missing_libraries(_ldd(_xcb_plugin()))
    if missing:
        return missing_message(missing)
    if not _x_server_answers(display):
        return f"cannot open a window: no X server answers on DISPLAY={display}; {HEADLESS_HINT}"
    return None
