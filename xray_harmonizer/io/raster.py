"""Read PNG/JPEG/TIFF/BMP radiographs (8 or 16 bit, grey or grey-as-RGB) into an XrayImage.

Scaling: 8-bit samples are divided by 255. 16-bit samples are divided by ``2**bits - 1`` where
``bits`` is, in order: the PNG ``sBIT`` chunk when the values fit in it (a writer that stored
12-bit data unshifted), else 16 when the values exceed sBIT (spec-conformant shifted data), else
the smallest of 8/10/12/14/16 bits that holds the largest value. Detectors deliver 10-14 bit data
that is often stored unshifted in 16-bit PNG/TIFF; dividing by 65535 would crush it into the
bottom of [0, 1]. An inferred depth below 16 is reported in ``meta.warnings``.

Colour: identical channels are read as grey silently; near-grey colour (JPEG chroma noise) is
converted to luminance with a warning; truly coloured images raise ColourImageError.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xray_harmonizer.io._common import check_size, colour_to_grey
from xray_harmonizer.io.errors import (
    CorruptImageError,
    ImageSizeError,
    NotAnImageError,
    NotProjectionRadiographError,
)
from xray_harmonizer.io.image import ImageMetadata, XrayImage

#: Pillow format name -> ImageMetadata.format
RASTER_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "TIFF": "tiff", "BMP": "bmp"}
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM")
_DEPTHS = (8, 10, 12, 14, 16)
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error)


def has_raster_magic(head: bytes) -> bool:
    """True if the bytes start with a PNG, JPEG, TIFF or BMP signature."""
    return head.startswith(_MAGIC)


def read_raster(path: Path) -> XrayImage:
    """Open a raster radiograph.

    Returns
    -------
    XrayImage
        pixels float32 (H, W) in [0, 1], EXIF orientation applied, photometric ``MONOCHROME2``
        for grey storage or ``RGB`` when grey was stored as colour.

    Raises
    ------
    NotAnImageError, CorruptImageError, ImageSizeError, ColourImageError,
    NotProjectionRadiographError (multi-page TIFF)
    """
    try:
        im = Image.open(path)
    except UnidentifiedImageError as exc:
        raise NotAnImageError(path, "not a DICOM file or a PNG/JPEG/TIFF image") from exc
    except Image.DecompressionBombError as exc:  # > ~179 Mpx, beyond MAX_PIXELS anyway
        raise ImageSizeError(path, f"image is absurdly large ({exc})") from exc
    except _DAMAGED as exc:
        raise CorruptImageError(path, f"image header is damaged ({_one_line(exc)})") from exc
    with im:
        fmt = RASTER_FORMATS.get(im.format or "")
        if fmt is None:
            raise NotAnImageError(path, f"{im.format} images are not supported (use PNG, JPEG, TIFF or DICOM)")
        if getattr(im, "n_frames", 1) > 1 and fmt == "tiff":
            raise NotProjectionRadiographError(path, f"multi-page TIFF ({im.n_frames} pages), not a single radiograph")
        width, height = im.size
        check_size(path, height, width)
        try:
            im.load()
            im = ImageOps.exif_transpose(im)
        except _DAMAGED as exc:
            raise CorruptImageError(path, f"{im.format} data is truncated or damaged ({_one_line(exc)})") from exc
        png = _png_header(path) if fmt == "png" else None
        pixels, bits, photometric, warn = _to_unit(path, im, png)
    meta = ImageMetadata(
        source=path,
        format=fmt,
        photometric=photometric,
        bits_stored=bits,
        warnings=tuple(warn),
        voi="float" if bits == 32 else "bits",
    )
    return XrayImage(np.ascontiguousarray(np.clip(pixels, 0.0, 1.0), dtype=np.float32), meta)


def _to_unit(
    path: Path, im: Image.Image, png: tuple[int, int, int | None] | None
) -> tuple[np.ndarray, int, str, list[str]]:
    """Pixels in [0, 1], bits stored, photometric as stored, warnings."""
    mode, warn = im.mode, []
    if mode == "1":
        return np.asarray(im, dtype=np.float32), 1, "MONOCHROME2", ["bilevel (1-bit) image"]
    if mode == "L":
        return np.asarray(im, dtype=np.float32) / 255.0, 8, "MONOCHROME2", []
    if mode in ("LA", "La"):
        arr = np.asarray(im.convert("LA"))
        if arr[..., 1].min() < 255:
            warn.append("transparency ignored")
        return arr[..., 0].astype(np.float32) / 255.0, 8, "MONOCHROME2", warn
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im).astype(np.int64)
        if mode == "I" and (arr.min() < 0 or arr.max() > 65535):
            lo, hi = float(arr.min()), float(arr.max())
            warn.append("32-bit integer image stretched over its actual range")
            return (arr - lo).astype(np.float32) / max(hi - lo, 1.0), 32, "MONOCHROME2", warn
        bits, scale, w = _sixteen_bit_scale(int(arr.max()), png[2] if png else None)
        warn += [w] if w else []
        return arr.astype(np.float32) / float(scale), bits, "MONOCHROME2", warn
    if mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            warn.append("floating-point image stretched over its actual range")
            return (arr - lo) / max(hi - lo, 1e-12), 32, "MONOCHROME2", warn
        return arr, 32, "MONOCHROME2", warn
    # Colour storage: palette, RGB(A), CMYK, YCbCr...
    has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    arr = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    if has_alpha and arr[..., 3].min() < 255:
        warn.append("transparency ignored")
    if png is not None and png[0] == 16:
        warn.append("16-bit colour PNG read at 8 bits per channel")
    grey, w = colour_to_grey(path, arr[..., :3], 255.0)
    warn += [w] if w else []
    return grey / 255.0, 8, "RGB", warn


def _sixteen_bit_scale(vmax: int, sbit: int | None) -> tuple[int, int, str | None]:
    """(bits stored, divisor, warning) for 16-bit samples whose largest value is ``vmax``."""
    if sbit is not None and 1 <= sbit < 16:
        if vmax < 2**sbit:
            return sbit, 2**sbit - 1, f"16-bit image holds {sbit}-bit data (sBIT), scaled by 2**{sbit}-1"
        return sbit, 65535, None  # spec-conformant: samples already scaled to the 16-bit range
    if sbit == 16:
        return 16, 65535, None
    bits = next(b for b in _DEPTHS if vmax < 2**b)
    if bits == 16:
        return 16, 65535, None
    return bits, 2**bits - 1, (
        f"16-bit image holds at most {bits}-bit data (largest value {vmax}), scaled by 2**{bits}-1"
    )


def _png_header(path: Path) -> tuple[int, int, int | None] | None:
    """(bit depth, colour type, first sBIT value or None) from a PNG's chunks before IDAT."""
    try:
        with open(path, "rb") as f:
            if f.read(8) != _MAGIC[0]:
                return None
            depth, ctype, sbit = 0, 0, None
            while True:
                head = f.read(8)
                if len(head) < 8:
                    break
                length, kind = struct.unpack(">I4s", head)
                if kind == b"IHDR":
                    body = f.read(length)
                    depth, ctype = body[8], body[9]
                    f.seek(4, 1)
                elif kind == b"sBIT":
                    body = f.read(length)
                    sbit = body[0] if body else None
                    f.seek(4, 1)
                elif kind in (b"IDAT", b"IEND"):
                    break
                else:
                    f.seek(length + 4, 1)
            return depth, ctype, sbit
    except (OSError, IndexError, struct.error):
        return None


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
