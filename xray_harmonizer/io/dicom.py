"""Read a DICOM projection radiograph into an XrayImage (the Image contract).

Pipeline: stored values -> modality LUT (rescale or LUT sequence) -> VOI (first VOI LUT, else
first window, else the actual min..max of the modality values) -> [0, 1] -> MONOCHROME1 inverted.
pydicom's ``apply_voi_lut`` never inverts MONOCHROME1, so we do it here.

Damaged files: every header value is read through :mod:`._dicom_values` (pydicom parses lazily,
so a bad element fails where it is first touched); the rescale and window are checked to be
finite numbers, and the arithmetic is done in float32 so that a file cannot make us allocate
float64 copies of a large image. Messages name elements, never their values.
"""

from __future__ import annotations

import logging
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.uid as uids
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi, get_decoder

from xray_harmonizer.io import _dicom_values as dv
from xray_harmonizer.io._common import BoundedFile, check_size, colour_to_grey
from xray_harmonizer.io.errors import (
    ColourImageError,
    CorruptImageError,
    EmptyPixelDataError,
    NotAnImageError,
    NotProjectionRadiographError,
    UnsupportedTransferSyntaxError,
)
from xray_harmonizer.io.image import ImageMetadata, XrayImage

log = logging.getLogger(__name__)

#: Modalities whose images are single projection radiographs (OT: secondary capture, e.g. ours).
PROJECTION_MODALITIES = frozenset({"CR", "DX", "RG", "MG", "IO", "PX", "RF", "XA", "DF", "OT"})

_LIBJPEG = "pylibjpeg-libjpeg"
_OPENJPEG = "pylibjpeg-openjpeg"
#: Which pip package decodes each compressed syntax (pydicom only names gdcm when one is missing).
DECODER_PACKAGES: dict[str, str] = {
    uids.JPEGBaseline8Bit: _LIBJPEG,
    uids.JPEGExtended12Bit: _LIBJPEG,
    uids.JPEGLossless: _LIBJPEG,
    uids.JPEGLosslessSV1: _LIBJPEG,
    uids.JPEGLSLossless: _LIBJPEG,
    uids.JPEGLSNearLossless: _LIBJPEG,
    uids.JPEG2000Lossless: _OPENJPEG,
    uids.JPEG2000: _OPENJPEG,
    uids.HTJ2KLossless: _OPENJPEG,
    uids.HTJ2KLosslessRPCL: _OPENJPEG,
    uids.HTJ2K: _OPENJPEG,
    uids.RLELossless: "pylibjpeg-rle",
}

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def has_dicom_preamble(head: bytes) -> bool:
    """True if the first 132 bytes carry the Part 10 ``DICM`` marker."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def looks_like_raw_dataset(head: bytes) -> bool:
    """True if the bytes start like a preamble-less dataset (group 0002 or 0008, little endian)."""
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[3] == 0


def read_dataset(path: Path, *, force: bool = False, stop_before_pixels: bool = False) -> Dataset:
    """Parse a DICOM file (read-only), mapping parser failures to StudyError subclasses."""
    # pydicom warns (rather than raises) on many oddities; keep them off the user's console.
    # The truncation check below does not depend on these warnings (see _has_pixel_data_tag).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with BoundedFile(path) as f:
                ds = pydicom.dcmread(f, force=force, stop_before_pixels=stop_before_pixels)
        except InvalidDicomError as exc:
            raise NotAnImageError(path, "not a DICOM file (no DICM marker)") from exc
        except dv.PASS_THROUGH:
            raise
        except BaseException as exc:  # pydicom raises many types on damaged headers
            if not stop_before_pixels and _is_end_of_file(exc) and _header_intact(path, force):
                # The header parses without the pixels: the file ends inside the pixel data.
                raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)") from exc
            raise CorruptImageError(path, f"DICOM header is damaged ({_header_reason(exc)})") from exc
    for w in caught:
        # pydicom drops an encapsulated element cut short by the end of file with only a warning.
        if "End of file reached" in str(w.message):
            raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)")
    if len(ds) == 0:
        if _has_pixel_data_tag(path):
            raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)")
        raise CorruptImageError(path, "DICOM file holds no data set after its header")
    if force and "SOPClassUID" not in ds and "Rows" not in ds:
        raise NotAnImageError(path, "not a DICOM file (no DICM marker, no image attributes)")
    return ds


def _is_end_of_file(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, (EOFError, struct.error)) or "end of file" in text.lower() or "EOF" in text


def _header_intact(path: Path, force: bool) -> bool:
    """True if the file parses up to its pixel data and holds a (7FE0,0010) tag."""
    try:
        with BoundedFile(path) as f:
            ds = pydicom.dcmread(f, force=force, stop_before_pixels=True)
    except dv.PASS_THROUGH:
        raise
    except BaseException:
        return False
    return len(ds) > 0 and _has_pixel_data_tag(path)


def _header_reason(exc: BaseException) -> str:
    """Why dcmread failed, naming at most the element's tag: its bytes may be patient data."""
    text = str(exc)
    tag = re.search(r"\(([0-9A-Fa-f]{4}), ?([0-9A-Fa-f]{4})\)", text)
    where = f" at ({tag.group(1).upper()},{tag.group(2).upper()})" if tag else ""
    if _is_end_of_file(exc):
        return f"an element's length runs past the end of the file{where}"
    if "VR" in text or "Value Representation" in text:
        return f"unknown value representation{where}"
    return f"{type(exc).__name__}{where}"


def read_dicom(path: Path, *, force: bool = False) -> XrayImage:
    """Open one DICOM file as a presentation-ready radiograph.

    Returns
    -------
    XrayImage
        pixels float32 (Rows, Columns) in [0, 1], MONOCHROME2 orientation; ``meta.dataset`` is
        the parsed Dataset without its pixel data (for derived-DICOM export).

    Raises
    ------
    StudyError subclass
        NotAnImageError, CorruptImageError, UnsupportedTransferSyntaxError,
        NotProjectionRadiographError, EmptyPixelDataError, ImageSizeError or ColourImageError.
    """
    with warnings.catch_warnings():
        # pydicom warns on invalid values when it parses them, quoting the value: a damaged
        # header's "value" can hold the patient's name, so none of these reach the console.
        warnings.simplefilter("ignore")
        return _read_dicom(path, force)


def _read_dicom(path: Path, force: bool) -> XrayImage:
    ds = read_dataset(path, force=force)
    _check_transfer_syntax(path, ds)
    _check_projection(path, ds)
    _check_pixel_data(path, ds)
    photometric = dv.code_string(ds, "PhotometricInterpretation", path) or "MONOCHROME2"
    if photometric == "PALETTE COLOR":
        raise ColourImageError(path, "colour image (PALETTE COLOR); only greyscale radiographs can be harmonized")
    allocated = dv.integer(ds, "BitsAllocated", path, 16, lo=1, hi=64)
    bits = dv.integer(ds, "BitsStored", path, allocated, lo=1, hi=64)
    stored = _decode(path, ds)
    warn: list[str] = []
    window: tuple[float, float] | None = None
    if stored.ndim == 3:
        # pydicom returns colour (YBR converted) as RGB; same rule as for raster images.
        grey, w = colour_to_grey(path, stored, float(2 ** min(bits, 32) - 1))
        pixels, voi = grey / np.float32(2 ** min(bits, 32) - 1), "bits"
        warn += [w] if w else []
    else:
        modality = _apply_modality(path, ds, stored)
        pixels, voi, window, w = _apply_voi(path, ds, stored, modality)
        del modality
        warn += [w] if w else []
        if photometric == "MONOCHROME1":
            np.subtract(np.float32(1.0), pixels, out=pixels)
    if not np.isfinite(pixels).all():
        raise CorruptImageError(path, "pixel values are not finite numbers (NaN or infinity in the pixel data)")
    np.clip(pixels, 0.0, 1.0, out=pixels)
    for keyword in _PIXEL_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    modality_code = dv.optional_code_string(ds, "Modality")
    meta = ImageMetadata(
        source=path,
        format="dicom",
        photometric=photometric,
        bits_stored=bits,
        pixel_spacing_mm=pixel_spacing(ds),
        window=window,
        modality=modality_code,
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        series_uid=dv.optional_uid(ds, "SeriesInstanceUID"),
        dataset=ds,
        warnings=tuple(warn),
        voi=voi,
        instance_number=instance_number(ds),
    )
    return XrayImage(np.ascontiguousarray(pixels, dtype=np.float32), meta)


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm from PixelSpacing, else ImagerPixelSpacing; None if absent or 0."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        try:
            value = [float(v) for v in dv.get_optional(ds, keyword) or []]
        except (TypeError, ValueError, OverflowError):
            continue
        if len(value) == 2 and all(v > 0 and np.isfinite(v) for v in value):
            return value[0], value[1]
    return None


def instance_number(ds: Dataset) -> int | None:
    """InstanceNumber as int, or None when absent or unparsable."""
    try:
        return int(dv.get_optional(ds, "InstanceNumber"))
    except (TypeError, ValueError, OverflowError):
        return None


def _check_transfer_syntax(path: Path, ds: Dataset) -> None:
    """A missing syntax (preamble-less file) is implicit VR little endian; a malformed one is refused."""
    value = dv.get(ds.file_meta, "TransferSyntaxUID", path)
    if value is None and "TransferSyntaxUID" not in ds.file_meta:
        # A preamble-less file has no meta group; pydicom parsed it as implicit VR little endian.
        ds.file_meta.TransferSyntaxUID = uids.ImplicitVRLittleEndian
        return
    text = str(value or "").strip()
    if not text:
        raise UnsupportedTransferSyntaxError(path, "the file meta's TransferSyntaxUID (0002,0010) is empty")
    if not re.fullmatch(r"[0-9.]{1,64}", text):
        raise CorruptImageError(path, "TransferSyntaxUID (0002,0010) is malformed (not a UID)")


def _check_projection(path: Path, ds: Dataset) -> None:
    modality = dv.code_string(ds, "Modality", path)
    if modality and modality not in PROJECTION_MODALITIES:
        raise NotProjectionRadiographError(
            path, f"modality {modality} is not a projection radiograph (expected CR, DX, ...)"
        )
    frames = dv.integer(ds, "NumberOfFrames", path, 1, lo=0) or 1
    if frames > 1:
        raise NotProjectionRadiographError(path, f"multi-frame image ({frames} frames), not a single radiograph")


def _check_pixel_data(path: Path, ds: Dataset) -> None:
    present = [k for k in _PIXEL_KEYWORDS if k in ds]
    if not present:
        if _has_pixel_data_tag(path):
            # pydicom drops an encapsulated Pixel Data element cut short by the end of file.
            raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)")
        raise EmptyPixelDataError(path, "DICOM file has no pixel data (header only, or truncated before it)")
    with dv.damaged(path, "DICOM pixel data element"):
        element = ds.get_item(present[0])
        size = 0 if element is None or element.value is None else len(element.value)
        # A raw element keeps its declared length: more than the bytes read means the file
        # ends inside it (real truncation, as opposed to damaged header values).
        declared = getattr(element, "length", None)
    if isinstance(declared, int) and declared != 0xFFFFFFFF and declared > size:
        raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)")
    if size == 0:
        raise EmptyPixelDataError(path, "DICOM pixel data element is empty")
    if "Rows" not in ds or "Columns" not in ds:
        raise CorruptImageError(path, "DICOM image has pixel data but no Rows/Columns")
    rows = dv.integer(ds, "Rows", path, lo=0, hi=2**32)
    columns = dv.integer(ds, "Columns", path, lo=0, hi=2**32)
    check_size(path, rows or 0, columns or 0)


def _has_pixel_data_tag(path: Path) -> bool:
    """True if the file's bytes hold a (7FE0,0010) tag, little or big endian."""
    with open(path, "rb") as f:
        data = f.read()
    return b"\xe0\x7f\x10\x00" in data or b"\x7f\xe0\x00\x10" in data


def _decode(path: Path, ds: Dataset) -> np.ndarray:
    tsuid = ds.file_meta.TransferSyntaxUID
    name = tsuid.name if tsuid.is_transfer_syntax else str(tsuid)
    if tsuid.is_transfer_syntax and tsuid.is_compressed:
        try:
            decoder = get_decoder(tsuid)
        except NotImplementedError:
            raise UnsupportedTransferSyntaxError(path, f"no decoder exists for {name} pixel data") from None
        if not decoder.is_available:
            package = DECODER_PACKAGES.get(tsuid, "pylibjpeg with its plugins")
            raise UnsupportedTransferSyntaxError(
                path, f"{name} pixel data needs a decoder: install {package}"
            )
    elif not tsuid.is_transfer_syntax:
        raise UnsupportedTransferSyntaxError(path, f"unknown transfer syntax {tsuid}")
    try:
        arr = ds.pixel_array
    except dv.PASS_THROUGH:
        raise
    except BaseException as exc:  # decoders raise RuntimeError/ValueError/OSError, pyo3 panics...
        # A decoder for this syntax is installed, so a failure means the stream itself is bad.
        raise CorruptImageError(path, f"{name} pixel data is damaged or non-conformant, no decoder can read it ({_decoder_reason(exc)})") from exc
    if arr.ndim == 3 and arr.shape[-1] not in (3, 4):
        raise NotProjectionRadiographError(path, f"multi-frame pixel data {arr.shape}, not a single radiograph")
    if arr.ndim not in (2, 3):
        raise CorruptImageError(path, f"pixel data decodes to {arr.ndim} dimensions, not an image")
    return arr[..., :3] if arr.ndim == 3 else arr


def _apply_modality(path: Path, ds: Dataset, stored: np.ndarray) -> np.ndarray:
    """Stored values -> modality values, float32 (a new array; ``stored`` is left alone)."""
    if dv.get(ds, "ModalityLUTSequence", path):
        with dv.damaged(path, "Modality LUT Sequence (0028,3000)"):
            return apply_modality_lut(stored, ds).astype(np.float32)
    slope = dv.finite_float(ds, "RescaleSlope", path, 1.0)
    intercept = dv.finite_float(ds, "RescaleIntercept", path, 0.0)
    out = stored.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        if slope != 1.0:
            out *= np.float32(slope)
        if intercept != 0.0:
            out += np.float32(intercept)
    if not np.isfinite(out).all():
        raise CorruptImageError(path, "RescaleSlope/RescaleIntercept overflow the pixel values (not a usable rescale)")
    return out


def _apply_voi(
    path: Path, ds: Dataset, stored: np.ndarray, modality: np.ndarray
) -> tuple[np.ndarray, str, tuple[float, float] | None, str | None]:
    """Map modality values to [0, 1]; returns (pixels, voi kind, window used, warning)."""
    seq = dv.get(ds, "VOILUTSequence", path)
    if seq:
        with dv.damaged(path, "VOI LUT Sequence (0028,3010)"):
            # LUT entries are indexed by integer modality values (pydicom warns on float input).
            index = np.rint(modality).astype(np.int32)
            out = apply_voi(index, ds, index=0).astype(np.float32)
            del index
            out /= np.float32(_voi_lut_full_scale(seq[0]))
        return out, "voi_lut", None, None
    window = _first_window(ds)
    if window is not None:
        center, width = window
        function = str(dv.get_optional(ds, "VOILUTFunction") or "LINEAR").strip().upper()
        # The window as out = modality * a + b, checked finite in float64 before touching pixels.
        if function == "SIGMOID":
            a, b = -4.0 / width, 4.0 * center / width
        elif function == "LINEAR_EXACT":
            a, b = 1.0 / width, 0.5 - center / width
        else:  # LINEAR, PS3.3 C.11.2.1.2.1
            a = 1.0 / max(width - 1.0, 1.0)
            b = 0.5 - (center - 0.5) * a
        lo, hi = float(modality.min()), float(modality.max())
        ends = (lo * a + b, hi * a + b)
        if all(np.isfinite(e) and abs(e) < 1e30 for e in ends):
            out = modality * np.float32(a)
            out += np.float32(b)
            if function == "SIGMOID":  # 1 / (1 + exp(-4 (m - c) / w)), overflow of exp -> 0
                with np.errstate(over="ignore"):
                    np.exp(out, out=out)
                out += np.float32(1.0)
                np.reciprocal(out, out=out)
            return out, "window", (center, width), None
        warning = "window center/width unusable for these pixel values; full range used"
    else:
        warning = None
    lo, hi = _value_range(ds, stored, modality)
    if hi <= lo:
        return np.zeros_like(modality), "full_range", None, "image is constant (no contrast)"
    # No window: stretch the values actually present, not the dtype or BitsStored range, so that
    # a 12-bit image in a 16-bit container is not crushed into the bottom of [0, 1].
    out = modality - np.float32(lo)
    out /= np.float32(hi - lo)
    return out, "full_range", None, warning


def _value_range(ds: Dataset, stored: np.ndarray, modality: np.ndarray) -> tuple[float, float]:
    """Min and max modality value, leaving out Pixel Padding (area outside the detector/collimation)."""
    padding = dv.get_optional(ds, "PixelPaddingValue")
    if isinstance(padding, int):
        limit = dv.get_optional(ds, "PixelPaddingRangeLimit")
        lo_pad, hi_pad = sorted((padding, limit if isinstance(limit, int) else padding))
        keep = (stored < lo_pad) | (stored > hi_pad)
        if keep.any():
            values = modality[keep]
            return float(values.min()), float(values.max())
    return float(modality.min()), float(modality.max())


def _first_window(ds: Dataset) -> tuple[float, float] | None:
    center, width = dv.get_optional(ds, "WindowCenter"), dv.get_optional(ds, "WindowWidth")
    if center is None or width is None:
        return None
    try:
        c = float(center[0] if isinstance(center, (list, pydicom.multival.MultiValue)) else center)
        w = float(width[0] if isinstance(width, (list, pydicom.multival.MultiValue)) else width)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if not (np.isfinite(c) and np.isfinite(w)) or w < 1.0:
        return None
    return c, w


def _voi_lut_full_scale(item: Dataset) -> float:
    """The value of full brightness of a VOI LUT.

    The descriptor's bit count is often wrong (e.g. 16 for a 12-bit LUT), so take the fewest
    bits that both the descriptor allows and the LUT's largest entry needs.
    """
    desc_bits = min(max(int(item.LUTDescriptor[2]), 1), 16)
    raw = item.LUTData
    if isinstance(raw, (bytes, bytearray)):
        lut = np.frombuffer(raw, dtype="<u2" if desc_bits > 8 else "u1")
    else:
        lut = np.asarray(raw if isinstance(raw, (list, tuple, pydicom.multival.MultiValue)) else [raw])
    top = max(int(lut.max()), 1)
    return float(2 ** min(desc_bits, top.bit_length()) - 1)


def _decoder_reason(exc: BaseException) -> str:
    """The most specific line of pydicom's 'all plugins failed' message, on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    specific = [ln for ln in lines[1:] if ln.startswith("pylibjpeg")] or lines[1:] or lines
    line = specific[0] if specific else type(exc).__name__
    plugin, sep, detail = line.partition(": ")
    if sep and "returned from" in detail and "): " in detail:
        # "libjpeg error code '-1038' returned from Decode(): A misplaced marker..." -> the reason
        line = f"{plugin}: {detail.split('): ', 1)[1]}"
    return dv.safe_reason(Exception(line))
