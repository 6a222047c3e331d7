"""File > Send to PACS…: the node dialog (host, port, AE titles, de-identify), prefilled."""

from __future__ import annotations

import sys
from dataclasses import replace

from _example_data import run

from xray_harmonizer.gui.settings import AppSettings
from xray_harmonizer.gui.widgets.pacs_dialog import PacsDialog


def build():
    settings = replace(AppSettings(), pacs_host="pacs.hospital.local", pacs_port=11112,
                       pacs_called_aet="ORTHANC")
    return PacsDialog(settings)


if __name__ == "__main__":
    sys.exit(run(build()))
