import json
import shutil
import subprocess
import sys

import numpy as np
import pydicom
import pytest

from xray_harmonizer.cli import main


def test_info_prints_json_without_identity(dicom_dir, capsys):
    assert main(["info", str(dicom_dir / "RG1_J2KI.dcm")]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["photometric"] == "MONOCHROME1"
    assert record["bits_stored"] == 15
    text = json.dumps(record).lower()
    ds = pydicom.dcmread(dicom_dir / "RG1_J2KI.dcm", stop_before_pixels=True)
    for value in (str(ds.get("PatientName", "")), str(ds.get("PatientID", ""))):
        if value.strip():
            assert value.lower() not in text


def test_harmonize_dicom_to_derived_dicom(dicom_dir, tmp_path, capsys):
    out = tmp_path / "out"
    src = dicom_dir / "RG1_J2KI.dcm"
    before = src.read_bytes()
    assert main(["harmonize", str(src), "--method", "histogram", "-o", str(out),
                 "--format", "dcm", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["w1_after"] < record["w1_before"]
    assert 0.5 < record["ssim_to_input"] <= 1.0
    written = list(out.glob("*.dcm"))
    assert len(written) == 1
    ds = pydicom.dcmread(written[0])
    src_ds = pydicom.dcmread(src, stop_before_pixels=True)
    assert (ds.Rows, ds.Columns) == (src_ds.Rows, src_ds.Columns)
    assert ds.StudyInstanceUID == src_ds.StudyInstanceUID
    assert ds.SeriesInstanceUID != src_ds.SeriesInstanceUID
    assert "DERIVED" in ds.ImageType
    assert src.read_bytes() == before  # the original study is never modified


def test_broken_file_gives_exit_1_and_others_are_written(dicom_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["harmonize", str(dicom_dir), "-o", str(out), "--format", "png"]) == 1
    captured = capsys.readouterr()
    err_lines = [l for l in captured.err.splitlines() if l.startswith("error:")]
    assert len(err_lines) == 1 and "RG2_JPLY_broken.dcm" in err_lines[0]
    written = sorted(p.name for p in out.glob("*.png"))
    assert len(written) == 4
    assert not any(p.name.startswith(".") for p in out.iterdir())  # no temp files left


def test_harmonize_png_outputs_same_size_16_bit(kermany_dir, tmp_path):
    from PIL import Image

    src = kermany_dir / "IM-0129-0001.png"
    assert main(["harmonize", str(src), "-o", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("*.png")
    with Image.open(written) as im:
        arr = np.asarray(im)
    with Image.open(src) as im0:
        assert arr.shape == (im0.height, im0.width)
    assert arr.dtype == np.uint16


def test_bad_usage_exit_2(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["harmonize", "x.png"])  # no -o
    assert exc.value.code == 2
    assert main(["harmonize", "x.png", "-o", str(tmp_path), "--method", "nonexistent"]) == 2


def test_missing_input_is_refused_not_fatal(kermany_dir, tmp_path, capsys):
    rc = main(["harmonize", str(tmp_path / "missing.png"), str(kermany_dir / "IM-0129-0001.png"),
               "-o", str(tmp_path / "o")])
    assert rc == 1
    assert "missing.png" in capsys.readouterr().err
    assert len(list((tmp_path / "o").glob("*.png"))) == 1


def test_profile_build_on_small_folder(kermany_dir, tmp_path):
    """Catches a profile build that writes its file but reports failure (the exit status is
    what scripts and the wizard act on), and one that counts the non-image file."""
    for f in sorted(kermany_dir.glob("*.png"))[:5]:
        shutil.copy(f, tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    out = tmp_path / "site.json"
    assert main(["profile", "build", str(tmp_path), "-o", str(out), "--site-id", "mini"]) == 0
    data = json.loads(out.read_text())
    assert data["site_id"] == "mini" and data["n_images"] == 5


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "xray_harmonizer.cli", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "xray-harmonizer" in result.stdout
