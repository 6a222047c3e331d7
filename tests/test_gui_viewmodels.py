"""View models and pure GUI helpers: validation, signals, workers (no widgets)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui_support import FakeClassifier, FakeGeneralizer, make_store

pytestmark = pytest.mark.gui


def test_display_model_validates_and_emits(qtbot):
    from xray_harmonizer.gui.viewmodels.display import MIN_WIDTH, DisplayModel

    d = DisplayModel()
    with qtbot.waitSignal(d.levels_changed) as sig:
        d.set_window(0.4, 0.2)
    assert sig.args == pytest.approx([0.3, 0.5])
    d.set_window(0.4, 0.0)
    assert d.window[1] == MIN_WIDTH
    d.reset_window()
    d.drag_window(0.1, -0.1)  # right widens, up raises the level
    assert d.window == pytest.approx((0.6, 1.1))
    with pytest.raises(ValueError):
        d.set_mode("3d")
    with pytest.raises(ValueError):
        d.set_overlay("heatmap")
    with qtbot.assertNotEmitted(d.mode_changed):
        d.set_mode("side")  # unchanged: no signal
    with qtbot.waitSignal(d.invert_changed):
        d.set_invert(True)


def test_settings_round_trip_and_recent(tmp_path):
    from xray_harmonizer.gui.settings import MAX_RECENT, AppSettings

    store = make_store(tmp_path)
    assert store.load() == AppSettings()  # dark theme, GPU on, no patient name by default
    new = AppSettings(model_folder="/m", working_size=384, use_gpu=False, theme="light",
                      auto_harmonize=True, show_patient_name=True)
    store.save(new)
    assert make_store(tmp_path).load() == new
    for i in range(MAX_RECENT + 3):
        store.add_recent(f"/study/{i}")
    recent = make_store(tmp_path).recent()
    assert len(recent) == MAX_RECENT and recent[0] == f"/study/{MAX_RECENT + 2}"


def test_thumbnail_and_block_mean():
    """Catches a thumbnail that decimates or overshoots its size, and a block mean that drops
    or misplaces a block (compared with the reshape-mean definition)."""
    from xray_harmonizer.analysis.study import THUMB_SIZE, thumbnail_u8
    from xray_harmonizer.imaging.resample import block_mean, downsample_to

    img = np.random.default_rng(0).random((900, 1200), dtype=np.float32)
    t = thumbnail_u8(img)
    assert t.dtype == np.uint8 and max(t.shape) <= THUMB_SIZE
    step = int(np.ceil(1200 / THUMB_SIZE))
    ref_t = img[:900 // step * step, :1200 // step * step].reshape(
        900 // step, step, 1200 // step, step).mean(axis=(1, 3))
    assert np.abs(t.astype(float) - ref_t * 255).max() <= 0.5 + 1e-3
    assert max(downsample_to(img, 500).shape) <= 500 and downsample_to(img, 1200) is img
    ref = img[:900, :1200].reshape(300, 3, 300, 4).mean(axis=(1, 3))
    assert np.allclose(block_mean(img, 3, 4), ref, atol=1e-6)


def test_harmonize_and_measure_and_warnings():
    from xray_harmonizer import analysis
    from xray_harmonizer.analysis.models import reference_profile
    from xray_harmonizer.analysis.study import prepare_study_image
    from xray_harmonizer.io.image import ImageMetadata, XrayImage

    rng = np.random.default_rng(1)
    pixels = rng.random((256, 200), dtype=np.float32)
    entry = prepare_study_image(XrayImage(pixels, ImageMetadata(
        source=__import__("pathlib").Path("x.png"), format="png", photometric="MONOCHROME2",
        bits_stored=8)))
    res = analysis.harmonize_and_measure(entry.prepared, FakeGeneralizer(gamma=0.3),
                                         reference_profile(), FakeClassifier())
    assert res.harmonized.shape == pixels.shape and res.ssim_map.shape == pixels.shape
    assert np.allclose(res.difference, res.harmonized - pixels)
    assert abs(res.hist_harmonized.sum() - 1) < 1e-9
    assert res.p_original == pytest.approx(pixels.mean())
    assert {"harmonize", "ssim", "classify harmonized"} <= set(res.timings)
    strong = analysis.warnings_for(res, analysis.WarningThresholds(w1_far=0.0, p_disagree=0.0))
    assert any("disagrees" in w for w in strong) and any("far from" in w for w in strong)
    with pytest.raises(analysis.JobCancelled):
        analysis.harmonize_and_measure(entry.prepared, FakeGeneralizer(), None, None,
                                       cancelled=lambda: True)


def test_job_runner_reports_result_error_and_cancel(qtbot):
    from xray_harmonizer.analysis import JobCancelled
    from xray_harmonizer.gui.workers import JobRunner

    runner = JobRunner()
    got, errors = [], []
    runner.start("a", lambda rep, can: (rep(50, "half"), 42)[1], on_result=got.append,
                 on_error=errors.append)
    qtbot.waitUntil(lambda: got == [42], timeout=5000)

    def boom(rep, can):
        raise ValueError("bad pixels")

    runner.start("b", boom, on_result=got.append, on_error=errors.append)
    qtbot.waitUntil(lambda: errors == ["bad pixels"], timeout=5000)

    def slow(rep, can):
        import time
        for _ in range(200):
            if can():
                raise JobCancelled()
            time.sleep(0.005)
        return "late"

    runner.start("c", slow, on_result=got.append, on_error=errors.append)
    runner.start("c", lambda rep, can: "fresh", on_result=got.append, on_error=errors.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert got == [42, "fresh"] and errors == ["bad pixels"]


def test_job_finishing_after_its_runner_was_destroyed_is_ignored(qtbot):
    """Catches "RuntimeError: Signal source has been deleted" raised in the Qt event loop when a
    job's queued "finished" arrives after its runner (owned by a window or wizard page) was
    destroyed (seen once in test_gui_wizard: a closed wizard whose scan was ending)."""
    import time

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QObject

    from xray_harmonizer.gui.workers import JobRunner

    owner = QObject()
    runner = JobRunner(owner)
    runner.start("scan", lambda rep, can: time.sleep(0.1), on_result=lambda out: None,
                 on_error=lambda msg: None)
    runner.wait(5000)  # the job has emitted "finished"; the queued call has not run yet
    shiboken6.delete(owner)  # the window goes, and its runner with it
    assert not shiboken6.isValid(runner)
    QCoreApplication.processEvents()  # delivers the queued "finished": must not raise


def test_report_is_self_contained(tmp_path):
    from xray_harmonizer.analysis import harmonize_and_measure, report
    from xray_harmonizer.analysis.models import reference_profile
    from xray_harmonizer.analysis.study import prepare_study_image
    from xray_harmonizer.io import open_image
    from tests.gui_support import SAMPLES

    image = open_image(sorted(SAMPLES.glob("*.dcm"))[0])
    entry = prepare_study_image(image)
    res = harmonize_and_measure(entry.prepared, FakeGeneralizer(), reference_profile(),
                                FakeClassifier())
    path = report.write_report(tmp_path / "r.html", entry, res, reference_hist=None,
                               classifier_text="Pneumonia (fake)", profile_hash="abc123")
    html = path.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "<polyline" in html
    assert "abc123" in html and "Gamma 0.7" in html and "src=\"http" not in html
    assert not list(tmp_path.glob(".r.html.*"))  # no temporary file left behind


def test_settings_dialog_edits_a_copy(qtbot):
    from xray_harmonizer.gui.settings import AppSettings
    from xray_harmonizer.gui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(AppSettings(auto_harmonize=True))
    qtbot.addWidget(dialog)
    dialog.working_size.setValue(512)
    dialog.use_gpu.setChecked(False)
    dialog.theme.setCurrentText("light")
    value = dialog.value()
    assert (value.working_size, value.use_gpu, value.theme, value.auto_harmonize) == (
        512, False, "light", True)
