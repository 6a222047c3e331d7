"""DICOM reading: real CR files (shared data + pydicom-data), VOI paths, one test per bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from xray_harmonizer.io import (
    ColourImageError,
    CorruptImageError,
    EmptyPixelDataError,
    ImageSizeError,
    NotAnImageError,
    NotProjectionRadiographError,
    UnsupportedTransferSyntaxError,
    describe,
    open_image,
)

SHARED_OK = ["RG1_J2KI.dcm", "RG2_JPLL.dcm", "RG2_UNC.dcm", "RG3_UNC.dcm"]
PYDICOM_DATA = [f"{s}_{t}.dcm" for s in ("RG1", "RG3") for t in ("UNCR", "UNCI", "J2KR", "J2KI")]


def make_dicom(
    path: Path,
    pixels: np.ndarray | None,
    *,
    preamble: bool = True,
    series_uid: str | None = None,
    instance: int = 1,
    **attrs: object,
) -> Path:
    """Write a small uncompressed DICOM (uint16 grey unless overridden) for tests."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR Image Storage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.InstanceNumber = instance
    ds.Modality = "CR"
    ds.PatientName = "Test^Patient"
    ds.PatientID = "PID-12345"
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.SamplesPerPixel = 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if pixels is not None:
        ds.Rows, ds.Columns = pixels.shape[-2], pixels.shape[-1]
        ds.add_new(0x7FE00010, "OW", pixels.astype("<u2").tobytes())
    for key, value in attrs.items():
        setattr(ds, key, value)
    if not preamble:  # a bare implicit-VR dataset, as some old archives hold
        pydicom.dcmwrite(path, ds, implicit_vr=True, little_endian=True)
        return path
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path


def ramp(h: int = 64, w: int = 48, top: int = 4095) -> np.ndarray:
    return np.linspace(0, top, h * w).reshape(h, w).astype(np.uint16)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a[::8, ::8].ravel(), b[::8, ::8].astype(np.float64).ravel())[0, 1])


def _all_real_files(dicom_dir: Path) -> list[Path]:
    return [dicom_dir / n for n in SHARED_OK] + [Path(get_testdata_file(n)) for n in PYDICOM_DATA]


def test_every_real_file_opens_in_presentation_orientation(dicom_dir: Path) -> None:
    for path in _all_real_files(dicom_dir):
        ds = pydicom.dcmread(path)
        image = open_image(path)
        p = image.pixels
        assert p.dtype == np.float32 and p.shape == (ds.Rows, ds.Columns), path.name
        assert 0.0 <= p.min() < 0.25 and 0.75 < p.max() <= 1.0, path.name
        assert image.meta.bits_stored == ds.BitsStored and image.meta.voi == "window"
        # MONOCHROME1 must come out inverted: anti-correlated with the stored values.
        sign = -1 if ds.PhotometricInterpretation == "MONOCHROME1" else 1
        assert sign * _corr(p, ds.pixel_array) > 0.9, path.name


def test_rg1_window_and_anatomy(dicom_dir: Path, tmp_path: Path) -> None:
    path = dicom_dir / "RG1_J2KI.dcm"
    image = open_image(path)
    assert image.meta.window == (15000.0, 30000.0)
    assert image.meta.photometric == "MONOCHROME1"
    raw = pydicom.dcmread(path).pixel_array.astype(np.float64)
    expected = 1.0 - np.clip((raw - 14999.5) / 29999.0 + 0.5, 0, 1)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-5)
    h, w = image.shape
    band = slice(int(0.3 * h), int(0.45 * h))
    mediastinum = image.pixels[band, int(0.47 * w) : int(0.53 * w)].mean()
    right_lung = image.pixels[band, int(0.22 * w) : int(0.32 * w)].mean()
    left_lung = image.pixels[band, int(0.68 * w) : int(0.78 * w)].mean()
    assert mediastinum > right_lung + 0.05 and mediastinum > left_lung + 0.05


def test_lossless_and_uncompressed_agree(dicom_dir: Path) -> None:
    a = open_image(dicom_dir / "RG2_JPLL.dcm")
    b = open_image(dicom_dir / "RG2_UNC.dcm")
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert a.meta.pixel_spacing_mm == (0.2, 0.2)
    assert a.meta.transfer_syntax == "1.2.840.10008.1.2.4.70"
    assert a.meta.series_uid == b.meta.series_uid and a.meta.instance_number == 4


def test_describe_is_json_and_identity_free(dicom_dir: Path) -> None:
    path = dicom_dir / "RG1_J2KI.dcm"
    info = describe(open_image(path))
    text = json.dumps(info)
    assert info["size"] == [1841, 1955] and info["bits_stored"] == 15
    assert info["photometric"] == "MONOCHROME1" and info["modality"] == "CR"
    assert info["transfer_syntax"] == "1.2.840.10008.1.2.4.91"
    assert info["window"] == {"center": 15000.0, "width": 30000.0}
    assert info["file"] == "RG1_J2KI.dcm" and info["pixel_spacing_mm"] is None  # stored as 0\0
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    for secret in (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate, "CompressedSamples"):
        assert secret not in text


def test_reading_never_modifies_the_input(dicom_dir: Path, tmp_path: Path) -> None:
    path = shutil.copy2(dicom_dir / "RG2_JPLL.dcm", tmp_path / "in.dcm")
    before = (hashlib.sha256(Path(path).read_bytes()).hexdigest(), os.stat(path).st_mtime_ns)
    open_image(path)
    assert (hashlib.sha256(Path(path).read_bytes()).hexdigest(), os.stat(path).st_mtime_ns) == before


# --- VOI paths on small synthetic files -------------------------------------------------------


def test_full_range_fallback_uses_actual_values_not_dtype(tmp_path: Path) -> None:
    data = ramp(top=3000) + 100
    image = open_image(make_dicom(tmp_path / "a.dcm", data))
    assert image.meta.voi == "full_range" and image.meta.window is None
    assert image.pixels.min() == 0.0 and image.pixels.max() == 1.0
    np.testing.assert_allclose(image.pixels, (data - 100.0) / 3000.0, atol=1e-6)


def test_full_range_fallback_ignores_pixel_padding(tmp_path: Path) -> None:
    data = ramp(top=3000)
    data[:, :4] = 4095  # padding outside the collimated field
    path = make_dicom(tmp_path / "pad.dcm", data)
    ds = pydicom.dcmread(path)
    ds.add_new(0x00280120, "US", 4095)  # PixelPaddingValue
    ds.save_as(path, enforce_file_format=True)
    image = open_image(path)
    inside = data[:, 4:].astype(np.float64)
    expected = (inside - inside.min()) / (inside.max() - inside.min())
    np.testing.assert_allclose(image.pixels[:, 4:], expected, atol=1e-6)


def test_monochrome1_fallback_is_inverted(tmp_path: Path) -> None:
    data = ramp()
    image = open_image(make_dicom(tmp_path / "m1.dcm", data, PhotometricInterpretation="MONOCHROME1"))
    np.testing.assert_allclose(image.pixels, 1.0 - data / 4095.0, atol=1e-6)


def test_rescale_then_first_of_several_windows(tmp_path: Path) -> None:
    data = ramp()
    path = make_dicom(
        tmp_path / "w.dcm", data, RescaleSlope="2", RescaleIntercept="-1000",
        WindowCenter=["1000", "50"], WindowWidth=["2000", "10"],
    )
    image = open_image(path)
    assert image.meta.window == (1000.0, 2000.0)
    modality = data * 2.0 - 1000.0
    expected = np.clip((modality - 999.5) / 1999.0 + 0.5, 0, 1)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-5)


def test_voi_lut_sequence(tmp_path: Path) -> None:
    data = ramp(top=1023)
    item = Dataset()
    # 1024 entries starting at 0, 12-bit output (descriptor says 16, as vendors often write)
    item.add_new(0x00283002, "US", [1024, 0, 16])
    item.add_new(0x00283006, "US", [int(v) for v in np.round(np.sqrt(np.arange(1024) / 1023.0) * 4095)])
    image = open_image(make_dicom(tmp_path / "lut.dcm", data, VOILUTSequence=[item], WindowCenter="5", WindowWidth="3"))
    assert image.meta.voi == "voi_lut" and image.meta.window is None
    np.testing.assert_allclose(image.pixels, np.round(np.sqrt(data / 1023.0) * 4095) / 4095, atol=1e-6)


def test_preamble_less_dataset_opens(tmp_path: Path) -> None:
    image = open_image(make_dicom(tmp_path / "IM0001", ramp(), preamble=False))
    assert image.shape == (64, 48) and image.meta.format == "dicom"


def test_colour_dicom_refused() -> None:
    with pytest.raises(ColourImageError, match="SC_rgb.dcm: colour image"):
        open_image(get_testdata_file("SC_rgb.dcm"))


# --- bad input, one class each ----------------------------------------------------------------


def test_not_dicom_with_dcm_suffix(tmp_path: Path) -> None:
    path = tmp_path / "fake.dcm"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(NotAnImageError, match="fake.dcm: "):
        open_image(path)


def test_truncated_pixel_data(dicom_dir: Path, tmp_path: Path) -> None:
    raw = (dicom_dir / "RG2_UNC.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptImageError, match="cut.dcm: .*pixel data"):
        open_image(tmp_path / "cut.dcm")


def test_truncated_compressed_pixel_data(dicom_dir: Path, tmp_path: Path) -> None:
    raw = (dicom_dir / "RG1_J2KI.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(CorruptImageError, match="truncated"):
        open_image(tmp_path / "cut.dcm")


def test_truncation_found_without_pydicom_warning(dicom_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pydicom.filereader.warn_and_log", lambda *args, **kwargs: None)
    raw = (dicom_dir / "RG1_J2KI.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptImageError, match="truncated"):
        open_image(tmp_path / "cut.dcm")


def test_broken_jpeg_is_corrupt_with_one_line_reason(dicom_dir: Path) -> None:
    # A JPEG Extended decoder is installed; the stream itself breaks the standard (SOS Se=0),
    # so no package would help: corrupt, not an unsupported syntax.
    with pytest.raises(CorruptImageError) as info:
        open_image(dicom_dir / "RG2_JPLY_broken.dcm")
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(dicom_dir / "RG2_JPLY_broken.dcm"))
    assert "JPEG Extended" in message and "scan stop must be 63" in message


def test_missing_decoder_names_the_package(dicom_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class NoPlugins:
        is_available = False

    monkeypatch.setattr("xray_harmonizer.io.dicom.get_decoder", lambda uid: NoPlugins())
    with pytest.raises(UnsupportedTransferSyntaxError, match="install pylibjpeg-openjpeg"):
        open_image(dicom_dir / "RG1_J2KI.dcm")


def test_syntax_without_any_decoder(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "mpeg.dcm", ramp())
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 MP@ML
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(UnsupportedTransferSyntaxError, match="no decoder exists for MPEG2"):
        open_image(path)


@pytest.mark.parametrize("attrs", [{"Modality": "CT"}, {"Modality": "MR"}, {"NumberOfFrames": "3"}])
def test_not_a_projection_radiograph(tmp_path: Path, attrs: dict) -> None:
    with pytest.raises(NotProjectionRadiographError):
        open_image(make_dicom(tmp_path / "x.dcm", ramp(), **attrs))


def test_no_pixel_data(tmp_path: Path) -> None:
    with pytest.raises(EmptyPixelDataError, match="no pixel data"):
        open_image(make_dicom(tmp_path / "hdr.dcm", None, Rows=64, Columns=64))


def test_zero_length_pixel_data(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "empty.dcm", None, Rows=64, Columns=64)
    ds = pydicom.dcmread(path)
    ds.add_new(0x7FE00010, "OW", b"")
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(EmptyPixelDataError, match="empty"):
        open_image(path)


@pytest.mark.parametrize("rows, columns", [(16, 64), (20000, 64), (16384, 16385)])
def test_absurd_size_refused_before_decoding(tmp_path: Path, rows: int, columns: int) -> None:
    path = make_dicom(tmp_path / "size.dcm", ramp(16, 16), Rows=rows, Columns=columns)
    with pytest.raises(ImageSizeError, match=f"{columns}x{rows}"):
        open_image(path)
