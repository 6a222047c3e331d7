"""Read a DICOM projection radiograph into an XrayImage (the Image contract).

Pipeline: stored values -> modality LUT (rescale or LUT sequence) -> VOI (first VOI LUT, else
first window, else the actual min..max of the modality values) -> [0, 1] -> MONOCHROME1 inverted.
pydicom's ``apply_voi_lut`` never inverts MONOCHROME1, so we do it here.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.uid as uids
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi, get_decoder

from xray_harmonizer.io._common import check_size, colour_to_grey
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
            ds = pydicom.dcmread(path, force=force, stop_before_pixels=stop_before_pixels)
        except InvalidDicomError as exc:
            raise NotAnImageError(path, "not a DICOM file (no DICM marker)") from exc
        except Exception as exc:  # pydicom raises many types on damaged headers
            raise CorruptImageError(path, f"DICOM header is damaged or truncated ({_one_line(exc)})") from exc
    for w in caught:
        # pydicom drops an encapsulated element cut short by the end of file with only a warning.
        if "End of file reached" in str(w.message):
            raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)")
    if len(ds) == 0:
        raise CorruptImageError(path, "DICOM file holds no data set after its header (truncated?)")
    if force and "SOPClassUID" not in ds and "Rows" not in ds:
        raise NotAnImageError(path, "not a DICOM file (no DICM marker, no image attributes)")
    return ds


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
    ds = read_dataset(path, force=force)
    if "TransferSyntaxUID" not in ds.file_meta:
        # A preamble-less file has no meta group; pydicom parsed it as implicit VR little endian.
        ds.file_meta.TransferSyntaxUID = uids.ImplicitVRLittleEndian
    _check_projection(path, ds)
    _check_pixel_data(path, ds)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        raise ColourImageError(path, "colour image (PALETTE COLOR); only greyscale radiographs can be harmonized")
    stored = _decode(path, ds)
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    warn: list[str] = []
    window: tuple[float, float] | None = None
    if stored.ndim == 3:
        # pydicom returns colour (YBR converted) as RGB; same rule as for raster images.
        grey, w = colour_to_grey(path, stored, float(2**bits - 1))
        pixels, voi = grey / float(2**bits - 1), "bits"
        warn += [w] if w else []
    else:
        modality = apply_modality_lut(stored, ds).astype(np.float32, copy=False)
        pixels, voi, window, w = _apply_voi(ds, stored, modality)
        warn += [w] if w else []
        if photometric == "MONOCHROME1":
            pixels = 1.0 - pixels
    pixels = np.clip(pixels, 0.0, 1.0).astype(np.float32, copy=False)
    for keyword in _PIXEL_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    meta = ImageMetadata(
        source=path,
        format="dicom",
        photometric=photometric,
        bits_stored=bits,
        pixel_spacing_mm=pixel_spacing(ds),
        window=window,
        modality=str(ds.get("Modality", "")) or None,
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        series_uid=str(ds.get("SeriesInstanceUID", "")) or None,
        dataset=ds,
        warnings=tuple(warn),
        voi=voi,
        instance_number=instance_number(ds),
    )
    return XrayImage(np.ascontiguousarray(pixels), meta)


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm from PixelSpacing, else ImagerPixelSpacing; None if absent or 0."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        try:
            value = [float(v) for v in ds.get(keyword) or []]
        except (TypeError, ValueError):
            continue
        if len(value) == 2 and all(v > 0 and np.isfinite(v) for v in value):
            return value[0], value[1]
    return None


def instance_number(ds: Dataset) -> int | None:
    """InstanceNumber as int, or None when absent or unparsable."""
    try:
        return int(ds.get("InstanceNumber"))
    except (TypeError, ValueError):
        return None


def _check_projection(path: Path, ds: Dataset) -> None:
    modality = str(ds.get("Modality", "")).strip().upper()
    if modality and modality not in PROJECTION_MODALITIES:
        raise NotProjectionRadiographError(
            path, f"modality {modality} is not a projection radiograph (expected CR, DX, ...)"
        )
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        frames = 1
    if frames > 1:
        raise NotProjectionRadiographError(path, f"multi-frame image ({frames} frames), not a single radiograph")


def _check_pixel_data(path: Path, ds: Dataset) -> None:
    present = [k for k in _PIXEL_KEYWORDS if k in ds]
    if not present:
        if _has_pixel_data_tag(path):
            # pydicom drops an encapsulated Pixel Data element cut short by the end of file.
            raise CorruptImageError(path, "DICOM file is truncated (end of file inside the pixel data)")
        raise EmptyPixelDataError(path, "DICOM file has no pixel data (header only, or truncated before it)")
    element = ds.get_item(present[0])
    if element is None or element.value is None or len(element.value) == 0:
        raise EmptyPixelDataError(path, "DICOM pixel data element is empty")
    if "Rows" not in ds or "Columns" not in ds:
        raise CorruptImageError(path, "DICOM image has pixel data but no Rows/Columns")
    check_size(path, int(ds.Rows), int(ds.Columns))


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
    except Exception as exc:  # decoders raise RuntimeError/ValueError/OSError on bad streams
        # A decoder for this syntax is installed, so a failure means the stream itself is bad.
        raise CorruptImageError(path, f"{name} pixel data is damaged or non-conformant, no decoder can read it ({_decoder_reason(exc)})") from exc
    if arr.ndim == 3 and arr.shape[-1] not in (3, 4):
        raise NotProjectionRadiographError(path, f"multi-frame pixel data {arr.shape}, not a single radiograph")
    return arr[..., :3] if arr.ndim == 3 else arr


def _apply_voi(
    ds: Dataset, stored: np.ndarray, modality: np.ndarray
) -> tuple[np.ndarray, str, tuple[float, float] | None, str | None]:
    """Map modality values to [0, 1]; returns (pixels, voi kind, window used, warning)."""
    seq = ds.get("VOILUTSequence")
    if seq:
        item = seq[0]
        # LUT entries are indexed by integer modality values (pydicom warns on float input).
        out = apply_voi(np.rint(modality).astype(np.int64), ds, index=0).astype(np.float32)
        return out / np.float32(_voi_lut_full_scale(item)), "voi_lut", None, None
    window = _first_window(ds)
    if window is not None:
        center, width = window
        function = str(ds.get("VOILUTFunction", "LINEAR")).strip().upper()
        if function == "SIGMOID":
            out = 1.0 / (1.0 + np.exp(-4.0 * (modality - center) / width))
        elif function == "LINEAR_EXACT":
            out = (modality - center) / width + 0.5
        else:  # LINEAR, PS3.3 C.11.2.1.2.1
            out = (modality - (center - 0.5)) / max(width - 1.0, 1.0) + 0.5
        return out.astype(np.float32), "window", (center, width), None
    lo, hi = _value_range(ds, stored, modality)
    if hi <= lo:
        return np.zeros_like(modality), "full_range", None, "image is constant (no contrast)"
    # No window: stretch the values actually present, not the dtype or BitsStored range, so that
    # a 12-bit image in a 16-bit container is not crushed into the bottom of [0, 1].
    return (modality - lo) / np.float32(hi - lo), "full_range", None, None


def _value_range(ds: Dataset, stored: np.ndarray, modality: np.ndarray) -> tuple[float, float]:
    """Min and max modality value, leaving out Pixel Padding (area outside the detector/collimation)."""
    padding = ds.get("PixelPaddingValue")
    if isinstance(padding, int):
        limit = ds.get("PixelPaddingRangeLimit")
        lo_pad, hi_pad = sorted((padding, limit if isinstance(limit, int) else padding))
        keep = (stored < lo_pad) | (stored > hi_pad)
        if keep.any():
            values = modality[keep]
            return float(values.min()), float(values.max())
    return float(modality.min()), float(modality.max())


def _first_window(ds: Dataset) -> tuple[float, float] | None:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c = float(center[0] if isinstance(center, (list, pydicom.multival.MultiValue)) else center)
        w = float(width[0] if isinstance(width, (list, pydicom.multival.MultiValue)) else width)
    except (TypeError, ValueError, IndexError):
        return None
    if not (np.isfinite(c) and np.isfinite(w)) or w < 1.0:
        return None
    return c, w


def _voi_lut_full_scale(item: Dataset) -> float:
    """The value of full brightness of a VOI LUT.

    The descriptor's bit count is often wrong (e.g. 16 for a 12-bit LUT), so take the fewest
    bits that both the descriptor allows and the LUT's largest entry needs.
    """
    desc_bits = int(item.LUTDescriptor[2])
    raw = item.LUTData
    if isinstance(raw, (bytes, bytearray)):
        lut = np.frombuffer(raw, dtype="<u2" if desc_bits > 8 else "u1")
    else:
        lut = np.asarray(raw if isinstance(raw, (list, tuple, pydicom.multival.MultiValue)) else [raw])
    top = max(int(lut.max()), 1)
    return float(2 ** min(desc_bits, top.bit_length()) - 1)


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decoder_reason(exc: BaseException) -> str:
    """The most specific line of pydicom's 'all plugins failed' message, on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    specific = [ln for ln in lines[1:] if ln.startswith("pylibjpeg")] or lines[1:] or lines
    line = specific[0] if specific else type(exc).__name__
    plugin, sep, detail = line.partition(": ")
    if sep and "returned from" in detail and "): " in detail:
        # "libjpeg error code '-1038' returned from Decode(): A misplaced marker..." -> the reason
        line = f"{plugin}: {detail.split('): ', 1)[1]}"
    return _one_line(Exception(line), limit=200)
