"""Study I/O: open DICOM and raster radiographs as XrayImage, export harmonized images.

``open_image(path)`` opens one file; ``open_study(path)`` a file, folder or DICOM series;
``describe(image)`` gives the identity-free facts printed by ``xray-harmonizer info``.
Exporters live in :mod:`xray_harmonizer.io.export`.
"""

from xray_harmonizer.io.errors import (
    ColourImageError,
    CorruptImageError,
    EmptyPixelDataError,
    ExportError,
    FileAccessError,
    ImageSizeError,
    NotAnImageError,
    NotProjectionRadiographError,
    StudyError,
    UnsupportedTransferSyntaxError,
)
from xray_harmonizer.io.image import ImageMetadata, XrayImage
from xray_harmonizer.io.reader import describe, open_image
from xray_harmonizer.io.study import StudyResult, iter_study, open_study, study_files

__all__ = [
    "ColourImageError",
    "CorruptImageError",
    "EmptyPixelDataError",
    "ExportError",
    "FileAccessError",
    "ImageMetadata",
    "ImageSizeError",
    "NotAnImageError",
    "NotProjectionRadiographError",
    "StudyError",
    "StudyResult",
    "UnsupportedTransferSyntaxError",
    "XrayImage",
    "describe",
    "iter_study",
    "open_image",
    "open_study",
    "study_files",
]
