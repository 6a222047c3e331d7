"""open_image: one file -> XrayImage, whatever its format; describe: metadata for ``info``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import UID

from xray_harmonizer.io._common import register_input
from xray_harmonizer.io._dicom_values import PASS_THROUGH, optional_code_string
from xray_harmonizer.io.dicom import has_dicom_preamble, looks_like_raw_dataset, read_dicom
from xray_harmonizer.io.errors import (
    CorruptImageError,
    FileAccessError,
    ImageSizeError,
    NotAnImageError,
    StudyError,
)
from xray_harmonizer.io.image import XrayImage
from xray_harmonizer.io.raster import has_raster_magic, read_raster

log = logging.getLogger(__name__)

_PRINTABLE = frozenset(range(32, 127)) | {9, 10, 13}


def open_image(path: str | Path) -> XrayImage:
    """Open one radiograph file (DICOM, PNG, JPEG, TIFF, BMP) by its content, not its name.

    The file is only ever opened for reading, and is remembered as an input so that the
    exporters refuse to overwrite it.

    Returns
    -------
    XrayImage
        pixels float32 (H, W) in [0, 1], presentation orientation (see the Image contract).

    Raises
    ------
    StudyError subclass
        FileAccessError, NotAnImageError, CorruptImageError, UnsupportedTransferSyntaxError,
        NotProjectionRadiographError, EmptyPixelDataError, ImageSizeError, ColourImageError.
        ``str(exc)`` is ``"path: reason"``, one printable line without patient data. Any other
        failure of a reader or a native decoder (pyo3 ``PanicException`` is a BaseException) is
        reported as CorruptImageError, and MemoryError as ImageSizeError; only
        KeyboardInterrupt and SystemExit pass through.
    """
    p = Path(path)
    if not p.exists():
        raise FileAccessError(p, "file not found")
    if p.is_dir():
        raise FileAccessError(p, "is a folder, not a file (open it as a study)")
    try:
        with open(p, "rb") as f:
            head = f.read(132)
    except OSError as exc:
        raise FileAccessError(p, f"cannot be read ({exc.strerror or exc})") from exc
    register_input(p)
    if not head:
        raise NotAnImageError(p, "empty file (0 bytes)")
    try:
        image = _read(p, head)
    except StudyError:
        raise
    except MemoryError as exc:
        raise ImageSizeError(p, "not enough memory to open this image") from exc
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # a reader bug or a native decoder's panic: this file's error
        log.debug("reader failed on %s with %s", p.name, type(exc).__name__)
        raise CorruptImageError(p, f"file is damaged, the reader failed ({type(exc).__name__})") from exc
    if not np.isfinite(image.pixels).all():  # the Image contract; a reader must never break it
        raise CorruptImageError(p, "pixel values are not finite numbers")
    log.debug("opened %s (%s, %dx%d)", p.name, image.meta.format, image.shape[1], image.shape[0])
    return image


def _read(p: Path, head: bytes) -> XrayImage:
    if has_dicom_preamble(head):
        return read_dicom(p)
    if has_raster_magic(head):
        return read_raster(p)
    if looks_like_raw_dataset(head):
        return read_dicom(p, force=True)
    if all(b in _PRINTABLE for b in head):
        raise NotAnImageError(p, "text file, not an image")
    # Let Pillow name formats we do not read (GIF, WebP...) before giving up.
    return read_raster(p)


def describe(image: XrayImage) -> dict[str, Any]:
    """JSON-able facts about an opened image for ``xray-harmonizer info``.

    Holds the file name (not its folders), size, bit depth, photometric interpretation,
    transfer syntax, pixel spacing, modality, the VOI used and warnings. Never the patient's
    name, ID, birth date or any other identity, nor the study's accession number.
    """
    m = image.meta
    height, width = image.shape
    ds = m.dataset
    ts = m.transfer_syntax
    out: dict[str, Any] = {
        "file": m.source.name,
        "format": m.format,
        "size": [width, height],
        "width": width,
        "height": height,
        "bits_stored": m.bits_stored,
        "photometric": m.photometric,
        "transfer_syntax": ts,
        "transfer_syntax_name": UID(ts).name if ts else None,
        "pixel_spacing_mm": list(m.pixel_spacing_mm) if m.pixel_spacing_mm else None,
        "modality": m.modality,
        "body_part": optional_code_string(ds, "BodyPartExamined"),
        "view_position": optional_code_string(ds, "ViewPosition"),
        "voi": m.voi,
        "window": {"center": m.window[0], "width": m.window[1]} if m.window else None,
        "instance_number": m.instance_number,
        "warnings": list(m.warnings),
    }
    return out

