"""A wizard page with the equivalent CLI command under its content, kept up to date."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWizardPage

from xray_harmonizer.gui.wizard.state import WizardState


class StatePage(QWizardPage):
    """``self.body`` is the page's layout; the command line sits below it."""

    def __init__(self, state: WizardState, title: str, subtitle: str) -> None:
        super().__init__()
        self.state = state
        self.setTitle(title)
        self.setSubTitle(subtitle)
        outer = QVBoxLayout(self)
        self.body = QVBoxLayout()
        outer.addLayout(self.body, 1)
        hint = QLabel("The same as one command:")
        hint.setStyleSheet("color: gray")
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.command.setObjectName("cli_command")
        self.command.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        outer.addWidget(hint)
        outer.addWidget(self.command)
        state.changed.connect(self._refresh_command)
        self._refresh_command()

    def _refresh_command(self) -> None:
        self.command.setText(self.state.command_line())
        self.command.setCursorPosition(0)
