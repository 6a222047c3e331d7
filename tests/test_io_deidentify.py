"""De-identify on export (PS3.15 Basic Profile) on the real CR files, whose identity is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.test_io_dicom_conformance import dciodvfy_errors
from xray_harmonizer.io import open_image
from xray_harmonizer.io.deidentify import Deidentifier, _action_for
from xray_harmonizer.io.export import write_derived_dicom

RG_FILES = ("RG1_J2KI.dcm", "RG2_JPLL.dcm", "RG2_UNC.dcm", "RG3_UNC.dcm")
_TEXT_VRS = ("PN", "LO", "SH", "LT", "ST", "UT", "DA", "TM", "DT", "AE")


def _export(src: Path, out: Path, deid: Deidentifier | None) -> Path:
    image = open_image(src)
    return write_derived_dicom(np.sqrt(image.pixels).astype(np.float32), image, out,
                               generalizer_name="histogram", model_hash=None, deidentifier=deid)


def _identifying_values(ds: pydicom.Dataset) -> set[str]:
    """Text the profile removes, empties or replaces (X, Z, D), at every nesting level."""
    found: set[str] = set()

    def visit(_: pydicom.Dataset, elem: pydicom.DataElement) -> None:
        if _action_for(elem.tag) in ("X", "Z", "D", "XZ") and elem.VR in _TEXT_VRS and elem.value:
            found.add(str(elem.value).strip())

    ds.walk(visit)
    return {v for v in found if len(v) >= 4}


@pytest.mark.parametrize("name", RG_FILES)
def test_deidentified_export_leaks_no_identity(name: str, dicom_dir: Path, tmp_path: Path) -> None:
    """Catches any identifying attribute (name, ID, birth date, accession, institution, dates,
    other patient IDs...) that survives export, and a private or original UID left behind."""
    src = pydicom.dcmread(dicom_dir / name, stop_before_pixels=True)
    out = _export(dicom_dir / name, tmp_path / "o.dcm", Deidentifier())
    raw = out.read_bytes()
    for part in [str(src.PatientName), *str(src.PatientName).split("^"), src.PatientID]:
        assert part.encode() not in raw, part
    ds = pydicom.dcmread(out)
    header = raw[: len(raw) - len(ds.PixelData)]
    leaked = {v for v in _identifying_values(src) if v.encode() in header}
    assert not leaked
    for uid in (src.StudyInstanceUID, src.SeriesInstanceUID, src.SOPInstanceUID):
        assert uid.encode() not in raw
    assert ds.PatientIdentityRemoved == "YES" and "Basic" in ds.DeidentificationMethod
    assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert str(ds.PatientName) == "" and ds.PatientID == "" and "PatientName" in ds  # Type 2
    assert not any(elem.tag.is_private for elem in ds.iterall())
    np.testing.assert_allclose(open_image(out).pixels, np.sqrt(open_image(dicom_dir / name).pixels), atol=1e-4)


@pytest.mark.parametrize("name", RG_FILES)
def test_deidentified_export_is_dciodvfy_clean(name: str, dicom_dir: Path, tmp_path: Path) -> None:
    """Emptying or removing attributes must not break the IOD (Type 1/2 left out)."""
    out = _export(dicom_dir / name, tmp_path / "o.dcm", Deidentifier())
    assert dciodvfy_errors(out) - dciodvfy_errors(dicom_dir / name) == set()


def test_uids_map_consistently_within_a_study(dicom_dir: Path, tmp_path: Path) -> None:
    """RG2_UNC and RG2_JPLL are two images of one study and one series: de-identified in one
    export they must stay one (new) study and series, each image referencing its own (mapped)
    source; a second export session must not reuse the mapping (UIDs are not derived from the
    originals, so they cannot be recomputed from them)."""
    deid = Deidentifier()
    a = pydicom.dcmread(_export(dicom_dir / "RG2_UNC.dcm", tmp_path / "a.dcm", deid))
    b = pydicom.dcmread(_export(dicom_dir / "RG2_JPLL.dcm", tmp_path / "b.dcm", deid))
    src_a = pydicom.dcmread(dicom_dir / "RG2_UNC.dcm", stop_before_pixels=True)
    assert a.StudyInstanceUID == b.StudyInstanceUID != src_a.StudyInstanceUID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID and a.SOPInstanceUID != b.SOPInstanceUID
    ref_a = a.SourceImageSequence[0].ReferencedSOPInstanceUID
    assert ref_a == deid.uid_map[src_a.SOPInstanceUID] and ref_a != b.SourceImageSequence[0].ReferencedSOPInstanceUID
    assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
    other = pydicom.dcmread(_export(dicom_dir / "RG2_UNC.dcm", tmp_path / "c.dcm", Deidentifier()))
    assert other.StudyInstanceUID != a.StudyInstanceUID


def test_without_deidentifier_identity_is_kept(dicom_dir: Path, tmp_path: Path) -> None:
    """The option is opt-in: a plain derived image stays in the patient's study."""
    src = pydicom.dcmread(dicom_dir / "RG2_UNC.dcm", stop_before_pixels=True)
    ds = pydicom.dcmread(_export(dicom_dir / "RG2_UNC.dcm", tmp_path / "o.dcm", None))
    assert ds.PatientID == src.PatientID and ds.StudyInstanceUID == src.StudyInstanceUID
    assert "PatientIdentityRemoved" not in ds


def test_cli_harmonize_deidentify(dicom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``harmonize --format dcm --deidentify``: the two RG2 images (one study) land in one new
    study, RG3 in another, none carries identity; with PNG output the flag is a usage error,
    not silently ignored."""
    from xray_harmonizer.cli import main

    out = tmp_path / "out"
    args = [str(dicom_dir / n) for n in ("RG2_UNC.dcm", "RG2_JPLL.dcm", "RG3_UNC.dcm")] + ["-o", str(out)]
    assert main(["harmonize", *args, "--format", "dcm", "--deidentify"]) == 0
    written = sorted(out.glob("*.dcm"))
    assert len(written) == 3
    for path in written:
        raw = path.read_bytes()
        assert b"CompressedSamples" not in raw and b"10RG2" not in raw and b"11RG3" not in raw
    by_name = {p.name[:3]: [] for p in written}
    for p in written:
        by_name[p.name[:3]].append(pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID)
    assert len(set(by_name["RG2"])) == 1 and set(by_name["RG2"]).isdisjoint(by_name["RG3"])
    capsys.readouterr()
    assert main(["harmonize", *args, "--deidentify"]) == 2
    assert "--deidentify applies to --format dcm" in capsys.readouterr().err
