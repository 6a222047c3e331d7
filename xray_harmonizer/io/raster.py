"""Read PNG/JPEG/TIFF/BMP radiographs (8 or 16 bit, grey or grey-as-RGB) into an XrayImage.

Scaling: 8-bit samples are divided by 255. 16-bit samples are divided by ``2**bits - 1`` where
``bits`` is, in order: the PNG ``sBIT`` chunk when the values fit in it (a writer that stored
12-bit data unshifted), else 16 when the values exceed sBIT (spec-conformant shifted data), else
the smallest of 8/10/12/14/16 bits that holds the largest value. Detectors deliver 10-14 bit data
that is often stored unshifted in 16-bit PNG/TIFF; dividing by 65535 would crush it into the
bottom of [0, 1]. An inferred depth below 16 is reported in ``meta.warnings``.

Colour: identical channels are read as grey silently; near-grey colour (JPEG chroma noise) is
converted to luminance with a warning; truly coloured images raise ColourImageError.

Damaged and hostile files: the size is checked from the header before decoding; a file whose
header declares far more pixels than its bytes could plausibly hold (a decompression bomb) is
refused before Pillow allocates; a PNG whose image data holds fewer rows than IHDR declares is
refused as truncated (Pillow would fill them with black). Conversions work in place in float32,
so loading needs about 6 bytes per pixel (8-bit) beyond Pillow's own buffer.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xray_harmonizer.io import _png
from xray_harmonizer.io._common import BoundedFile, check_size, colour_to_grey
from xray_harmonizer.io.errors import (
    CorruptImageError,
    ImageSizeError,
    NotAnImageError,
    NotProjectionRadiographError,
    printable,
)
from xray_harmonizer.io.image import ImageMetadata, XrayImage

#: Pillow format name -> ImageMetadata.format
RASTER_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "TIFF": "tiff", "BMP": "bmp"}
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM")
_DEPTHS = (8, 10, 12, 14, 16)
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error)
#: Raw image bytes above which the compression ratio is checked (smaller images cost little).
_BOMB_MIN_BYTES = 64 << 20
#: Raw bytes per file byte beyond which a file is a decompression bomb, not a radiograph
#: (radiographs compress 2-20x losslessly; an all-black synthetic image a few hundred x).
_BOMB_RATIO = 250


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
    with warnings.catch_warnings(), BoundedFile(path) as f:
        # Our own size and ratio checks replace Pillow's decompression-bomb warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(f)
        except UnidentifiedImageError as exc:
            raise NotAnImageError(path, "not a DICOM file or a PNG/JPEG/TIFF image") from exc
        except Image.DecompressionBombError as exc:  # > ~179 Mpx, beyond MAX_PIXELS anyway
            raise ImageSizeError(path, "image is absurdly large (decompression bomb)") from exc
        except _DAMAGED as exc:
            raise CorruptImageError(path, f"image header is damaged ({_one_line(exc)})") from exc
        with im:
            return _load(path, im)


def _load(path: Path, im: Image.Image) -> XrayImage:
    fmt = RASTER_FORMATS.get(im.format or "")
    if fmt is None:
        raise NotAnImageError(path, f"{_one_line(im.format or 'this')} images are not supported (use PNG, JPEG, TIFF or DICOM)")
    if getattr(im, "n_frames", 1) > 1 and fmt == "tiff":
        raise NotProjectionRadiographError(path, f"multi-page TIFF ({im.n_frames} pages), not a single radiograph")
    width, height = im.size
    check_size(path, height, width)
    raw_bytes = width * height * max(len(im.getbands()), 1) * (2 if "16" in im.mode or im.mode in ("I", "F") else 1)
    file_bytes = max(path.stat().st_size, 1)
    if raw_bytes > _BOMB_MIN_BYTES and raw_bytes > _BOMB_RATIO * file_bytes:
        raise ImageSizeError(
            path, f"declares {width}x{height} px in a file of {file_bytes} bytes (decompression bomb)"
        )
    png = _png.read_header(path) if fmt == "png" else None
    if png is not None:
        _png.check_complete(path, png)
    try:
        im.load()
        im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as exc:
        raise ImageSizeError(path, "image is absurdly large (decompression bomb)") from exc
    except _DAMAGED as exc:
        raise CorruptImageError(path, f"{fmt.upper()} data is truncated or damaged ({_one_line(exc)})") from exc
    pixels, bits, photometric, warn = _to_unit(path, im, png)
    np.clip(pixels, 0.0, 1.0, out=pixels)
    meta = ImageMetadata(
        source=path,
        format=fmt,
        photometric=photometric,
        bits_stored=bits,
        warnings=tuple(warn),
        voi="float" if bits == 32 else "bits",
    )
    return XrayImage(np.ascontiguousarray(pixels, dtype=np.float32), meta)


def _to_unit(
    path: Path, im: Image.Image, png: _png.PngHeader | None
) -> tuple[np.ndarray, int, str, list[str]]:
    """Pixels in [0, 1] (a new float32 array, scaled in place), bits stored, photometric, warnings."""
    mode, warn = im.mode, []
    if mode == "1":
        return np.asarray(im, dtype=np.float32), 1, "MONOCHROME2", ["bilevel (1-bit) image"]
    if mode == "L":
        return _scaled(np.asarray(im), 255.0), 8, "MONOCHROME2", []
    if mode in ("LA", "La"):
        arr = np.asarray(im.convert("LA"))
        if arr[..., 1].min() < 255:
            warn.append("transparency ignored")
        return _scaled(arr[..., 0], 255.0), 8, "MONOCHROME2", warn
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im)
        lo, hi = int(arr.min()), int(arr.max())
        if mode == "I" and (lo < 0 or hi > 65535):
            warn.append("32-bit integer image stretched over its actual range")
            out = arr.astype(np.float32)
            out -= np.float32(lo)
            return _scaled(out, max(float(hi) - float(lo), 1.0)), 32, "MONOCHROME2", warn
        bits, scale, w = _sixteen_bit_scale(hi, png.sbit if png else None)
        warn += [w] if w else []
        return _scaled(arr, float(scale)), bits, "MONOCHROME2", warn
    if mode == "F":
        arr = np.array(im, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise CorruptImageError(path, "floating-point image holds NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            warn.append("floating-point image stretched over its actual range")
            arr -= np.float32(lo)
            return _scaled(arr, max(hi - lo, 1e-12)), 32, "MONOCHROME2", warn
        return arr, 32, "MONOCHROME2", warn
    # Colour storage: palette, RGB(A), CMYK, YCbCr...
    has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    wanted = "RGBA" if has_alpha else "RGB"
    arr = np.asarray(im if im.mode == wanted else im.convert(wanted))  # no copy when already so
    if has_alpha and arr[..., 3].min() < 255:
        warn.append("transparency ignored")
    if png is not None and png.depth == 16:
        warn.append("16-bit colour PNG read at 8 bits per channel")
    grey, w = colour_to_grey(path, arr[..., :3], 255.0)
    del arr
    warn += [w] if w else []
    return _scaled(grey, 255.0), 8, "RGB", warn


def _scaled(arr: np.ndarray, full_scale: float) -> np.ndarray:
    """``arr / full_scale`` as float32, with one float32 array allocated at most."""
    out = arr if arr.dtype == np.float32 and arr.flags.writeable else arr.astype(np.float32)
    out /= np.float32(full_scale)
    return out


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


def _one_line(exc: object, limit: int = 160) -> str:
    return printable(str(exc) or type(exc).__name__, limit)
