"""Export: 16-bit PNG and derived DICOM round trips, atomic writes, inputs never overwritten."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset

from xray_harmonizer.io import ExportError, open_image
from xray_harmonizer.io.export import output_path_for, write_derived_dicom, write_png16


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


@pytest.fixture()
def dicom_copy(dicom_dir: Path, tmp_path: Path) -> Path:
    src = tmp_path / "in" / "RG2_JPLL.dcm"
    src.parent.mkdir()
    shutil.copy2(dicom_dir / "RG2_JPLL.dcm", src)
    return src


def test_png16_round_trip(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).random((50, 70), dtype=np.float32)
    out = write_png16(pixels, tmp_path / "o.png")
    with Image.open(out) as im:
        assert im.mode == "I;16" and im.size == (70, 50)
        data = np.asarray(im)
    np.testing.assert_array_equal(data, np.round(pixels * 65535).astype(np.uint16))
    np.testing.assert_allclose(open_image(out).pixels, pixels, atol=1e-5)


def test_derived_dicom_round_trip(dicom_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = _fingerprint(dicom_copy)
    source = open_image(dicom_copy)
    harmonized = np.sqrt(source.pixels).astype(np.float32)
    out = write_derived_dicom(
        harmonized, source, output_path_for(source, tmp_path / "out", ext=".dcm"),
        generalizer_name="histogram", model_hash="ab12cd",
    )
    assert out == tmp_path / "out" / "RG2_JPLL_harmonized.dcm"
    ds, src = pydicom.dcmread(out), pydicom.dcmread(dicom_copy)
    assert (ds.Rows, ds.Columns) == (src.Rows, src.Columns)
    assert ds.StudyInstanceUID == src.StudyInstanceUID and ds.PatientID == src.PatientID
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID and ds.SOPInstanceUID != src.SOPInstanceUID
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
    assert "histogram" in ds.DerivationDescription and "ab12cd" in ds.DerivationDescription
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    assert (ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation) == ("MONOCHROME2", 16, 0)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert [float(v) for v in ds.PixelSpacing] == [0.2, 0.2]
    np.testing.assert_array_equal(ds.pixel_array, np.round(harmonized * 65535).astype(np.uint16))
    np.testing.assert_allclose(open_image(out).pixels, harmonized, atol=1e-5)  # window = identity
    assert _fingerprint(dicom_copy) == before
    assert str(src.PatientName) not in caplog.text and src.PatientID not in caplog.text


def test_derived_dicom_from_png_is_new_secondary_capture(kermany_dir: Path, tmp_path: Path) -> None:
    source = open_image(sorted(kermany_dir.glob("*.png"))[0])
    out = write_derived_dicom(source.pixels, source, tmp_path / "o.dcm", generalizer_name="cyclegan", model_hash=None)
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage and ds.Modality == "OT"
    assert (ds.Rows, ds.Columns) == source.shape and str(ds.PatientName) == ""
    assert "no model" in ds.DerivationDescription
    np.testing.assert_allclose(open_image(out).pixels, source.pixels, atol=1e-5)


def test_monochrome1_source_becomes_monochrome2(dicom_dir: Path, tmp_path: Path) -> None:
    source = open_image(dicom_dir / "RG3_UNC.dcm")
    out = write_derived_dicom(source.pixels, source, tmp_path / "o.dcm", generalizer_name="h", model_hash=None)
    back = open_image(out)
    assert back.meta.photometric == "MONOCHROME2"
    np.testing.assert_allclose(back.pixels, source.pixels, atol=1e-5)


def test_refuses_to_overwrite_an_input(dicom_copy: Path, tmp_path: Path) -> None:
    source = open_image(dicom_copy)
    before = _fingerprint(dicom_copy)
    with pytest.raises(ExportError, match="input"):
        write_derived_dicom(source.pixels, source, dicom_copy, generalizer_name="h", model_hash=None)
    with pytest.raises(ExportError, match="input"):
        write_png16(source.pixels, dicom_copy)  # no source given: the registry still knows it
    link = tmp_path / "link.dcm"
    link.symlink_to(dicom_copy)
    with pytest.raises(ExportError, match="input"):
        write_png16(source.pixels, link)
    same_name = output_path_for(source, dicom_copy.parent, suffix="", ext=".dcm")
    with pytest.raises(ExportError):
        write_derived_dicom(source.pixels, source, same_name, generalizer_name="h", model_hash=None)
    assert _fingerprint(dicom_copy) == before
    assert sorted(p.name for p in dicom_copy.parent.iterdir()) == ["RG2_JPLL.dcm"]


def test_previous_output_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "o.png"
    write_png16(np.zeros((40, 40), np.float32), target)
    write_png16(np.ones((40, 40), np.float32), target)
    assert np.asarray(Image.open(target)).min() == 65535
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]


def test_failed_png_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_write(self: Image.Image, fp: str, *args: object, **kwargs: object) -> None:
        Path(fp).write_bytes(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", half_write)
    with pytest.raises(ExportError, match="o.png: write failed .*disk full"):
        write_png16(np.zeros((40, 40), np.float32), tmp_path / "o.png")
    assert list(tmp_path.iterdir()) == []


def test_failed_dicom_write_leaves_nothing_and_keeps_old_output(
    dicom_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = open_image(dicom_dir / "RG3_UNC.dcm")
    target = tmp_path / "o.dcm"
    target.write_bytes(b"previous output")

    def half_write(self: Dataset, fp: str, *args: object, **kwargs: object) -> None:
        Path(fp).write_bytes(b"DICM half")
        raise ValueError("encoder broke")

    monkeypatch.setattr(Dataset, "save_as", half_write)
    with pytest.raises(ExportError, match="encoder broke"):
        write_derived_dicom(source.pixels, source, target, generalizer_name="h", model_hash=None)
    assert [p.name for p in tmp_path.iterdir()] == ["o.dcm"] and target.read_bytes() == b"previous output"


def test_output_path_for(tmp_path: Path) -> None:
    assert output_path_for(Path("/a/img.PNG"), tmp_path) == tmp_path / "img_harmonized.png"
    assert output_path_for("/a/1.2.840.99", tmp_path, ext="dcm") == tmp_path / "1.2.840.99_harmonized.dcm"
    assert output_path_for("/a/x.dcm", tmp_path, suffix="_h", ext=".dcm") == tmp_path / "x_h.dcm"
    with pytest.raises(ValueError):
        output_path_for("/a/x.dcm", tmp_path, ext=".jpg")


def test_pixels_checked(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_png16(np.zeros((40, 40), np.float64), tmp_path / "o.png")
    with pytest.raises(ValueError):
        write_png16(np.full((40, 40), 2.0, np.float32), tmp_path / "o.png")
    assert list(tmp_path.iterdir()) == []
