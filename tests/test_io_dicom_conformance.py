"""Derived DICOM passes dciodvfy (dicom3tools): no error the source file does not already have.

``.ci/run`` installs Debian's ``dicom3tools``; a machine without ``dciodvfy`` fails here loudly
(never skips), since the point is that CI checks every kind of input.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from xray_harmonizer.io import open_image
from xray_harmonizer.io.export import write_derived_dicom

REPO = Path(__file__).resolve().parents[1]
DICOM_INPUTS = ("RG1_J2KI.dcm", "RG2_JPLL.dcm", "RG2_UNC.dcm", "RG3_UNC.dcm")
SAMPLES = sorted((REPO / "resources" / "samples").glob("*.dcm"))


def dciodvfy_errors(path: Path) -> set[str]:
    """The ``Error - ...`` lines dciodvfy prints for ``path`` (warnings ignored)."""
    exe = shutil.which("dciodvfy")
    assert exe, "dciodvfy not found: install Debian's dicom3tools (.ci/run does)"
    run = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=120)
    lines = (run.stdout + run.stderr).splitlines()
    # One line names the IOD it checked against (CRImage, SCImage...); "Abort" means it could
    # not read the file at all, which must not pass as "no errors".
    assert any(re.fullmatch(r"[A-Z]+[A-Za-z]*Image[A-Za-z]*", x.strip()) for x in lines), lines
    assert not any(x.startswith("Abort") for x in lines), lines
    return {line.strip() for line in lines if line.startswith("Error")}


def _raster_inputs(folder: Path, shared_data: Path) -> list[Path]:
    """A real 8-bit PNG, the same as a 16-bit PNG and as a JPEG (the data set has neither)."""
    png = shared_data / "cxr" / "kermany" / "IM-0129-0001.png"
    grey = np.asarray(Image.open(png).convert("L"))
    png16, jpeg = folder / "chest16.png", folder / "chest.jpg"
    Image.fromarray(grey.astype(np.uint16) * 257).save(png16)
    Image.fromarray(grey).save(jpeg, quality=90)
    return [png, png16, jpeg]


def _new_errors(source: Path, out_dir: Path, *, is_dicom: bool) -> set[str]:
    image = open_image(source)
    harmonized = np.sqrt(image.pixels).astype(np.float32)  # any change will do: a new image
    out = write_derived_dicom(harmonized, image, out_dir / f"{source.stem}_h.dcm",
                              generalizer_name="histogram", model_hash=None)
    before = dciodvfy_errors(source) if is_dicom else set()
    return dciodvfy_errors(out) - before


@pytest.mark.parametrize("name", DICOM_INPUTS)
def test_derived_from_cr_dicom_adds_no_dciodvfy_error(name: str, dicom_dir: Path, tmp_path: Path) -> None:
    """Catches a derived CR that loses a Type 1/2 attribute (rescale, Type 2 patient/study
    elements, orientation) the source had, or writes a value dciodvfy rejects."""
    assert _new_errors(dicom_dir / name, tmp_path, is_dicom=True) == set()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_derived_from_bundled_samples_adds_no_dciodvfy_error(sample: Path, tmp_path: Path) -> None:
    """The bundled samples include a DX: its Type 1 DX Image attributes (rescale identity,
    PresentationLUTShape) must be written, not dropped with the source's pixel description."""
    assert _new_errors(sample, tmp_path, is_dicom=True) == set()


@pytest.mark.parametrize("kind", ["png8", "png16", "jpeg"])
def test_secondary_capture_from_raster_is_dciodvfy_clean(kind: str, shared_data: Path, tmp_path: Path) -> None:
    """Issue 12 item 8: a Secondary Capture made from a PNG lacked the Type 2C Laterality."""
    source = dict(zip(["png8", "png16", "jpeg"], _raster_inputs(tmp_path, shared_data)))[kind]
    assert _new_errors(source, tmp_path, is_dicom=False) == set()


def test_zero_pixel_spacing_is_not_copied(dicom_dir: Path, tmp_path: Path) -> None:
    """RG1's PixelSpacing is 0\\0 (a dciodvfy error in the source): the derived image drops it
    rather than repeating an invalid value."""
    image = open_image(dicom_dir / "RG1_J2KI.dcm")
    out = write_derived_dicom(image.pixels, image, tmp_path / "o.dcm", generalizer_name="h", model_hash=None)
    assert "PixelSpacing" not in pydicom.dcmread(out, stop_before_pixels=True)
    assert not any("Pixel Spacing" in e for e in dciodvfy_errors(out))


def test_dx_for_processing_becomes_for_presentation(tmp_path: Path) -> None:
    """A harmonized image is for presentation: a DX "For Processing" class must not be kept."""
    ds = pydicom.dcmread(SAMPLES[0])
    ds.SOPClassUID = pydicom.uid.DigitalXRayImageStorageForProcessing
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    src = tmp_path / "dx_proc.dcm"
    ds.save_as(src)
    image = open_image(src)
    out = write_derived_dicom(image.pixels, image, tmp_path / "o.dcm", generalizer_name="h", model_hash=None)
    got = pydicom.dcmread(out, stop_before_pixels=True)
    assert got.SOPClassUID == pydicom.uid.DigitalXRayImageStorageForPresentation
    assert got.PresentationIntentType == "FOR PRESENTATION"
    assert (got.RescaleSlope, got.RescaleIntercept, got.PresentationLUTShape) == (1, 0, "IDENTITY")


def test_one_series_per_source_series_and_generalizer(dicom_dir: Path, tmp_path: Path) -> None:
    """Two images of one source series harmonized by one generalizer must share a derived
    series (a PACS shows one series, not one per image); another generalizer gets another."""
    image = open_image(dicom_dir / "RG2_UNC.dcm")
    uids = [pydicom.dcmread(write_derived_dicom(image.pixels, image, tmp_path / f"{i}.dcm",
                                                generalizer_name=g, model_hash=None)).SeriesInstanceUID
            for i, g in enumerate(["histogram", "histogram", "unit"])]
    assert uids[0] == uids[1] != uids[2]
