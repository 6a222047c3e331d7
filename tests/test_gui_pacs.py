"""File > Send to PACS… and de-identified DICOM export from the app (offscreen, dcmtk storescp)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from tests.gui_support import harmonize, make_window, patch_models
from tests.test_io_pacs import _free_port, _start_storescp
from xray_harmonizer.gui.widgets.pacs_dialog import send_to_pacs

pytestmark = pytest.mark.gui


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    patch_models(monkeypatch)
    return make_window(qtbot, tmp_path / "cfg")


def test_send_to_pacs_stores_the_harmonized_image(qtbot, win, tmp_path):
    """The dialog's node reaches storescp in a worker; the node is remembered; with
    de-identify ticked the stored object carries no identity."""
    proc, port = _start_storescp(tmp_path / "received")
    try:
        result = harmonize(qtbot, win)
        dialog = send_to_pacs(win)
        dialog.host.setText("127.0.0.1")
        dialog.port.setValue(port)
        dialog.called_aet.setText("TESTPACS")
        dialog.deidentify.setChecked(True)
        dialog.send_button.click()
        qtbot.waitUntil(lambda: any((tmp_path / "received").iterdir()), timeout=30000)
        qtbot.waitUntil(lambda: "Sent the harmonized image" in win.statusBar().currentMessage(),
                        timeout=10000)
    finally:
        proc.terminate()
        proc.wait(10)
    assert win.errors == []
    (received,) = list((tmp_path / "received").iterdir())
    ds = pydicom.dcmread(received)
    assert ds.PatientIdentityRemoved == "YES" and result.generalizer in ds.SeriesDescription
    assert (win.settings.pacs_host, win.settings.pacs_port, win.settings.pacs_called_aet) == (
        "127.0.0.1", port, "TESTPACS")
    assert win.store.load().deidentify_dicom  # saved, so the next dialog starts from it
    assert win.actions_.by_name["deidentify"].isChecked()  # and the File menu shows it


def test_unreachable_pacs_is_a_one_line_error_and_the_app_goes_on(qtbot, win):
    harmonize(qtbot, win)
    dialog = send_to_pacs(win)
    dialog.host.setText("127.0.0.1")
    dialog.port.setValue(_free_port())
    dialog.send_button.click()
    qtbot.waitUntil(lambda: bool(win.errors), timeout=20000)
    assert win.errors[-1].startswith("cannot reach 127.0.0.1:") and "\n" not in win.errors[-1]
    assert win.actions_.by_name["harmonize"].isEnabled()


def test_dialog_refuses_an_empty_host(qtbot, win):
    harmonize(qtbot, win)
    dialog = send_to_pacs(win)
    dialog.host.setText("")
    dialog.send_button.click()
    assert dialog.isVisible() and "host" in dialog.problem.text()
    dialog.reject()


def test_deidentified_dicom_export(qtbot, win, tmp_path):
    """With the setting on, File > Export DICOM writes no patient identity; two exports of one
    study in one session share the new StudyInstanceUID."""
    harmonize(qtbot, win)
    assert win.actions_.by_name["send_pacs"].isEnabled()
    win.actions_.by_name["deidentify"].trigger()  # File > De-identify DICOM exports
    assert win.settings.deidentify_dicom
    targets = [tmp_path / "a.dcm", tmp_path / "b.dcm"]
    for path in targets:
        win.export("dicom", str(path))
        qtbot.waitUntil(path.exists, timeout=30000)
    source = pydicom.dcmread(win.study.current.image.meta.source, stop_before_pixels=True)
    a, b = (pydicom.dcmread(p) for p in targets)
    assert a.StudyInstanceUID == b.StudyInstanceUID != source.StudyInstanceUID
    assert str(source.PatientName).encode() not in Path(targets[0]).read_bytes()
    assert a.PatientIdentityRemoved == "YES"
