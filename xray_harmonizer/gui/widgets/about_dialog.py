"""Help > About: version, installed models and the research-use notice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

NOTICE = ("Research use only — not for diagnosis. The figures shown are measurements of "
          "images and of a research classifier; they are not a medical device's output.")


class ModelLine(Protocol):
    name: str
    package: str
    group: str


def about_html(version: str, generalizers: Sequence[ModelLine], classifier: str) -> str:
    """The About text (HTML): what is installed and how far to trust it."""
    rows = "".join(f"<li>{g.name} <small>({g.package}; {g.group})</small></li>"
                   for g in generalizers) or "<li>none loaded yet</li>"
    return (f"<h3>X-Ray Harmonizer {version}</h3>"
            "<p>Makes chest X-rays from a new site look, in intensity, like the images a "
            "classifier was trained on (CycleGAN, UNIT, histogram matching).</p>"
            f"<p><b>Classifier:</b> {classifier}</p>"
            f"<p><b>Generalizers:</b></p><ul>{rows}</ul>"
            f"<p style='color:#ffb000'><b>{NOTICE}</b></p>")


def show_about(parent: QWidget, version: str, generalizers: Sequence[ModelLine],
               classifier: str) -> QMessageBox:
    """A non-modal About box (the event loop keeps running; tests never block on it)."""
    box = QMessageBox(QMessageBox.Icon.Information, "About X-Ray Harmonizer",
                      about_html(version, generalizers, classifier),
                      QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setModal(False)
    box.show()
    return box
