"""Write simulated images as PNG (8/16-bit) or DICOM (CR/DX, chosen photometric and bit depth)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

FORMATS = ("png8", "png16", "dcm")


def to_stored(y: np.ndarray, bits: int, photometric: str) -> np.ndarray:
    """Presentation [0, 1] -> stored integers (uint16), inverted for MONOCHROME1."""
    maxval = 2 ** int(bits) - 1
    v = np.round(np.clip(y, 0.0, 1.0) * maxval).astype(np.uint16)
    return (maxval - v).astype(np.uint16) if photometric == "MONOCHROME1" else v


def write_png(y: np.ndarray, path: Path, bits: int = 8) -> Path:
    """8-bit (L) or 16-bit (I;16, full 0..65535 range) grayscale PNG of a [0, 1] image."""
    from PIL import Image

    if bits == 8:
        Image.fromarray(np.round(np.clip(y, 0, 1) * 255).astype(np.uint8), mode="L").save(path)
    else:
        Image.fromarray(np.round(np.clip(y, 0, 1) * 65535).astype(np.uint16)).save(path)
    return path


def write_dicom(y: np.ndarray, path: Path, *, bits: int = 12, photometric: str = "MONOCHROME2",
                modality: str = "CR", description: str = "sitesim") -> Path:
    """Write a synthetic, identity-free CR/DX DICOM file (explicit VR little endian).

    The VOI window (center ``2**(bits-1)``, width ``2**bits``) maps the stored range linearly onto
    the display range, so a loader that applies it (and inverts MONOCHROME1) gets ``y`` back.
    """
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import (ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation,
                             ExplicitVRLittleEndian, generate_uid)

    sop_class = ComputedRadiographyImageStorage if modality == "CR" else DigitalXRayImageStorageForPresentation
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    now = _dt.datetime.now(_dt.timezone.utc)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.PatientName = "SITESIM^ANONYMOUS"
    ds.PatientID = "SITESIM"
    ds.StudyDate = ds.ContentDate = now.strftime("%Y%m%d")
    ds.StudyTime = ds.ContentTime = now.strftime("%H%M%S")
    ds.SeriesDescription = description[:64]
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    if modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
    stored = to_stored(y, bits, photometric)
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = int(bits)
    ds.HighBit = int(bits) - 1
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.WindowCenter = float(2 ** (int(bits) - 1))
    ds.WindowWidth = float(2 ** int(bits))
    ds.VOILUTFunction = "LINEAR"
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_image(y: np.ndarray, path: Path, fmt: str, *, bits: int = 12,
                photometric: str = "MONOCHROME2", modality: str = "CR") -> Path:
    """Write ``y`` (float32 HxW [0, 1]) as ``png8``, ``png16`` or ``dcm``."""
    if fmt == "png8":
        return write_png(y, path, 8)
    if fmt == "png16":
        return write_png(y, path, 16)
    if fmt == "dcm":
        return write_dicom(y, path, bits=bits, photometric=photometric, modality=modality)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
