"""Screenshots of every page of the training wizard, driven on real data (run under Xvfb).

    Xvfb :94 -screen 0 1600x1000x24 &
    DISPLAY=:94 QT_QPA_PLATFORM=xcb OMP_NUM_THREADS=1 python benchmarks/wizard_screens.py

The site: 60 images of the simulated unseen site (``runs/wizard-demo/site``, made by
``training.gan.demo_data`` with ``benchmarks/sites/site_unseen_r2026.json``) plus a hip and a
knee DICOM, a damaged DICOM and a duplicate, so the Data page shows its reasons. The method is
the default, the universal generalizer's fast path, with its real ``quick`` preset (500 steps,
a minute or two on this CPU), so the pages show a usable model. Writes ``benchmarks/results/screenshots/wizard_*.png``; the user's data folder
is redirected to a scratch folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
OUT = REPO / "benchmarks" / "results" / "screenshots"


def build_site(root: Path) -> Path:
    site = root / "site-unseen"
    site.mkdir(parents=True)
    files = sorted((REPO / "runs" / "wizard-demo" / "site").glob("*.png"))[:60]
    for f in files:
        shutil.copy(f, site / f.name)
    shutil.copy(files[0], site / f"copy-of-{files[0].name}")
    for name in ("RG2_UNC.dcm", "RG3_UNC.dcm", "RG2_JPLY_broken.dcm"):
        shutil.copy(REPO.parent / "shared" / "data" / "dicom" / name, site / name)
    return site


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="wizard-screens-"))
    os.environ["XDG_DATA_HOME"] = str(scratch / "xdg")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from tests.gui_screens import process_events_until
    from xray_harmonizer.gui.app import create_window
    from xray_harmonizer.gui.settings import SettingsStore

    site = build_site(scratch)
    store = SettingsStore(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    app, win = create_window(None, store=store)
    win.resize(1500, 900)
    win.show()

    def spin(cond=lambda: True, timeout: float = 600.0, settle: float = 0.5) -> None:
        if not process_events_until(app, cond, timeout, settle):
            raise SystemExit("timed out")

    OUT.mkdir(parents=True, exist_ok=True)

    def shot(widget, name: str) -> None:
        path = OUT / f"wizard_{name}.png"
        widget.grab().save(str(path))
        print(path)

    spin(lambda: win.harm.models_loaded and win.study.current is not None)
    win.actions_.by_name["train_wizard"].trigger()
    wiz = win.training_wizard
    wiz.data_page.folder.setText(str(site))
    wiz.data_page.scan(str(site))
    spin(wiz.data_page.isComplete)
    shot(wiz, "1_data")
    wiz.next()
    wiz.reference_page.images.setText(str(REPO / "runs" / "wizard-demo" / "reference"))
    spin()
    shot(wiz, "2_reference")
    wiz.next()
    spin(lambda: wiz.state.estimate is not None)
    shot(wiz, "3_method_quick")  # the estimate of the real quick preset
    wiz.state.set(preview_every=25)
    wiz.next()
    wiz.training_page.start_button.click()
    spin(lambda: wiz.training_page.last_step >= 300 and not wiz.training_page.preview.pixmap()
         .isNull(), settle=1.0)
    shot(wiz, "4_training")
    spin(wiz.training_page.isComplete)
    wiz.next()
    spin(wiz.evaluation_page.isComplete)
    shot(wiz, "5_evaluation")
    wiz.next()
    wiz.finish_page.name.setText("site-unseen-universal")
    spin()
    shot(wiz, "6_finish")
    wiz.accept()
    spin(lambda: any("site-unseen" in g.name for g in win.harm.generalizers))
    index = next(i for i, g in enumerate(win.harm.generalizers) if "site-unseen" in g.name)
    win.bar.combo.setCurrentIndex(index)
    spin()
    shot(win, "7_main_window_lists_the_new_model")
    win.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
