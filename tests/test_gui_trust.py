"""What the window shows must be trustworthy (issue 10): guards, evidence, layout, About."""

from __future__ import annotations

import pytest

from tests.gui_support import (FakeClassifier, FakeGeneralizer, harmonize, make_window,
                               patch_models)

pytestmark = pytest.mark.gui


def test_compare_all_with_twelve_generalizers_scrolls_and_keeps_tiles_readable(
        qtbot, tmp_path, monkeypatch):
    """Catches the grid clipping and cropping tiles from ten generalizers on (no scroll)."""
    from xray_harmonizer.gui.widgets.compare_all_view import MIN_TILE_PX

    gens = [FakeGeneralizer(f"Gamma {0.5 + 0.05 * i:.2f}", 0.5 + 0.05 * i) for i in range(12)]
    patch_models(monkeypatch, generalizers=gens, classifier=FakeClassifier())
    win = make_window(qtbot, tmp_path)
    win.resize(1500, 900)
    with qtbot.waitSignal(win.compare.results_changed, timeout=60000,
                          check_params_cb=lambda r: len(r) == 12):
        win.actions_.by_name["compare_all"].trigger()
    qtbot.wait(200)
    view = win.compare_all_view
    assert len(view.views) == 13
    assert view.graphics.height() > view.scroll.viewport().height()  # it scrolls
    assert min(v.sceneBoundingRect().height() for v in view.views) >= MIN_TILE_PX * 0.8
    assert max(v.sceneBoundingRect().right() for v in view.views) <= view.graphics.width() + 1


def test_window_keeps_its_size_after_harmonize(qtbot, tmp_path, monkeypatch):
    """Catches the window growing by itself when long warnings and status texts appear."""
    patch_models(monkeypatch, generalizers=[FakeGeneralizer("Gamma 0.2 with a long name " * 3,
                                                            0.2)],
                 classifier=FakeClassifier())
    win = make_window(qtbot, tmp_path)
    win.resize(1200, 800)
    qtbot.wait(100)
    before = win.size()
    result = harmonize(qtbot, win)
    assert result.warnings  # the strong gamma makes the panel warn
    qtbot.wait(200)
    assert win.size() == before


def test_p_original_shows_as_soon_as_a_study_opens(qtbot, tmp_path, monkeypatch):
    """Catches P(original) appearing only after Harmonize."""
    patch_models(monkeypatch, classifier=FakeClassifier())
    win = make_window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: "%" in win.metrics.p_original.text(), timeout=20000)
    assert win.harm.result is None


def test_hip_shows_the_reason_instead_of_a_probability(qtbot, tmp_path, monkeypatch, dicom_dir):
    """Catches the real classifier's number on a hip (RG2) reaching the panel."""
    from xray_harmonizer.analysis import models

    patch_models(monkeypatch, classifier=models.load_classifier(use_gpu=False))
    win = make_window(qtbot, tmp_path, paths=[dicom_dir / "RG2_UNC.dcm"])
    qtbot.waitUntil(lambda: "not shown" in win.metrics.p_original.text(), timeout=30000)
    assert "not a chest radiograph (BodyPartExamined HIP)" in win.metrics.p_original.text()
    result = harmonize(qtbot, win)
    assert result.p_original is None and result.p_harmonized is None
    assert "%" not in win.metrics.p_harmonized.text()
    assert any("BodyPartExamined HIP" in w for w in result.warnings)


def test_unit_blotch_is_a_warning_with_the_region_outlined(qtbot, tmp_path, monkeypatch,
                                                           dicom_dir):
    """Catches the structure guard's finding not reaching the user (warning + outline)."""
    from xray_harmonizer.generalizers.registry import discover_generalizers, package_name

    gens, _ = discover_generalizers(use_gpu=False)
    unit = [g for g in gens if package_name(g) == "unit-kermany-quick"]
    patch_models(monkeypatch, generalizers=unit, classifier=FakeClassifier())
    win = make_window(qtbot, tmp_path, paths=[dicom_dir / "RG1_J2KI.dcm"])
    harmonize(qtbot, win, timeout=60000)
    qtbot.wait(100)
    assert win.metrics.warnings.isVisible()
    assert "changed the anatomy" in win.metrics.warnings.text()
    assert win.display.overlay == "ssim" and win.compare_view.map_pane.isVisible()
    assert win.compare_view.map_pane.outline_item.image is not None


def test_about_and_research_notice(qtbot, tmp_path, monkeypatch):
    """Catches a missing Help > About (version, models) or research-use notice."""
    from xray_harmonizer import __version__

    patch_models(monkeypatch, classifier=FakeClassifier())
    win = make_window(qtbot, tmp_path)
    assert "not for diagnosis" in win.notice_label.text() and win.notice_label.isVisible()
    win.actions_.by_name["about"].trigger()
    text = win.about_box.text()
    assert __version__ in text and "not for diagnosis" in text and "Gamma 0.7" in text
    win.about_box.close()


def test_chooser_lists_the_recommended_generalizer_first_with_evidence(qtbot, tmp_path):
    """Catches the chooser listing packages as equals, with no evidence in its tooltips."""
    from PySide6.QtCore import Qt

    win = make_window(qtbot, tmp_path)  # the real installed generalizers
    combo = win.bar.combo
    assert combo.itemText(0).startswith("Recommended")
    assert win.harm.current_index == 0
    tips = [combo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(combo.count())]
    assert all("Fitted to:" in t for t in tips)
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert any("experimental" in t for t in texts)
    assert "Fitted to:" in win.metrics.evidence.text()


def test_export_dialog_remembers_the_last_folder(qtbot, tmp_path, monkeypatch):
    """Catches export dialogs always starting in the home folder."""
    from PySide6.QtWidgets import QFileDialog

    patch_models(monkeypatch, classifier=FakeClassifier())
    win = make_window(qtbot, tmp_path)
    harmonize(qtbot, win)
    starts: list[str] = []
    target = tmp_path / "exports"
    target.mkdir()

    def fake_save(parent, title, start, filt):
        starts.append(start)
        return str(target / "out.png"), filt

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_save)
    win.export("png")
    qtbot.waitUntil(lambda: (target / "out.png").exists(), timeout=20000)
    win.export("png")
    assert starts[1].startswith(str(target))
