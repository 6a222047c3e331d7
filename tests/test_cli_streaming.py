"""Streaming ``harmonize`` / ``info``: flat memory, one bad file never costs the batch, reruns.

Regression tests for issue 12 items 1, 2, 6 and 8 at the CLI level.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_io_dicom import make_dicom, ramp
from tests.test_io_hardening import small_rle
from xray_harmonizer.cli import main

HIST = ["--method", "histogram"]


def _pngs(folder: Path, n: int, size: int = 256, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    body = np.exp(-(((yy - size / 2) / (size / 3)) ** 2 + ((xx - size / 2) / (size / 4)) ** 2))
    for i in range(n):
        img = np.clip(body * (150 + 10 * rng.standard_normal()) + rng.normal(0, 8, body.shape) + 30, 0, 255)
        Image.fromarray(img.astype(np.uint8)).save(folder / f"img{i:04d}.png")
    return folder


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "xray_harmonizer.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def _peak_rss_mb(*args: str) -> float:
    """Peak RSS of the CLI process from its own VmHWM at exit (ru_maxrss would include this
    pytest process's size: Linux carries it across exec)."""
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".hwm") as report:
        code = ("import atexit, runpy, sys\n"
                "def hwm():\n    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
                f"    open({report.name!r}, 'w').write(line.split()[1])\n"
                "atexit.register(hwm)\nsys.argv = ['xray-harmonizer'] + sys.argv[1:]\n"
                "runpy.run_module('xray_harmonizer.cli', run_name='__main__')\n")
        env = dict(os.environ, OMP_NUM_THREADS="1")
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return int(Path(report.name).read_text()) / 1024


def test_peak_memory_is_flat_in_the_number_of_images(tmp_path: Path) -> None:
    """Bug: the CLI loaded every input before processing any (~15 MB per full CR; 1,000 CR
    images would need ~15 GB). 6 vs 30 images of 768x768: the load-all loop peaked 54 MB higher
    for 30 (136 -> 190 MB, measured on a62ab8c's cli.py); streaming must stay within 25 MB."""
    few = _pngs(tmp_path / "few", 6, size=768)
    many = _pngs(tmp_path / "many", 30, size=768, seed=1)
    small = _peak_rss_mb("harmonize", str(few), "-o", str(tmp_path / "o1"), *HIST)
    large = _peak_rss_mb("harmonize", str(many), "-o", str(tmp_path / "o2"), *HIST)
    assert len(list((tmp_path / "o2").glob("*.png"))) == 30
    assert large - small < 25, f"peak RSS {small:.0f} MB for 6 images, {large:.0f} MB for 30"


def test_batch_goes_on_after_panic_and_nan_files(dicom_dir: Path, tmp_path: Path) -> None:
    """Bug: a corrupt RLE file (pyo3 PanicException) killed harmonize with a traceback and no
    output for any file; a NaN-rescale file raised ValueError that stopped later files."""
    data = small_rle(dicom_dir, tmp_path / "src.dcm")
    (tmp_path / "src.dcm").unlink()
    start = data.find(b"\xe0\x7f\x10\x00") + 12
    folder = tmp_path / "in"
    _pngs(folder, 2)
    rng = random.Random(1)
    for i in range(30):  # several of these panic in pylibjpeg-rle
        case = bytearray(data)
        for _ in range(4):
            case[rng.randrange(start + 80, len(case))] = rng.randrange(256)
        (folder / f"m{i:02d}.dcm").write_bytes(case)
    make_dicom(folder / "nan.dcm", ramp(), RescaleSlope="nan")
    _pngs(folder / "zz", 2, seed=3)  # good files after the bad ones
    out = tmp_path / "out"
    for workers in ("1", "2"):
        done = _cli("harmonize", str(folder), "-o", str(out / workers), *HIST, "--workers", workers)
        assert done.returncode == 1, done.stderr[-2000:]
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert any("nan.dcm" in line for line in errors)
        assert "Traceback" not in done.stderr
        written = {p.name for p in (out / workers).glob("*.png")}
        assert {"img0000", "img0001"} <= {n.split("_harmonized_")[0] for n in written}
        assert len([n for n in written if n.startswith("img")]) == 4  # the two in zz/ too
        assert len(errors) + len(written) == 35


def test_rerun_into_the_input_folder_does_not_harmonize_outputs(tmp_path: Path) -> None:
    """Bug: with -o equal to the input folder, every rerun harmonized earlier outputs again."""
    folder = _pngs(tmp_path / "site", 3)
    for _ in range(2):
        assert main(["harmonize", str(folder), "-o", str(folder), *HIST]) == 0
    names = sorted(p.name for p in folder.glob("*.png"))
    assert len(names) == 6, names
    assert not any(n.count("_harmonized_") > 1 for n in names)


def test_stale_part_files_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    """Bug: SIGKILL mid-write left hidden .part files that nothing cleaned."""
    folder = _pngs(tmp_path / "in", 30, size=384)
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that is certainly not running any more
    stale = out / f".img0000_harmonized_x.png.{dead.pid}.abcd1234.part"
    stale.write_bytes(b"half")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "xray_harmonizer.cli", "harmonize", str(folder),
                             "-o", str(out), *HIST], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("img*.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _cli("harmonize", str(folder), "-o", str(out), *HIST)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(out.glob(".*.part"))
    assert len(list(out.glob("img*.png"))) == 30


def test_empty_folder_and_output_that_is_a_file(tmp_path: Path) -> None:
    """Bugs: an empty input folder was a silent success; -o naming an existing file gave a
    traceback."""
    (tmp_path / "empty").mkdir()
    done = _cli("harmonize", str(tmp_path / "empty"), "-o", str(tmp_path / "out"), *HIST)
    assert done.returncode == 1 and "no image files" in done.stderr
    info = _cli("info", str(tmp_path / "empty"))
    assert info.returncode == 1 and "no image files" in info.stderr
    _pngs(tmp_path / "in", 1)
    (tmp_path / "file.txt").write_text("x")
    done = _cli("harmonize", str(tmp_path / "in"), "-o", str(tmp_path / "file.txt"), *HIST)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is a file" in done.stderr


def test_info_streams_and_reports_each_refusal(dicom_dir: Path, tmp_path: Path) -> None:
    """info prints one JSON line per image as it goes and one error line per refused file."""
    folder = _pngs(tmp_path / "in", 2)
    make_dicom(folder / "nan.dcm", ramp(), RescaleSlope="nan")
    done = _cli("info", str(folder))
    assert done.returncode == 1
    assert [json.loads(line)["file"] for line in done.stdout.splitlines()] == ["img0000.png", "img0001.png"]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nan.dcm" in errors[0] and "Rescale" in errors[0]


def test_workers_give_the_same_outputs(tmp_path: Path) -> None:
    """--workers 3 writes the same files with the same pixels as one at a time."""
    folder = _pngs(tmp_path / "in", 6)
    assert main(["harmonize", str(folder), "-o", str(tmp_path / "a"), *HIST]) == 0
    assert main(["harmonize", str(folder), "-o", str(tmp_path / "b"), *HIST, "--workers", "3"]) == 0
    a, b = sorted((tmp_path / "a").glob("*.png")), sorted((tmp_path / "b").glob("*.png"))
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 6
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(Image.open(x)), np.asarray(Image.open(y)))


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_bad_worker_count_is_a_usage_error(tmp_path: Path, workers: str) -> None:
    folder = _pngs(tmp_path / "in", 1)
    assert main(["harmonize", str(folder), "-o", str(tmp_path / "o"), *HIST, "--workers", workers]) == 2
