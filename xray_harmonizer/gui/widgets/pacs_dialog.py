"""File > Send to PACS…: a small dialog for the node, then a C-STORE in a worker thread.

The node (host, port, AE titles) and the de-identify choice are remembered in the app's
settings. The harmonized image is written as derived DICOM to a temporary folder, sent by
:func:`xray_harmonizer.io.pacs.send_files` and the folder removed; the UI thread only shows the
result line or the one-line error.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QSpinBox, QWidget)

from xray_harmonizer.gui.settings import AppSettings
from xray_harmonizer.io.pacs import PacsNode

if TYPE_CHECKING:
    from xray_harmonizer.gui.main_window import MainWindow

SEND_TIMEOUT_S = 10.0


class PacsDialog(QDialog):
    """Edits the PACS node of :class:`AppSettings`; ``value()`` returns the edited settings."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send to PACS")
        self._base = settings
        self.host = QLineEdit(settings.pacs_host)
        self.host.setPlaceholderText("pacs.hospital.local or 10.0.0.5")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(settings.pacs_port)
        self.called_aet = QLineEdit(settings.pacs_called_aet)
        self.calling_aet = QLineEdit(settings.pacs_calling_aet)
        for edit in (self.called_aet, self.calling_aet):
            edit.setMaxLength(16)
        self.deidentify = QCheckBox("De-identify (DICOM PS3.15 Basic Profile)")
        self.deidentify.setChecked(settings.deidentify_dicom)
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #e0a040")
        form = QFormLayout(self)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("PACS AE title (called)", self.called_aet)
        form.addRow("Our AE title (calling)", self.calling_aet)
        form.addRow("", self.deidentify)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.send_button = buttons.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def node(self) -> PacsNode:
        """The node as entered; ValueError with one line when it is not usable."""
        host = self.host.text().strip()
        if not host:
            raise ValueError("enter the PACS host")
        return PacsNode(host, int(self.port.value()), called_aet=self.called_aet.text().strip(),
                        calling_aet=self.calling_aet.text().strip())

    def value(self) -> AppSettings:
        return replace(self._base, pacs_host=self.host.text().strip(),
                       pacs_port=int(self.port.value()),
                       pacs_called_aet=self.called_aet.text().strip(),
                       pacs_calling_aet=self.calling_aet.text().strip(),
                       deidentify_dicom=self.deidentify.isChecked())

    def _accept_if_valid(self) -> None:
        try:
            self.node()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()


def send_to_pacs(win: MainWindow) -> PacsDialog | None:
    """Open the dialog for the shown harmonized image; on Send, store it in a worker thread."""
    entry, result = win.study.current, win.harm.result
    if entry is None or result is None:
        win.show_error("Send to PACS", ["Harmonize an image first."])
        return None
    dialog = PacsDialog(win.settings, win)
    dialog.setModal(True)

    def send() -> None:
        win.apply_settings(dialog.value())
        win.actions_.by_name["deidentify"].setChecked(dialog.deidentify.isChecked())  # File menu
        node = dialog.node()
        deidentifier = win.deidentifier if dialog.deidentify.isChecked() else None

        def job(rep: Any, can: Any) -> str:
            from xray_harmonizer.io.export import write_derived_dicom
            from xray_harmonizer.io.pacs import PacsError, send_files

            with tempfile.TemporaryDirectory(prefix="xrh-send-") as tmp:
                path = write_derived_dicom(result.harmonized, entry.image, Path(tmp) / "harmonized.dcm",
                                           generalizer_name=result.generalizer,
                                           model_hash=result.model_hash, deidentifier=deidentifier)
                sent = send_files([path], node, timeout=SEND_TIMEOUT_S)
            if sent.failed:
                raise PacsError(sent.failed[0][1])
            return f"Sent the harmonized image to {node}"

        win.statusBar().showMessage(f"Sending to {node}…")
        win.runner.start("send_pacs", job,
                         on_result=lambda text: win.statusBar().showMessage(text, 8000),
                         on_error=lambda msg: win.show_error("Send to PACS failed", [msg]))

    dialog.accepted.connect(send)
    dialog.open()  # window-modal but asynchronous, like Settings
    return dialog
