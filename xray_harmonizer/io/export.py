"""Write harmonized images: 16-bit grey PNG and derived DICOM, atomically.

Every write goes to a temporary file in the target folder and is moved into place with
``os.replace``, so a reader never sees a half-written file and a failed write leaves nothing
behind. A path that is (or links to) a file this process opened as an input is refused.
"""

from __future__ import annotations

import copy
import datetime as dt
import glob
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from xray_harmonizer.imaging.validation import check_image
from xray_harmonizer.io._common import is_registered_input
from xray_harmonizer.io.deidentify import Deidentifier
from xray_harmonizer.io.errors import ExportError
from xray_harmonizer.io.image import XrayImage

log = logging.getLogger(__name__)

_EXTENSIONS = (".png", ".dcm")
_RASTER_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
# Pixel-level elements of the source that no longer describe the harmonized pixels.
_DROPPED = (
    "PixelData", "FloatPixelData", "DoubleFloatPixelData", "ExtendedOffsetTable",
    "ExtendedOffsetTableLengths", "NumberOfFrames", "RescaleSlope", "RescaleIntercept",
    "RescaleType", "ModalityLUTSequence", "VOILUTSequence", "VOILUTFunction",
    "WindowCenterWidthExplanation", "PixelPaddingValue", "PixelPaddingRangeLimit",
    "SmallestImagePixelValue", "LargestImagePixelValue", "PlanarConfiguration",
    "LossyImageCompressionRatio", "LossyImageCompressionMethod",
    "IconImageSequence", "PixelIntensityRelationship", "PixelIntensityRelationshipSign",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
)
# Digital X-Ray / Mammography / Intra-oral Image Storage: 1.2.840.10008.5.1.4.1.1.1.{1,2,3}[.1]
_DX_PREFIX = "1.2.840.10008.5.1.4.1.1.1."
_DX_PRESENTATION_DOTS = _DX_PREFIX.count(".")  # "...1.1.1.1": 10 dots
# Type 2 attributes of the Patient, General Study, General Equipment and General Image modules,
# which every image IOD we write includes: present (empty when unknown) so dciodvfy finds no
# "missing Type 2" error even when the source omitted them.
_TYPE2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber", "Manufacturer",
)


def output_path_for(
    source: XrayImage | str | Path, outdir: str | Path, suffix: str = "_harmonized", ext: str = ".png"
) -> Path:
    """``outdir / (source stem + suffix + ext)``.

    The stem drops only a known image extension, so ``1.2.840.99`` (a DICOM named by its UID)
    keeps its whole name. ``ext`` is ``".png"`` or ``".dcm"`` (the dot is optional).
    """
    src = source.meta.source if isinstance(source, XrayImage) else Path(source)
    ext = ext if ext.startswith(".") else "." + ext
    if ext.lower() not in _EXTENSIONS:
        raise ValueError(f"ext must be one of {_EXTENSIONS}, got {ext!r}")
    stem = src.stem if src.suffix.lower() in _RASTER_SUFFIXES else src.name
    return Path(outdir) / f"{stem}{suffix}{ext.lower()}"


def write_png16(pixels: np.ndarray, path: str | Path) -> Path:
    """Write a 16-bit greyscale PNG of ``pixels`` (float32 (H, W) in [0, 1] -> 0..65535).

    Returns the path written. Raises ExportError (naming the path) if the target is an input
    file or the write fails; nothing is left behind on failure.
    """
    check_image(pixels, "pixels")
    data = to_uint16(pixels)
    target = _check_target(path)
    _atomic_write(target, lambda tmp: Image.fromarray(data).save(tmp, format="PNG"))
    log.info("wrote %s", target.name)
    return target


def write_derived_dicom(
    pixels: np.ndarray,
    source: XrayImage,
    path: str | Path,
    *,
    generalizer_name: str,
    model_hash: str | None,
    deidentifier: Deidentifier | None = None,
) -> Path:
    """Write ``pixels`` as a derived DICOM image of ``source``.

    From a DICOM source: same patient and study (StudyInstanceUID kept), same IOD (a DX "For
    Processing" class becomes "For Presentation"), a new SOPInstanceUID and a derived
    SeriesInstanceUID shared by every image of one source series harmonized by one generalizer,
    ImageType ``DERIVED\\SECONDARY``, DerivationDescription naming the generalizer and model
    hash, a SourceImageSequence reference, pixel spacing kept (unless zero or resized). From a
    raster source: a new Secondary Capture image in a new study with empty patient fields.
    Missing Type 2 attributes are written empty, so the output passes dciodvfy wherever the
    source did (tests/test_io_dicom_conformance.py).
    Pixels are 16-bit unsigned MONOCHROME2, uncompressed, with a window covering the data.

    Parameters
    ----------
    pixels : ndarray of float32, (H, W), in [0, 1]
    source : XrayImage
        The image that was harmonized.
    path : path-like
        Output file; refused if it is an input file.
    generalizer_name, model_hash
        Written into DerivationDescription (``model_hash`` None for model-free methods).
    deidentifier : Deidentifier, optional
        Apply the PS3.15 Basic Profile (:mod:`.deidentify`) before writing; use one instance
        for all images of an export so that each source UID maps to one new UID.
    """
    check_image(pixels, "pixels")
    data = to_uint16(pixels)
    target = _check_target(path, source)
    src = source.meta.dataset if isinstance(source.meta.dataset, Dataset) else None
    if src is not None:
        ds = _derived_from(src, source, data.shape, series_key=(generalizer_name, model_hash or ""))
    else:
        ds = _secondary_capture(source)
    for keyword in _TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, "")
    if "InstanceNumber" not in ds:
        ds.InstanceNumber = 1
    if "PatientOrientation" not in ds and not _is_dx_family(ds):
        # Type 2C in General Image for images without patient coordinates (Type 1C in DX).
        ds.PatientOrientation = ""
    _set_pixels(ds, data)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    now = dt.datetime.now()
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime
    if deidentifier is not None:
        deidentifier.apply(ds)
    # Written after de-identification: our own text, which names no patient (the profile would
    # remove the source's descriptions, and does).
    hash_text = f"model sha256 {model_hash}" if model_hash else "no model file"
    ds.DerivationDescription = f"Intensity harmonization by X-Ray Harmonizer, generalizer {generalizer_name} ({hash_text})"[:1024]
    ds.SeriesDescription = f"Harmonized ({generalizer_name})"[:64]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    _atomic_write(target, lambda tmp: ds.save_as(tmp, enforce_file_format=True))
    log.info("wrote derived DICOM %s", target.name)  # never the dataset: it names the patient
    return target


def to_uint16(pixels: np.ndarray) -> np.ndarray:
    """float32 (H, W) in [0, 1] -> uint16 (H, W) in 0..65535, rounded."""
    return np.round(np.clip(pixels, 0.0, 1.0) * 65535.0).astype(np.uint16)


def _derived_from(src: Dataset, source: XrayImage, shape: tuple[int, ...],
                  series_key: tuple[str, str]) -> Dataset:
    ds = copy.deepcopy(src)
    ds.remove_private_tags()  # vendor blobs may describe the original pixels
    for keyword in _DROPPED:
        if keyword in ds:
            delattr(ds, keyword)
    for tag in [t for t in ds.keys() if 0x6000 <= t.group <= 0x60FF and t.group % 2 == 0]:
        del ds[tag]  # overlays belong to the original pixels
    if "PresentationLUTShape" in ds or _is_dx_family(ds):
        ds.PresentationLUTShape = "IDENTITY"  # MONOCHROME2 now (Type 1 in DX)
    if any(k in src for k in ("RescaleSlope", "RescaleIntercept")) or _is_dx_family(ds):
        # Type 1 in CR and DX: the stored values are the presentation values, so identity.
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    if "PixelIntensityRelationship" in src:
        # Type 1 in DX; the relationship (LIN/LOG) survives a monotone remap, and in
        # MONOCHROME2 a higher value means less X-ray intensity (sign -1, PS3.3 C.8.11.3.1.2).
        ds.PixelIntensityRelationship = src.PixelIntensityRelationship
        ds.PixelIntensityRelationshipSign = -1
    if _is_dx_family(ds):
        # The harmonized image is for presentation: a "For Processing" DX/MG/IO class becomes
        # its "For Presentation" sibling (same UID less the final ".1").
        if str(ds.SOPClassUID).count(".") == _DX_PRESENTATION_DOTS + 1:
            ds.SOPClassUID = str(ds.SOPClassUID).rsplit(".", 1)[0]
        ds.PresentationIntentType = "FOR PRESENTATION"
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        # A resized image has other spacing; a zero spacing (RG1's is 0, 0) is invalid (dciodvfy).
        if keyword in ds and (shape != source.shape or not _positive_pair(ds[keyword].value)):
            delattr(ds, keyword)
    source_ref = Dataset()
    source_ref.ReferencedSOPClassUID = src.get("SOPClassUID", SecondaryCaptureImageStorage)
    source_ref.ReferencedSOPInstanceUID = src.get("SOPInstanceUID", generate_uid())
    ds.SourceImageSequence = [source_ref]
    if "SOPClassUID" not in ds:
        ds.SOPClassUID = SecondaryCaptureImageStorage
    # One derived series per (source series, generalizer, model): the images of a series
    # harmonized together stay one series (one PACS series), and a rerun lands in the same one.
    ds.SeriesInstanceUID = generate_uid(
        entropy_srcs=[str(src.get("SeriesInstanceUID") or source.meta.source.resolve()), *series_key])
    ds.SOPInstanceUID = generate_uid()
    try:
        ds.SeriesNumber = int(src.get("SeriesNumber") or 0) + 1000
    except (TypeError, ValueError):
        ds.SeriesNumber = 1000
    return ds


def _secondary_capture(source: XrayImage) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    # Patient/study attributes stay empty (write_derived_dicom adds them): a raster carries no
    # identity.
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    # Type 2C (General Series): a raster says nothing about the body part, so laterality is
    # unknown -- present and empty, as PS3.3 C.7.3.1 allows (dciodvfy refused it absent).
    ds.Laterality = ""
    if source.meta.pixel_spacing_mm:
        ds.NominalScannedPixelSpacing = [f"{v:.6g}" for v in source.meta.pixel_spacing_mm]
    return ds


def _is_dx_family(ds: Dataset) -> bool:
    """Digital X-ray, mammography or intra-oral image storage (the DX Image module applies)."""
    return str(ds.get("SOPClassUID", "")).startswith(_DX_PREFIX)


def _positive_pair(value: object) -> bool:
    try:
        return len(value) == 2 and all(float(v) > 0 for v in value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _set_pixels(ds: Dataset, data: np.ndarray) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(data.shape[0]), int(data.shape[1])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    # The pixels are already presentation values, so the window spans the whole 16-bit range:
    # with LINEAR (PS3.3 C.11.2.1.2.1) c=32768, w=65536 maps x to exactly x/65535, so a viewer
    # (and open_image) shows what the app showed, and the data always lies inside the window.
    ds.WindowCenter, ds.WindowWidth = "32768", "65536"
    ds.add_new(0x7FE00010, "OW", data.astype("<u2").tobytes())


def _check_target(path: str | Path, source: XrayImage | None = None) -> Path:
    target = Path(path)
    if target.is_dir():
        raise ExportError(target, "output path is a folder")
    if target.exists():
        same_as_source = source is not None and source.meta.source.exists() and os.path.samefile(
            target, source.meta.source
        )
        if same_as_source or is_registered_input(target):
            raise ExportError(target, "refusing to overwrite an input file")
    return target


def remove_stale_parts(folder: str | Path, name: str = "*") -> list[Path]:
    """Delete temporary ``.part`` files left in ``folder`` by writers that were killed.

    A part file's name carries its writer's process id (``.<name>.<pid>.<random>.part``); one
    whose process no longer runs can never be completed. ``name`` limits the cleaning to the
    parts of one target file. Returns the files removed.
    """
    removed = []
    for part in Path(folder).glob(f".{glob.escape(name) if name != '*' else '*'}.*.part"):
        fields = part.name.rsplit(".", 3)  # [".<name>", "<pid>", "<random>", "part"]
        if len(fields) == 4 and fields[1].isdigit() and not _process_alive(int(fields[1])):
            try:
                part.unlink()
                removed.append(part)
            except OSError:
                continue
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _atomic_write(target: Path, write: Callable[[str], object]) -> None:
    """Run ``write(tmp_path)`` on a temp file beside ``target``, then move it into place.

    The temp name carries our process id, so that a later run can tell the part files of a
    killed writer (SIGKILL leaves no chance to clean up) from live ones: stale parts of this
    target are removed before writing (:func:`remove_stale_parts` cleans a whole folder).
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(target.parent, target.name)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".part")
    except OSError as exc:
        raise ExportError(target, f"cannot write to {target.parent} ({exc.strerror or exc})") from exc
    os.close(fd)
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary shareable files
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, Exception):
            detail = " ".join(str(exc).split())[:200]
            raise ExportError(target, f"write failed ({type(exc).__name__}: {detail})") from exc
        raise


def atomic_write(target: str | Path, write: Callable[[str], object]) -> Path:
    """The one atomic writer: ``write(tmp_path)`` fills a temporary file beside ``target``, which
    then replaces ``target`` in one rename, so a reader never sees half a file and a failure
    leaves nothing behind (ExportError naming ``target``). Returns ``target``."""
    target = Path(target)
    _atomic_write(target, write)
    return target
