"""Exceptions raised when a study cannot be opened or written.

Every exception names the file and one plain reason, so that a batch can report
``path: reason`` on one line and go on with the rest.
"""

from __future__ import annotations

from pathlib import Path


class StudyError(Exception):
    """Base class: a file could not be used as a chest X-ray study."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


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
