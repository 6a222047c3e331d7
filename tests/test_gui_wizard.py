"""The training wizard, driven as a user would (issue 11): scan, reference, method with a
measured estimate, training in a child process, evaluation, install, and the main window
listing and using the new model; cancel, kill and resume; folders with nothing usable."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.gui_support import make_store
from tests.test_gui_responsiveness import MAX_STALL_S, StallMeter
from tests.test_sitefit import make_site

pytestmark = pytest.mark.gui


@pytest.fixture()
def user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's data folder (models, runs) in tmp: platformdirs reads XDG_DATA_HOME, in this
    process and in the training process the wizard starts."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path / "xdg" / "xray-harmonizer"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, kermany_dir: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("wizard")
    return (make_site(root / "hospital-w", kermany_dir, n=22),
            make_site(root / "reference", kermany_dir, n=8, start=100))


def _wizard(qtbot, tmp_path: Path, **kw):
    from xray_harmonizer.gui.wizard.wizard import TrainingWizard

    wizard = TrainingWizard(runs_dir=tmp_path / "runs", **kw)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _to_training(qtbot, wizard, site: Path, ref: Path, steps: int, preview_every: int) -> None:
    wizard.data_page.scan(str(site))
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=60000)
    wizard.next()
    wizard.reference_page.images.setText(str(ref))
    assert wizard.reference_page.isComplete()
    wizard.next()
    wizard.method_page.radios["cyclegan"].setChecked(True)
    wizard.method_page.preset.setCurrentIndex(2)  # tiny
    wizard.state.set(steps=steps, preview_every=preview_every)
    wizard.next()
    assert wizard.currentPage() is wizard.training_page


def _events(wizard) -> list[dict]:
    path = wizard.state.run_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_wizard_trains_evaluates_installs_and_main_window_uses_it(qtbot, tmp_path, user_data,
                                                                  folders) -> None:
    from xray_harmonizer.analysis import models
    from xray_harmonizer.gui.app import create_window
    from tests.gui_support import harmonize

    site, ref = folders
    _, win = create_window([str(site / sorted(p.name for p in site.glob("*.png"))[0])],
                           store=make_store(tmp_path))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.harm.models_loaded and win.study.current is not None,
                    timeout=60000)
    win.actions_.by_name["train_wizard"].trigger()  # Tools > Train a generalizer…
    wizard = win.training_wizard
    page = wizard.data_page
    with StallMeter() as scan_meter:
        page.scan(str(site))
        qtbot.waitUntil(page.isComplete, timeout=60000)
    assert "22 usable images of 22 patients; nothing left out" in page.summary.text()
    assert page.thumbs.count() == 8
    wizard.next()
    wizard.reference_page.images.setText(str(ref))
    wizard.next()
    method = wizard.method_page
    method.radios["cyclegan"].setChecked(True)
    method.preset.setCurrentIndex(2)  # tiny
    qtbot.waitUntil(lambda: wizard.state.estimate is not None, timeout=120000)
    assert wizard.state.estimate["seconds_per_step"] > 0  # measured, not guessed
    assert "on this computer" in method.estimate.text()
    wizard.state.set(steps=12, preview_every=4)
    wizard.next()
    training = wizard.training_page
    assert "train site" in training.command.text() and "--preset tiny" in training.command.text()
    assert not training.isComplete()
    with StallMeter() as train_meter:
        training.start_button.click()
        qtbot.waitUntil(training.isComplete, timeout=180000)
    assert training.preview.pixmap() is not None and not training.preview.pixmap().isNull()
    assert set(training.curves) >= {"G", "D"} and training.progress.value() == 12
    wizard.next()
    evaluation = wizard.evaluation_page
    qtbot.waitUntil(evaluation.isComplete, timeout=120000)
    ev = wizard.state.evaluation
    assert ev.images == len(json.loads((wizard.state.run_dir / "plan.json").read_text())
                            ["held_out"]) > 0
    assert f"SSIM {ev.ssim:.2f}" in evaluation.verdict.text()
    assert evaluation.examples.count() >= 2  # side-by-side examples
    wizard.next()
    wizard.finish_page.name.setText("hospital-w-tiny")
    assert wizard.finish_page.isComplete()
    wizard.accept()  # Finish: installs
    installed = user_data / "models" / "hospital-w-tiny"
    manifest = json.loads((installed / "manifest.json").read_text())
    assert manifest["site"]["site"] == "hospital-w" and manifest["site"]["usable_images"] == 22
    assert manifest["reference_site"] == "kermany-pediatric"
    assert manifest["evaluation"]["ssim"] == pytest.approx(ev.ssim, abs=1e-4)
    # The main window lists it at once (reloaded by the wizard) and harmonizes with it.
    qtbot.waitUntil(lambda: any("hospital-w-tiny" in g.name for g in win.harm.generalizers),
                    timeout=60000)
    index = next(i for i, g in enumerate(win.harm.generalizers) if "hospital-w-tiny" in g.name)
    win.harm.select(index)
    result = harmonize(qtbot, win)
    assert "hospital-w-tiny" in result.generalizer
    # ... and after a restart: discovery finds it in the user's model folder.
    gens, _ = models.available_generalizers()
    assert any("hospital-w-tiny" in g.name for g in gens)
    print(f"worst UI stall: scan {scan_meter.worst * 1000:.0f} ms, "
          f"training {train_meter.worst * 1000:.0f} ms")
    assert scan_meter.worst < MAX_STALL_S and train_meter.worst < MAX_STALL_S
    assert len(train_meter.gaps) > 50


def test_cancel_kill_and_resume(qtbot, tmp_path, user_data, folders) -> None:
    """Cancel must stop the process at once; a killed (crashed) process must resume from its
    checkpoint, and the wizard must offer to when it is opened again."""
    site, ref = folders
    wizard = _wizard(qtbot, tmp_path)
    _to_training(qtbot, wizard, site, ref, steps=150, preview_every=0)
    page = wizard.training_page
    page.start_button.click()
    qtbot.waitUntil(lambda: page.last_step >= 20, timeout=120000)
    os.kill(page.proc.proc.pid, signal.SIGKILL)  # a crash, from outside
    qtbot.waitUntil(lambda: "Training stopped" in page.status.text(), timeout=30000)
    assert page.resume_button.isVisible() and not page.isComplete()
    killed_at = max(e["step"] for e in _events(wizard) if e["event"] == "checkpoint")
    # A new wizard on the same site and method (the app was closed) offers to resume.
    again = _wizard(qtbot, tmp_path)
    _to_training(qtbot, again, site, ref, steps=150, preview_every=0)
    assert f"checkpoint at step {killed_at}" in again.training_page.status.text()
    assert again.training_page.resume_button.isVisible()
    page = again.training_page
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.last_step > killed_at + 4, timeout=120000)
    starts = [e for e in _events(again) if e["event"] == "start"]
    assert starts[-1]["resumed"] and starts[-1]["step"] == killed_at
    page.pause_button.click()  # Pause stops the process; Continue picks up where it was
    assert page.proc.paused and page.pause_button.text() == "Continue"
    qtbot.wait(300)
    paused_at = len(_events(again))
    qtbot.wait(1500)
    assert len(_events(again)) == paused_at and page.proc.poll() is None
    page.pause_button.click()
    qtbot.waitUntil(lambda: len(_events(again)) > paused_at, timeout=60000)
    page.cancel_button.click()  # Cancel: the process is gone when the click returns
    assert page.proc.proc.poll() is not None
    assert "Cancelled" in page.status.text() and page.resume_button.isVisible()
    page.resume_button.click()
    qtbot.waitUntil(page.isComplete, timeout=240000)
    assert (again.state.run_dir / "package" / "manifest.json").is_file()
    assert sum(e["event"] == "start" and e["resumed"] for e in _events(again)) == 2


def test_folder_with_nothing_usable_holds_the_user(qtbot, tmp_path, user_data) -> None:
    from PIL import Image
    import numpy as np

    folder = tmp_path / "junk"
    folder.mkdir()
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / "icon.png")
    (folder / "scan.jpg").write_bytes(b"\xff\xd8\xff not really")
    wizard = _wizard(qtbot, tmp_path)
    wizard.data_page.scan(str(folder))
    qtbot.waitUntil(lambda: wizard.state.scan is not None, timeout=30000)
    assert not wizard.data_page.isComplete()
    text = wizard.data_page.summary.text()
    assert text.startswith("0 usable images of 0 patients; left out: 1 unreadable, 1 too small")
    assert "At least 20 usable images are needed" in text
    reasons = [wizard.data_page.refused.item(i).text()
               for i in range(wizard.data_page.refused.count())]
    assert "icon.png: too small (64x64, under 256 px)" in reasons


def test_folder_of_non_chest_dicoms_is_refused_with_reasons(qtbot, tmp_path, user_data,
                                                            dicom_dir) -> None:
    folder = tmp_path / "ortho"
    folder.mkdir()
    for name in ("RG2_UNC.dcm", "RG3_UNC.dcm", "RG2_JPLY_broken.dcm"):
        shutil.copy(dicom_dir / name, folder / name)
    wizard = _wizard(qtbot, tmp_path)
    wizard.data_page.scan(str(folder))
    qtbot.waitUntil(lambda: wizard.state.scan is not None, timeout=60000)
    assert not wizard.data_page.isComplete()
    reasons = {wizard.data_page.refused.item(i).text()
               for i in range(wizard.data_page.refused.count())}
    assert "RG2_UNC.dcm: not a chest radiograph (BodyPartExamined HIP)" in reasons
    assert "RG3_UNC.dcm: not a chest radiograph (BodyPartExamined EXTREMITY)" in reasons
    assert any(r.startswith("RG2_JPLY_broken.dcm: unreadable") for r in reasons)
    assert "2 not a chest radiograph" in wizard.data_page.summary.text()


def test_wizard_fast_path_fine_tunes_the_universal_generalizer(qtbot, tmp_path, user_data, folders,
                                                               kermany_dir) -> None:
    """The fast path driven as a user would: catches the universal method staying disabled (or
    not the default) when a base package is installed, an estimate that is not measured, a run
    without live curves or previews, and a result that is not installed as a universal site fit."""
    from tests.test_sitefit import _tiny_universal_base

    _tiny_universal_base(user_data / "models", kermany_dir)
    site, ref = folders
    wizard = _wizard(qtbot, tmp_path)
    wizard.data_page.scan(str(site))
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=60000)
    wizard.next()
    wizard.reference_page.images.setText(str(ref))
    wizard.next()
    method = wizard.method_page
    assert method.radios["universal"].isEnabled() and method.radios["universal"].isChecked()
    method.preset.setCurrentIndex(2)  # tiny
    qtbot.waitUntil(lambda: wizard.state.estimate is not None, timeout=120000)
    assert wizard.state.estimate["method"] == "universal"
    assert wizard.state.estimate["seconds_per_step"] > 0 and wizard.state.estimate["search_s"] > 0
    wizard.state.set(steps=12, preview_every=4)
    wizard.next()
    training = wizard.training_page
    assert "--method universal" in training.command.text()
    training.start_button.click()
    qtbot.waitUntil(training.isComplete, timeout=180000)
    assert set(training.curves) >= {"L1", "1-SSIM"} and training.progress.value() == 12
    assert training.preview.pixmap() is not None and not training.preview.pixmap().isNull()
    wizard.next()
    qtbot.waitUntil(wizard.evaluation_page.isComplete, timeout=120000)
    wizard.next()
    wizard.finish_page.name.setText("hospital-w-universal")
    wizard.accept()
    manifest = json.loads((user_data / "models" / "hospital-w-universal" / "manifest.json").read_text())
    assert manifest["generalizer_kind"] == "universal" and "fine_tune" in manifest["training"]
    assert manifest["site"]["method"] == "universal"
