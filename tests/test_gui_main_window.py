"""Every user action of the main window, offscreen with pytest-qt."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from tests.gui_support import (SAMPLES, BrokenGeneralizer, FakeClassifier, FakeGeneralizer,
                               harmonize, make_store, make_window, patch_models)

pytestmark = pytest.mark.gui


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    patch_models(monkeypatch, classifier=FakeClassifier())
    return make_window(qtbot, tmp_path)


def test_opens_the_sample_study_with_thumbnails_and_no_patient_name(qtbot, win):
    assert len(win.study.entries) == len(list(SAMPLES.glob("*.dcm"))) >= 2
    assert win.study_list.list.count() == len(win.study.entries)
    item = win.study_list.list.item(0)
    assert not item.icon().isNull()
    text = item.text() + item.toolTip() + win.windowTitle()
    assert "ANONYMOUS" not in text and "SAMPLE^" not in text
    assert win.compare_view.original.image_item.image is not None
    qtbot.waitUntil(win.histograms.curves["original"].isVisible, timeout=10000)
    assert win.histograms.curves["reference"].isVisible()


def test_harmonize_updates_images_histograms_metrics_and_status(qtbot, win):
    result = harmonize(qtbot, win)
    assert result.harmonized.shape == win.study.current.image.shape
    shown = win.compare_view.harmonized.image_item.image
    assert np.array_equal(shown, result.harmonized)
    assert win.histograms.curves["harmonized"].isVisible()
    assert win.metrics.ssim.text().startswith(f"{result.ssim:.3f}")
    assert "Pneumonia" in win.metrics.p_original.text()
    assert "Pneumonia" in win.metrics.p_harmonized.text()
    assert "CPU" in win.provider_label.text()
    assert "harmonize" in win.timing_label.text()
    assert win.actions_.by_name["export_png"].isEnabled()


def test_switching_generalizer_clears_then_auto_harmonizes(qtbot, win):
    first = harmonize(qtbot, win)
    win.bar.auto.setChecked(True)
    with qtbot.waitSignal(win.harm.result_changed, timeout=30000,
                          check_params_cb=lambda r: r is not None):
        win.bar.combo.setCurrentIndex(1)
    second = win.harm.result
    assert second.generalizer != first.generalizer
    assert second.generalizer == "Gamma 0.7"
    assert "Gamma 0.7" in win.compare_view.harmonized.title
    assert win.store.load().auto_harmonize


def test_selecting_another_image_shows_it(qtbot, win):
    harmonize(qtbot, win)
    with qtbot.waitSignal(win.study.current_changed):
        win.study_list.list.setCurrentRow(1)
    assert win.study.current_index == 1
    assert np.array_equal(win.compare_view.original.image_item.image,
                          win.study.entries[1].image.pixels)
    assert win.harm.result is None
    assert win.compare_view.harmonized.image_item.image is None


class _Wheel:
    """The parts of a QGraphicsSceneWheelEvent that ViewBox.wheelEvent reads."""

    def __init__(self, delta: int, pos: QPointF) -> None:
        self._delta, self._pos = delta, pos

    def delta(self):
        return self._delta

    def pos(self):
        return self._pos

    def accept(self):
        pass

    def ignore(self):
        pass


def _centre_and_scale(view):
    rect = view.viewRect()
    return rect.center().x(), rect.center().y(), rect.width() / view.boundingRect().width()


def test_zoom_and_pan_are_linked(qtbot, win):
    harmonize(qtbot, win)
    win.actions_.by_name["overlay_ssim"].trigger()  # a third pane, shown late, follows too
    qtbot.wait(100)
    panes = (win.compare_view.original.view, win.compare_view.harmonized.view,
             win.compare_view.map_pane.view)
    before = _centre_and_scale(panes[0])
    panes[1].wheelEvent(_Wheel(240, QPointF(40, 60)))  # the user zooms the harmonized pane
    qtbot.wait(50)
    after = [_centre_and_scale(v) for v in panes]
    assert after[1][2] < before[2] * 0.9  # zoomed in
    for other in after:
        assert other == pytest.approx(after[1], rel=1e-3, abs=0.5)
    panes[0].translateBy(x=50, y=-20)  # a pan in code, then synchronised
    win.compare_view.link.sync_from(panes[0])
    assert _centre_and_scale(panes[1]) == pytest.approx(_centre_and_scale(panes[0]), abs=0.5)
    win.actions_.by_name["fit"].trigger()
    h, w = win.study.current.image.shape
    rect = panes[0].viewRect()
    assert rect.width() >= w * 0.99 and rect.height() >= h * 0.99


class _Drag:
    """The parts of a pyqtgraph MouseDragEvent that the ViewBox override reads."""

    def __init__(self, dx: float, dy: float) -> None:
        self._pos, self._last = QPointF(100 + dx, 100 + dy), QPointF(100, 100)
        self.accepted = False

    def button(self):
        return Qt.MouseButton.RightButton

    def pos(self):
        return self._pos

    def lastPos(self):  # noqa: N802
        return self._last

    def accept(self):
        self.accepted = True


def test_right_drag_changes_window_level_on_both_images(qtbot, win):
    harmonize(qtbot, win)
    view = win.compare_view.harmonized.view
    width = view.boundingRect().width()
    ev = _Drag(dx=-0.25 * width, dy=0)
    view.mouseDragEvent(ev)
    assert ev.accepted
    center, w = win.display.window
    assert w == pytest.approx(0.75, abs=0.01) and center == pytest.approx(0.5)
    low, high = win.display.levels
    for pane in (win.compare_view.original, win.compare_view.harmonized):
        assert tuple(pane.image_item.levels) == pytest.approx((low, high))
    assert win.histograms.window_region.getRegion() == pytest.approx((low, high))
    win.actions_.by_name["reset_window"].trigger()
    assert win.display.window == (0.5, 1.0)


def test_invert_swipe_flicker_and_maps(qtbot, win):
    harmonize(qtbot, win)
    win.actions_.by_name["invert"].trigger()
    assert win.display.invert
    lut = win.compare_view.original.image_item.lut
    assert lut[0] == 255 and lut[-1] == 0
    win.actions_.by_name["mode_swipe"].trigger()
    assert not win.compare_view.harmonized.isVisible()
    assert win.compare_view.original.split_line.isVisible()
    win.compare_view.original.split_line.setValue(10)
    assert win.compare_view.original._clip.rect().left() == pytest.approx(10)
    win.actions_.by_name["mode_flicker"].trigger()
    qtbot.waitUntil(lambda: "harmonized" in win.compare_view.mode_title, timeout=3000)
    win.actions_.by_name["mode_side"].trigger()
    assert win.compare_view.harmonized.isVisible()
    win.actions_.by_name["overlay_difference"].trigger()
    assert win.compare_view.map_pane.isVisible()
    assert np.array_equal(win.compare_view.map_pane.image_item.image, win.harm.result.difference)
    win.actions_.by_name["overlay_ssim"].trigger()
    assert np.array_equal(win.compare_view.map_pane.image_item.image, win.harm.result.ssim_map)
    win.actions_.by_name["overlay_none"].trigger()
    assert not win.compare_view.map_pane.isVisible()


def test_export_png_dicom_and_report(qtbot, win, tmp_path):
    import pydicom
    from PIL import Image

    result = harmonize(qtbot, win)
    targets = {"png": tmp_path / "out.png", "dicom": tmp_path / "out.dcm",
               "report": tmp_path / "report.html"}
    for kind, path in targets.items():
        win.export(kind, str(path))
    qtbot.waitUntil(lambda: all(p.exists() for p in targets.values()), timeout=30000)
    assert win.errors == []
    with Image.open(targets["png"]) as im:
        assert im.size == result.harmonized.shape[::-1]
    ds = pydicom.dcmread(targets["dicom"])
    assert "DERIVED" in ds.ImageType and result.generalizer in ds.DerivationDescription
    html = targets["report"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "<svg" in html
    assert result.generalizer in html and (result.model_hash or "") in html
    assert "ANONYMOUS" not in html


def test_export_refuses_to_overwrite_the_input(qtbot, win):
    harmonize(qtbot, win)
    source = win.study.current.image.meta.source
    before = source.read_bytes()
    win.export("dicom", str(source))
    qtbot.waitUntil(lambda: bool(win.errors), timeout=10000)
    assert source.read_bytes() == before


def test_compare_all_fills_the_grid(qtbot, win):
    with qtbot.waitSignal(win.compare.busy, timeout=60000, check_params_cb=lambda b: not b):
        win.actions_.by_name["compare_all"].trigger()
    results = win.compare.results
    assert [r.generalizer for r in results] == [g.name for g in win.harm.generalizers]
    assert len(win.compare_all_view.images) == len(results) + 1
    assert all("SSIM" in t for t in win.compare_all_view.labels[1:])
    assert all(r.p_harmonized is not None and r.w1_harmonized is not None for r in results)


def test_bad_file_shows_a_non_modal_error_and_the_app_goes_on(qtbot, win, tmp_path):
    bad = tmp_path / "not_an_xray.dcm"
    bad.write_bytes(b"this is not DICOM" * 10)
    win.open_path(str(bad))
    qtbot.waitUntil(lambda: bool(win.errors), timeout=10000)
    assert "not_an_xray.dcm" in win.errors[-1]
    box = win._error_box
    assert isinstance(box, QMessageBox) and box.isVisible() and not box.isModal()
    assert len(win.study.entries) >= 2  # the open study is untouched
    harmonize(qtbot, win)  # and still usable


def test_generalizer_failure_is_reported(qtbot, tmp_path, monkeypatch):
    patch_models(monkeypatch, generalizers=[BrokenGeneralizer("Broken")])
    win = make_window(qtbot, tmp_path)
    win.harm.harmonize()
    qtbot.waitUntil(lambda: bool(win.errors), timeout=10000)
    assert "model exploded" in win.errors[-1]


def test_no_classifier_says_so(qtbot, tmp_path, monkeypatch):
    patch_models(monkeypatch)
    win = make_window(qtbot, tmp_path)
    assert win.metrics.classifier.text() == "no classifier installed"
    result = harmonize(qtbot, win)
    assert result.p_original is None and win.metrics.p_original.text() == "—"


def test_drag_and_drop_and_recent_studies(qtbot, win, shared_data):
    png = shared_data / "cxr" / "kermany" / sorted(
        p.name for p in (shared_data / "cxr" / "kermany").glob("*.png"))[0]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(win.study.opened, timeout=10000):
        win.dropEvent(event)
    assert win.study.current.title == png.name
    assert win.store.recent()[0] == str(png)
    recent = [a.text() for a in win.actions_.recent_menu.actions()]
    assert recent[0] == str(png)


def test_settings_persist(qtbot, win, tmp_path):
    from xray_harmonizer.gui.settings import AppSettings

    new = AppSettings(model_folder=str(tmp_path), working_size=512, use_gpu=False, theme="light")
    with qtbot.waitSignal(win.harm.generalizers_changed, timeout=30000):
        win.apply_settings(new)  # model settings changed: the models reload
    assert make_store(tmp_path).load() == new


def test_cancel_drops_a_slow_result(qtbot, tmp_path, monkeypatch):
    patch_models(monkeypatch, generalizers=[FakeGeneralizer("Slow", delay_s=0.5)])
    win = make_window(qtbot, tmp_path)
    win.harm.harmonize()
    win.actions_.by_name["cancel"].trigger()
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=10000)
    assert win.harm.result is None and win.errors == []


def test_png_study_opens(qtbot, tmp_path, monkeypatch, fullres_dir):
    patch_models(monkeypatch)
    win = make_window(qtbot, tmp_path, [fullres_dir / "IM-0145-0001.png"])
    assert win.study.current.image.shape == (1156, 1596)
    assert np.array_equal(win.compare_view.original.image_item.image,
                          win.study.current.image.pixels)


def test_run_entry_point_opens_the_sample_and_exits_cleanly(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from xray_harmonizer.gui.app import run
    from xray_harmonizer.gui.main_window import MainWindow

    patch_models(monkeypatch)
    seen = []

    def fake_exec(app):
        # A real app.exec()/quit() pair would leave this test process's Qt unable to deliver
        # queued signals from worker threads to later tests; stand in for the event loop.
        def shown():
            return [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, MainWindow) and w.isVisible()]

        qtbot.waitUntil(lambda: bool(shown()) and shown()[0].study.current is not None
                        and shown()[0].harm.models_loaded, timeout=30000)
        win = shown()[0]
        seen.append(win.study.current.title)
        win.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert run([], store=make_store(tmp_path)) == 0
    assert seen and seen[0].startswith("sample1")


def test_one_to_one_shows_one_image_pixel_per_screen_pixel(qtbot, win):
    harmonize(qtbot, win)
    win.actions_.by_name["one_to_one"].trigger()
    for pane in (win.compare_view.original, win.compare_view.harmonized):
        rect, size = pane.view.viewRect(), pane.view.boundingRect()
        assert rect.width() / size.width() == pytest.approx(1.0, rel=0.02)


def test_a_big_folder_streams_in_and_stops_at_the_cap(qtbot, win, monkeypatch, fullres_dir):
    from xray_harmonizer.analysis import study

    monkeypatch.setattr(study, "MAX_STUDY_IMAGES", 3)
    firsts = []
    win.study.current_changed.connect(lambda e: firsts.append(len(win.study.entries)))
    win.open_path(str(fullres_dir))
    qtbot.waitUntil(lambda: bool(win.errors), timeout=30000)
    assert len(win.study.entries) == 3
    assert firsts[0] == 1  # the first image was shown before the others had loaded
    assert "opened the first 3" in win.errors[-1]
    assert win.study_list.list.count() == 3
