"""Studies: a file, a folder (recursive, sorted), DICOM series grouped and ordered; bad files isolated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.test_io_dicom import make_dicom, ramp
from xray_harmonizer.io import (
    CorruptImageError,
    FileAccessError,
    NotAnImageError,
    iter_study,
    open_study,
    study_files,
)


def test_shared_dicom_folder(dicom_dir: Path) -> None:
    result = open_study(dicom_dir)
    names = [image.meta.source.name for image in result.images]
    # RG2 series (one SeriesInstanceUID) kept together, ordered by InstanceNumber 1, 4 (5 is broken).
    assert names == ["RG1_J2KI.dcm", "RG2_UNC.dcm", "RG2_JPLL.dcm", "RG3_UNC.dcm"]
    assert len(result.errors) == 1 and isinstance(result.errors[0], CorruptImageError)
    assert result.errors[0].path.name == "RG2_JPLY_broken.dcm"
    assert [p.name for p in result.skipped] == ["manifest.csv"]
    assert [len(v) for v in result.series.values()] == [1, 2, 1]


def test_single_file(dicom_dir: Path) -> None:
    result = open_study(dicom_dir / "RG3_UNC.dcm")
    assert len(result.images) == 1 and result.errors == []


def test_missing_path_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = open_study(tmp_path / "nowhere")
    assert result.images == [] and isinstance(result.errors[0], FileAccessError)


def test_series_grouped_and_ordered_bad_files_isolated(tmp_path: Path) -> None:
    uid_a, uid_b = "1.2.3.4.100", "1.2.3.4.200"
    # File names sort in an order that differs from the instance numbers.
    make_dicom(tmp_path / "a3.dcm", ramp(), series_uid=uid_a, instance=1)
    make_dicom(tmp_path / "a1.dcm", ramp(), series_uid=uid_a, instance=3)
    make_dicom(tmp_path / "b.dcm", ramp(), series_uid=uid_b, instance=1)
    (tmp_path / "z").mkdir()
    make_dicom(tmp_path / "z" / "a2.dcm", ramp(), series_uid=uid_a, instance=2)
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(tmp_path / "c.png")
    (tmp_path / "bad.dcm").write_bytes(b"\x00\x01garbage" * 50)
    (tmp_path / ".hidden.png").write_bytes(b"not even looked at")
    (tmp_path / "notes.txt").write_text("skipped")
    result = open_study(tmp_path)
    rel = [str(image.meta.source.relative_to(tmp_path)) for image in result.images]
    assert rel == ["a3.dcm", "z/a2.dcm", "a1.dcm", "b.dcm", "c.png"]
    assert [image.meta.instance_number for image in result.images[:3]] == [1, 2, 3]
    assert len(result.errors) == 1 and isinstance(result.errors[0], NotAnImageError)
    assert [p.name for p in result.skipped] == ["notes.txt"]
    files, _ = study_files(tmp_path)
    assert [p for p, _ in iter_study(tmp_path)] == files
    assert sorted(result.series) == sorted([uid_a, uid_b, str(tmp_path / "c.png")])
