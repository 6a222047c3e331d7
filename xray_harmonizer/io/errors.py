"""Exceptions raised when a study cannot be opened or written.

Every exception names the file and one plain reason, so that a batch can report
``path: reason`` on one line and go on with the rest. The message is always one printable line:
control characters (from file names or file contents) are replaced, and length is capped. The
readers never put element values from a file's header into a reason (a damaged length turns
the next elements, patient name and ID among them, into a "value"), only tags, element names
and exception types.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Longest reason kept in a message; decoder messages can run to kilobytes.
REASON_LIMIT = 300
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]")


def printable(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` as one printable line: control characters to ``?``, whitespace runs to one space."""
    line = _UNPRINTABLE.sub("?", " ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 3] + "..."


class StudyError(Exception):
    """Base class: a file could not be used as a chest X-ray study.

    ``path`` is the file as given; ``reason`` and ``str(exc)`` are one printable line.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = printable(reason) or "unreadable"
        super().__init__(f"{printable(str(self.path), 4096)}: {self.reason}")


class FileAccessError(StudyError):
    """The path does not exist, is a folder where a file was expected, or cannot be read."""


class NotAnImageError(StudyError):
    """The file is neither DICOM nor a raster image format we read."""


class CorruptImageError(StudyError):
    """The file claims to be an image but is truncated or damaged."""


class UnsupportedTransferSyntaxError(StudyError):
    """The DICOM pixel data is compressed with a syntax no installed decoder handles."""


class NotProjectionRadiographError(StudyError):
    """The file is an image, but not a projection radiograph (CT, MR, multi-frame volume...)."""


class EmptyPixelDataError(StudyError):
    """The DICOM file carries no pixel data (e.g. a structured report or a header only)."""


class ImageSizeError(StudyError):
    """The image is too small or absurdly large to be a radiograph."""


class ColourImageError(StudyError):
    """The image is truly coloured (not grey stored as RGB) and cannot be harmonized."""


class ExportError(StudyError):
    """A harmonized image could not be written."""
