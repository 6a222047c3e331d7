"""Take screenshots of the main views (run by test_gui_screenshots.py under Xvfb, or by hand).

    DISPLAY=:99 QT_QPA_PLATFORM=xcb python tests/gui_screens.py OUTDIR [SETTINGS_INI]

Uses the real installed generalizers and classifier on the bundled sample study.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def process_events_until(app, cond=lambda: True, timeout: float = 60.0,
                         settle: float = 0.3) -> bool:
    """Run Qt's event loop until ``cond()`` holds or ``timeout`` seconds pass, then ``settle``
    more seconds so that the last repaint lands before a screenshot. Returns ``cond()``.
    (The screenshot scripts in benchmarks/ use this one too.)"""
    end = time.time() + timeout
    while not cond() and time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    end = time.time() + settle
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    return bool(cond())


def main(outdir: str, ini: str | None = None) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from xray_harmonizer.gui.app import create_window
    from xray_harmonizer.gui.settings import SettingsStore

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ini = ini or str(out / ".settings.ini")
    store = SettingsStore(QSettings(ini, QSettings.Format.IniFormat))
    app, win = create_window(None, store=store)
    win.resize(1600, 950)
    win.show()

    def spin(cond=lambda: True, timeout: float = 60.0, settle: float = 0.3) -> None:
        process_events_until(app, cond, timeout, settle)

    def shot(name: str) -> None:
        spin()
        win.grab().save(str(out / f"{name}.png"))
        print(out / f"{name}.png")

    spin(lambda: win.study.current is not None and win.harm.models_loaded)
    shot("01_opened_sample")
    win.study.select(1)  # the MONOCHROME1 sample
    for i, info in enumerate(win.harm.generalizer_infos):
        win.harm.select(i)
        win.harm.harmonize()
        spin(lambda: win.harm.result is not None)
        shot(f"02_harmonized_{i}_{info.kind}")
    win.harm.select(0)
    win.harm.harmonize()
    spin(lambda: win.harm.result is not None)
    win.display.set_overlay("difference")
    shot("03_difference_map")
    win.display.set_overlay("ssim")
    shot("04_ssim_map")
    win.display.set_overlay("none")
    win.display.set_mode("swipe")
    win.compare_view.original.split_line.setValue(win.study.current.image.shape[1] * 0.45)
    shot("05_swipe")
    win.display.set_mode("side")
    win.display.set_window(0.55, 0.6)
    win.display.set_invert(True)
    shot("06_window_level_inverted")
    win.display.set_invert(False)
    win.display.reset_window()
    win.run_compare_all()
    spin(lambda: not win.runner.busy, settle=0.5)
    shot("07_compare_all")
    win.tabs.setCurrentIndex(0)
    bad = out / ".not_an_image.dcm"
    bad.write_bytes(b"not a dicom file" * 8)
    win.open_path(str(bad))
    spin(lambda: bool(win.errors), settle=0.5)
    screen = app.primaryScreen()
    screen.grabWindow(0).save(str(out / "08_bad_file_dialog.png"))
    bad.unlink()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
