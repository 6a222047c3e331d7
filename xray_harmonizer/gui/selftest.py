"""``xray-harmonizer --self-test``: proves an installed (or frozen) app works, without a screen.

It opens the main window offscreen on the bundled sample study (Qt platform plugins, pyqtgraph,
the theme, the bundled resources), then harmonizes every sample image with every bundled
generalizer (histogram matching plus each model package: onnxruntime and its libraries) and
checks each output: finite, the input's shape, within [0, 1]. Exit 0 and one summary line when
all pass; exit 1 and one line naming the first failure otherwise. The installer build script
runs it on the built bundle; ``tests/test_selftest.py`` runs it from the source tree.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


class SelfTestFailure(Exception):
    """One check failed; the message is the one line printed."""


def run_self_test() -> int:
    """Run every check; print one line; return the exit status."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import: never needs a screen
    start = time.perf_counter()
    try:
        n_images, names = _harmonize_sample()
        _open_window()
    except BaseException as exc:  # noqa: BLE001 - a native abort must still give one line
        if isinstance(exc, KeyboardInterrupt):
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"self-test failed: {reason}", file=sys.stderr)
        return EXIT_FAILED
    print(f"self-test passed: {n_images} sample images x {len(names)} generalizers "
          f"({', '.join(names)}) in {time.perf_counter() - start:.1f} s")
    return EXIT_OK


def _harmonize_sample() -> tuple[int, list[str]]:
    import numpy as np

    from xray_harmonizer.generalizers.registry import discover_generalizers
    from xray_harmonizer.io import open_study
    from xray_harmonizer.models.discovery import bundled_models_dir

    from xray_harmonizer.gui.app import sample_study_path

    study = open_study(sample_study_path())
    if study.errors or not study.images:
        raise SelfTestFailure(f"bundled sample did not open ({study.errors[:1] or 'no images'})")
    # Only the bundled packages: a user's own model folder is not part of the installation.
    generalizers, refused = discover_generalizers(folders=[bundled_models_dir()])
    if refused:
        raise SelfTestFailure(f"bundled generalizer refused: {refused[0]}")
    if len(generalizers) < 2:
        raise SelfTestFailure("no bundled model package was found")
    for gen in generalizers:
        for image in study.images:
            out = np.asarray(gen.harmonize(image.pixels))
            what = f"{gen.name} on {image.meta.source.name}"
            if out.shape != image.pixels.shape:
                raise SelfTestFailure(f"{what}: shape {out.shape} != {image.pixels.shape}")
            if not np.isfinite(out).all():
                raise SelfTestFailure(f"{what}: output has non-finite values")
            if out.min() < 0.0 or out.max() > 1.0:
                raise SelfTestFailure(f"{what}: output outside [0, 1] ({out.min():.3g}..{out.max():.3g})")
    return len(study.images), [g.name for g in generalizers]


def _open_window() -> None:
    from PySide6.QtCore import QSettings

    from xray_harmonizer.gui.app import create_window
    from xray_harmonizer.gui.settings import SettingsStore

    # Settings in a throwaway file: a self-test must not change the user's layout or recent list.
    with tempfile.TemporaryDirectory(prefix="xrh-selftest-") as tmp:
        qsettings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        _show_sample(create_window, SettingsStore(qsettings))


def _show_sample(create_window, store) -> None:
    app, window = create_window([], store=store)
    window.show()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and window.study.current is None:
        app.processEvents()
        time.sleep(0.02)
    loaded = window.study.current is not None
    window.close()
    window.deleteLater()
    app.processEvents()
    if not loaded:
        raise SelfTestFailure("the app window did not open the bundled sample within 60 s")
