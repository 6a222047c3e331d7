"""SettingsDialog: model folder, working resolution, GPU on/off, theme, patient name."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget)

from xray_harmonizer.gui.settings import AppSettings


class SettingsDialog(QDialog):
    """Edits a copy of :class:`AppSettings`; ``value()`` returns the edited settings."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._base = settings
        self.model_folder = QLineEdit(settings.model_folder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.model_folder)
        folder_row.addWidget(browse)
        self.working_size = QSpinBox()
        self.working_size.setRange(0, 4096)
        self.working_size.setSingleStep(128)
        self.working_size.setSpecialValueText("package default")
        self.working_size.setValue(settings.working_size)
        self.use_gpu = QCheckBox("Use the GPU (CUDA) when available")
        self.use_gpu.setChecked(settings.use_gpu)
        self.theme = QComboBox()
        self.theme.addItems(["dark", "light"])
        self.theme.setCurrentText(settings.theme)
        self.show_patient = QCheckBox("Show patient name on screen")
        self.show_patient.setChecked(settings.show_patient_name)
        form = QFormLayout(self)
        form.addRow("Extra model folder", folder_row)
        form.addRow("Working resolution (px)", self.working_size)
        form.addRow("", self.use_gpu)
        form.addRow("Theme (on restart)", self.theme)
        form.addRow("", self.show_patient)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_folder.text())
        if folder:
            self.model_folder.setText(folder)

    def value(self) -> AppSettings:
        # replace(): settings edited elsewhere (PACS node, de-identify) are kept as they were.
        return replace(self._base, model_folder=self.model_folder.text().strip(),
                       working_size=int(self.working_size.value()),
                       use_gpu=self.use_gpu.isChecked(), theme=self.theme.currentText(),
                       show_patient_name=self.show_patient.isChecked())
