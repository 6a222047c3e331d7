"""Screenshots of issue 10's features, for the record (run under Xvfb, looked at by a person).

    Xvfb :93 -screen 0 1600x1000x24 &
    DISPLAY=:93 QT_QPA_PLATFORM=xcb python -m benchmarks.trust_screenshots

Writes to benchmarks/results/screenshots/: 20_main_window_recommended.png (sample study,
recommended generalizer, evidence in the panel), 21_compare_all_12.png (12 generalizers: the
installed ones plus gamma curves, scrolling grid), 22_structure_guard_rg1_unit.png (UNIT
site_severe on RG1: warning and outlined region on the SSIM map), 23_domain_guard_rg2_hip.png
(hip: the reason instead of a probability), 24_about.png (Help > About).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "screenshots"
DICOM = REPO.parent / "shared" / "data" / "dicom"


class Gamma:
    """A gamma curve standing in for extra generalizers in the 12-tile grid."""

    kind = "gamma"
    reference_site = "none"
    model_hash = None

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma
        self.name = f"Gamma {gamma:.2f} (toy)"

    def harmonize(self, image: np.ndarray) -> np.ndarray:
        return np.power(image, self.gamma, dtype=np.float32)


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from xray_harmonizer.analysis import models
    from xray_harmonizer.gui.app import create_window
    from tests.gui_screens import process_events_until
    from xray_harmonizer.gui.settings import SettingsStore

    OUT.mkdir(parents=True, exist_ok=True)
    real, _ = models.available_generalizers(use_gpu=False)
    generalizers = {"list": real}
    original = models.available_generalizers
    models.available_generalizers = lambda **kw: (list(generalizers["list"]), [])
    tmp = Path(tempfile.mkdtemp(prefix="xrh-shots-"))

    def window(paths):
        store = SettingsStore(QSettings(str(tmp / f"{time.time()}.ini"),
                                        QSettings.Format.IniFormat))
        app, win = create_window(paths, store=store)
        win.resize(1600, 950)
        win.show()
        return app, win

    def spin(app, cond=lambda: True, timeout: float = 120.0, settle: float = 0.5) -> None:
        process_events_until(app, cond, timeout, settle)

    def shot(widget, name: str) -> None:
        widget.grab().save(str(OUT / name))
        print(OUT / name)

    def harmonize(app, win) -> None:
        win.harm.harmonize()
        spin(app, lambda: win.harm.result is not None)

    app, win = window(None)
    spin(app, lambda: win.study.current is not None and win.harm.models_loaded)
    harmonize(app, win)
    shot(win, "20_main_window_recommended.png")
    win.actions_.by_name["about"].trigger()
    spin(app)
    screen = QApplication.primaryScreen().grabWindow(0)
    screen.save(str(OUT / "24_about.png"))
    print(OUT / "24_about.png")
    win.about_box.close()
    win.close()

    generalizers["list"] = real + [Gamma(g) for g in (0.6, 0.8, 1.25, 1.5)]
    app, win = window(None)
    spin(app, lambda: win.study.current is not None and win.harm.models_loaded)
    win.run_compare_all()
    spin(app, lambda: len(win.compare.results) == 12, timeout=300)
    shot(win, "21_compare_all_12.png")
    win.close()

    generalizers["list"] = [g for g in real if getattr(g, "package", None) is not None
                            and g.package.name == "unit-kermany-quick"]
    app, win = window([str(DICOM / "RG1_J2KI.dcm")])
    spin(app, lambda: win.study.current is not None and win.harm.models_loaded)
    harmonize(app, win)
    shot(win, "22_structure_guard_rg1_unit.png")
    win.close()

    generalizers["list"] = real
    app, win = window([str(DICOM / "RG2_UNC.dcm")])
    spin(app, lambda: win.study.current is not None and win.harm.models_loaded)
    harmonize(app, win)
    shot(win, "23_domain_guard_rg2_hip.png")
    win.close()
    models.available_generalizers = original
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
