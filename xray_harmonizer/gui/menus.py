"""Menus, shortcuts and the actions behind them (DICOM-viewer conventions where they exist)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from xray_harmonizer.gui.widgets.pacs_dialog import send_to_pacs
from xray_harmonizer.gui.widgets.about_dialog import show_about
from xray_harmonizer.gui.widgets.settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from xray_harmonizer.gui.main_window import MainWindow


class WindowActions:
    """The actions of a MainWindow, kept so tests and toolbars can trigger them by name."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.by_name: dict[str, QAction] = {}
        self.export_actions: list[QAction] = []
        self.recent_menu = None

    def add(self, menu, name: str, text: str, slot, shortcut: str | None = None,
            checkable: bool = False) -> QAction:
        action = QAction(text, self.win)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.by_name[name] = action
        return action

    def set_export_enabled(self, enabled: bool) -> None:
        for action in self.export_actions:
            action.setEnabled(enabled)

    def set_recent(self, paths: list[str]) -> None:
        menu = self.recent_menu
        menu.clear()
        for path in paths:
            action = menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.win.open_path(p))
        menu.setEnabled(bool(paths))


def build_menus(win: MainWindow) -> WindowActions:
    acts = WindowActions(win)
    d = win.display
    bar = win.menuBar()
    file = bar.addMenu("&File")
    acts.add(file, "open", "&Open file…", lambda: win.open_dialog(False), "Ctrl+O")
    acts.add(file, "open_folder", "Open &folder…", lambda: win.open_dialog(True), "Ctrl+Shift+O")
    acts.recent_menu = file.addMenu("Open &recent")
    acts.set_recent(win.store.recent())
    file.addSeparator()
    for name, text, key in (("png", "Export harmonized as &PNG…", "Ctrl+E"),
                            ("dicom", "Export harmonized as derived &DICOM…", "Ctrl+Shift+E"),
                            ("report", "Export &report (HTML)…", "Ctrl+R")):
        action = acts.add(file, f"export_{name}", text, lambda _=False, k=name: win.export(k), key)
        acts.export_actions.append(action)
    acts.export_actions.append(acts.add(file, "send_pacs", "Send to P&ACS…",
                                        lambda: send_to_pacs(win), "Ctrl+Shift+P"))
    deid = acts.add(file, "deidentify", "De-identify DICOM exports",
                    lambda on: win.apply_settings(replace(win.settings, deidentify_dicom=on)),
                    checkable=True)
    deid.setChecked(win.settings.deidentify_dicom)
    acts.set_export_enabled(False)
    file.addSeparator()
    acts.add(file, "settings", "&Settings…", lambda: _settings(win), "Ctrl+,")
    acts.add(file, "quit", "&Quit", win.close, "Ctrl+Q")

    view = bar.addMenu("&View")
    acts.add(view, "fit", "&Fit to window", d.request_fit, "F")
    acts.add(view, "one_to_one", "&1:1 pixels", d.request_one_to_one, "1")
    acts.add(view, "invert", "&Invert", lambda on: d.set_invert(on), "I", checkable=True)
    acts.add(view, "reset_window", "&Reset window/level", d.reset_window, "R")
    view.addSeparator()
    modes = QActionGroup(win)
    for name, text, key in (("side", "Side by side", "S"), ("swipe", "Swipe", "W"),
                            ("flicker", "Flicker", "K")):
        a = acts.add(view, f"mode_{name}", text, lambda _=False, m=name: d.set_mode(m), key, True)
        modes.addAction(a)
    acts.by_name["mode_side"].setChecked(True)
    view.addSeparator()
    overlays = QActionGroup(win)
    for name, text, key in (("none", "No map", "N"), ("difference", "Difference map", "D"),
                            ("ssim", "SSIM map", "M")):
        a = acts.add(view, f"overlay_{name}", text, lambda _=False, o=name: d.set_overlay(o),
                     key, True)
        overlays.addAction(a)
    acts.by_name["overlay_none"].setChecked(True)

    tools = bar.addMenu("&Harmonize")
    acts.add(tools, "harmonize", "&Harmonize", win.harm.harmonize, "Ctrl+H")
    acts.add(tools, "compare_all", "&Compare all generalizers", win.run_compare_all,
             "Ctrl+Shift+H")
    acts.add(tools, "cancel", "C&ancel", win.cancel_jobs, "Esc")
    acts.add(tools, "reload", "Re&load models", lambda: win.harm.reload_models(win.settings))

    training = bar.addMenu("&Tools")
    acts.add(training, "train_wizard", "&Train a generalizer…", lambda: _train_wizard(win))
    help_menu = bar.addMenu("&Help")
    acts.add(help_menu, "about", "&About X-Ray Harmonizer", lambda: _about(win))
    return acts


def _train_wizard(win: MainWindow) -> None:
    # Imported on use: the wizard pulls in the training API, which the app needs only here.
    from xray_harmonizer.gui.wizard.wizard import open_training_wizard

    win.training_wizard = open_training_wizard(win)


def _about(win: MainWindow) -> None:
    from xray_harmonizer import __version__

    win.about_box = show_about(win, __version__, win.harm.generalizer_infos,
                               win.harm.classifier_text)


def _settings(win: MainWindow) -> None:
    dialog = SettingsDialog(win.settings, win)
    dialog.setModal(True)
    dialog.accepted.connect(lambda: win.apply_settings(dialog.value()))
    dialog.open()  # window-modal but asynchronous: the event loop keeps running
