"""Regression tests for the fault probe of issue 12: every bad file becomes one StudyError.

Each test reproduces one finding ("Found by", items 1-5 and 8) and names it in its docstring.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from tests.test_io_dicom import make_dicom, ramp
from xray_harmonizer.io import (
    CorruptImageError,
    ImageSizeError,
    StudyError,
    UnsupportedTransferSyntaxError,
    open_image,
    open_study,
)
from xray_harmonizer.io.errors import printable

REAL_DICOM = ["RG1_J2KI.dcm", "RG2_JPLL.dcm", "RG2_UNC.dcm", "RG3_UNC.dcm"]
# Peak RSS of this process image in KB. Not ru_maxrss: Linux carries it across exec, so a child
# of a large pytest process would report the parent's size.
_HWM = ("def hwm():\n    return int(next(l.split()[1] for l in open('/proc/self/status') "
        "if l.startswith('VmHWM')))\n")


def identities(dicom_dir: Path) -> list[str]:
    """Patient name, ID, birth date and study description of the real RG files."""
    out: list[str] = []
    for name in REAL_DICOM:
        ds = pydicom.dcmread(dicom_dir / name, stop_before_pixels=True)
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "StudyDescription"):
            value = str(ds.get(keyword, "") or "").strip()
            if len(value) >= 4:
                out.append(value)
                out.extend(part for part in value.split("^") if len(part) >= 6)
    assert "CompressedSamples^RG1" in out and "9RG1" in out  # the test knows what it looks for
    return out


def assert_clean(message: str, secrets: list[str]) -> None:
    assert message == printable(message, 10_000), f"not one printable line: {message!r}"
    leaked = [s for s in secrets if s in message]
    assert not leaked, f"patient data {leaked} in {message!r}"


def small_rle(dicom_dir: Path, path: Path) -> bytes:
    """RG2's real header with a 128x96 crop of its pixels, RLE Lossless encoded."""
    ds = pydicom.dcmread(dicom_dir / "RG2_UNC.dcm")
    arr = np.ascontiguousarray(ds.pixel_array[600:728, 800:896])
    ds.Rows, ds.Columns = arr.shape
    ds.PixelData = arr.tobytes()
    ds.compress(RLELossless, arr)
    ds.save_as(path)
    return path.read_bytes()


# --- item 1: native decoder panics --------------------------------------------------------------


def test_rle_decoder_panic_is_a_corrupt_image_not_a_crash(dicom_dir: Path, tmp_path: Path) -> None:
    """Bug: pylibjpeg-rle panics (pyo3 PanicException, a BaseException) on flipped RLE bytes;
    ``except Exception`` missed it and harmonize/info died with no output for the whole batch."""
    data = small_rle(dicom_dir, tmp_path / "rle.dcm")
    start = data.find(b"\xe0\x7f\x10\x00") + 12
    rng = random.Random(1)
    panics = 0
    for i in range(120):
        case = bytearray(data)
        for _ in range(rng.choice([1, 2, 4, 8])):
            case[rng.randrange(start + 80, len(case))] = rng.randrange(256)
        path = tmp_path / f"flip{i}.dcm"
        path.write_bytes(case)
        try:
            pydicom.dcmread(path).pixel_array
        except Exception:
            pass
        except BaseException:  # noqa: BLE001 - exactly what we are looking for
            panics += 1
        try:
            image = open_image(path)
        except StudyError:
            continue
        assert np.isfinite(image.pixels).all()
    assert panics > 0, "no decoder panic reproduced; pylibjpeg-rle may have fixed it"


def test_base_exception_from_a_decoder_is_reported_and_interrupts_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: any BaseException subclass from native code escaped the per-file handling; but a
    user's Ctrl-C (KeyboardInterrupt) must still stop the program."""

    class Panic(BaseException):
        pass

    path = make_dicom(tmp_path / "a.dcm", ramp())
    for raised, expected in ((Panic("boom"), CorruptImageError), (KeyboardInterrupt(), KeyboardInterrupt),
                             (SystemExit(3), SystemExit), (MemoryError(), ImageSizeError)):
        def explode(*args: object, _exc: BaseException = raised, **kwargs: object) -> None:
            raise _exc

        monkeypatch.setattr(Dataset, "pixel_array", property(explode))
        with pytest.raises(expected):
            open_image(path)


def test_batch_goes_on_after_panicking_and_nan_files(dicom_dir: Path, tmp_path: Path) -> None:
    """Bug: one panicking RLE file (or a NaN one, via check_image's ValueError) stopped the batch:
    later good files were not processed."""
    data = small_rle(dicom_dir, tmp_path / "src.dcm")
    (tmp_path / "src.dcm").unlink()
    start = data.find(b"\xe0\x7f\x10\x00") + 12
    folder = tmp_path / "batch"
    folder.mkdir()
    rng = random.Random(1)
    for i in range(40):
        case = bytearray(data)
        for _ in range(4):
            case[rng.randrange(start + 80, len(case))] = rng.randrange(256)
        (folder / f"a{i:02d}.dcm").write_bytes(case)
    make_dicom(folder / "b_nan.dcm", ramp(), RescaleSlope="nan")
    make_dicom(folder / "c_good.dcm", ramp())
    study = open_study(folder)
    assert any(img.meta.source.name == "c_good.dcm" for img in study.images)
    assert "b_nan.dcm" in {e.path.name for e in study.errors}
    assert all(type(e) is not StudyError for e in study.errors)  # always a documented subclass


# --- item 2: NaN / overflow -------------------------------------------------------------------


@pytest.mark.parametrize("attrs", [
    {"RescaleSlope": "nan"}, {"RescaleIntercept": "nan"}, {"RescaleSlope": "inf"},
    {"RescaleSlope": "1e38"}, {"WindowCenter": "3.4e38", "WindowWidth": "1"},
    {"WindowCenter": "-3.4e38", "WindowWidth": "3.4e38"}, {"WindowCenter": "100", "WindowWidth": "3.4e38"},
])
def test_absurd_rescale_or_window_never_gives_nan(tmp_path: Path, attrs: dict) -> None:
    """Bug: WindowCenter/Width near float32 max or a NaN RescaleSlope/Intercept loaded "OK" with
    NaN pixels (np.clip keeps NaN); check_image then raised ValueError in the harmonize loop."""
    try:
        image = open_image(make_dicom(tmp_path / "x.dcm", ramp(), **attrs))
    except CorruptImageError as exc:
        assert "Rescale" in str(exc)
        return
    assert np.isfinite(image.pixels).all() and 0 <= image.pixels.min() <= image.pixels.max() <= 1


_NUMBERS = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(center=_NUMBERS, width=_NUMBERS, slope=_NUMBERS, intercept=_NUMBERS,
       function=st.sampled_from(["LINEAR", "LINEAR_EXACT", "SIGMOID"]))
def test_any_window_and_rescale_numbers_give_a_valid_image_or_a_corrupt_error(
    tmp_path: Path, center: float, width: float, slope: float, intercept: float, function: str
) -> None:
    """Property behind the NaN bug: whatever numbers the header holds (as FD, so NaN and infinity
    survive writing), the result is a finite [0, 1] image or CorruptImageError."""
    path = make_dicom(tmp_path / "h.dcm", ramp(48, 40))
    ds = pydicom.dcmread(path)
    ds.add_new(0x00281050, "FD", center)
    ds.add_new(0x00281051, "FD", width)
    ds.add_new(0x00281053, "FD", slope)
    ds.add_new(0x00281052, "FD", intercept)
    ds.add_new(0x00281056, "CS", function)
    ds.save_as(path)
    try:
        image = open_image(path)
    except CorruptImageError:
        return
    assert image.pixels.dtype == np.float32 and np.isfinite(image.pixels).all()
    assert 0.0 <= image.pixels.min() and image.pixels.max() <= 1.0


# --- item 3: no patient data in messages --------------------------------------------------------


@pytest.mark.parametrize("name", REAL_DICOM)
def test_corrupted_modality_length_does_not_leak_patient_data(dicom_dir: Path, tmp_path: Path, name: str) -> None:
    """Bug: a corrupted length on (0008,0060) Modality made the following header bytes (patient
    name, ID, birth date, study description) the "modality" quoted in the error message."""
    secrets = identities(dicom_dir)
    data = (dicom_dir / name).read_bytes()
    at = data.find(b"\x08\x00\x60\x00CS")
    assert at > 0
    for length in (4, 16, 40, 100, 300, 0x1000, 0xFFFF):
        case = bytearray(data)
        case[at + 6:at + 8] = struct.pack("<H", length)
        path = tmp_path / f"len{length}.dcm"
        path.write_bytes(case)
        with pytest.raises(StudyError) as info:
            open_image(path)
        assert_clean(str(info.value), secrets)


def test_header_length_corruption_anywhere_leaks_nothing(dicom_dir: Path, tmp_path: Path) -> None:
    """Bug (same family): any element before the patient group with a damaged length can carry
    patient bytes into a message; corrupt each explicit-VR length in RG1/RG3's first 1 KB."""
    secrets = identities(dicom_dir)
    messages = 0
    for name in ("RG1_J2KI.dcm", "RG3_UNC.dcm"):
        data = (dicom_dir / name).read_bytes()
        head = data[:1024]
        spots = [i for i in range(132, 1000) if head[i + 4:i + 6].isalpha() and head[i + 4:i + 6].isupper()
                 and head[i + 4:i + 6] in (b"CS", b"SH", b"LO", b"PN", b"DA", b"TM", b"UI", b"DS", b"IS", b"ST")]
        for i in spots[:30]:
            for length in (0x00FF, 0x7FFF):
                case = bytearray(data)
                case[i + 6:i + 8] = struct.pack("<H", length)
                path = tmp_path / "case.dcm"
                path.write_bytes(case)
                try:
                    image = open_image(path)
                except StudyError as exc:
                    assert_clean(str(exc), secrets)
                    messages += 1
                    continue
                assert np.isfinite(image.pixels).all()
    assert messages > 20


def test_control_characters_never_reach_the_message(tmp_path: Path) -> None:
    """Bug: control characters from files (and file names) reached the terminal."""
    path = tmp_path / "evil\x1b[2J\x07name.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR\x1b[31m\x07" + b"\x00" * 40)
    with pytest.raises(StudyError) as info:
        open_image(path)
    message = str(info.value)
    assert "\x1b" not in message and "\x07" not in message and "\n" not in message
    assert message == printable(message, 10_000)


# --- item 4: lazily parsed malformed elements --------------------------------------------------


def _edit(path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    ds = pydicom.dcmread(path)
    edit(ds)
    ds.save_as(path)
    return path


def _lut_item(**elements: tuple[str, object]) -> Dataset:
    item = Dataset()
    for tag, (vr, value) in elements.items():
        item.add_new(int(tag, 16), vr, value)
    return item


MALFORMED = {
    "rescale_text": lambda ds: ds.add_new(0x00281053, "LO", "two"),
    "rescale_multi": lambda ds: ds.add_new(0x00281052, "DS", ["1", "2"]),
    "rows_text": lambda ds: ds.add_new(0x00280010, "LO", "sixty"),
    "rows_multi": lambda ds: ds.add_new(0x00280010, "US", [64, 64]),
    "columns_text": lambda ds: ds.add_new(0x00280011, "LO", "x"),
    "bits_stored_text": lambda ds: ds.add_new(0x00280101, "LO", "twelve"),
    "frames_text": lambda ds: ds.add_new(0x00280008, "LO", "many"),
    "modality_lut_empty_item": lambda ds: ds.add_new(0x00283000, "SQ", [Dataset()]),
    "modality_lut_no_data": lambda ds: ds.add_new(
        0x00283000, "SQ", [_lut_item(**{"00283002": ("US", [3, 0, 16])})]),
    "voi_lut_no_descriptor": lambda ds: ds.add_new(
        0x00283010, "SQ", [_lut_item(**{"00283006": ("US", [1, 2, 3])})]),
    "voi_lut_text_descriptor": lambda ds: ds.add_new(
        0x00283010, "SQ", [_lut_item(**{"00283002": ("LO", "a"), "00283006": ("US", [1, 2])})]),
    "photometric_garbage": lambda ds: ds.add_new(0x00280004, "LO", "mono\x1bchrome"),
    "voi_lut_short_descriptor": lambda ds: ds.add_new(
        0x00283010, "SQ", [_lut_item(**{"00283002": ("US", [4]), "00283006": ("US", [1, 2, 3, 4])})]),
    "voi_lut_odd_bytes": lambda ds: ds.add_new(
        0x00283010, "SQ", [_lut_item(**{"00283002": ("US", [4, 0, 16]), "00283006": ("OB", b"\x01\x02\x03")})]),
    "modality_lut_text_data": lambda ds: ds.add_new(0x00283000, "SQ", [_lut_item(
        **{"00283002": ("US", [4, 0, 16]), "00283006": ("LO", "abc"), "00283004": ("LO", "HU")})]),
    "columns_multi": lambda ds: ds.add_new(0x00280011, "US", [48, 48]),
    "window_as_sequence": lambda ds: ds.add_new(0x00281050, "SQ", [_lut_item()]),
    "bits_allocated_zero": lambda ds: ds.add_new(0x00280100, "US", 0),
    "pixel_representation_text": lambda ds: ds.add_new(0x00280103, "LO", "x"),
    "samples_3_without_planar": lambda ds: ds.add_new(0x00280002, "US", 3),
    "spacing_text": lambda ds: ds.add_new(0x00280030, "LO", "a\\b"),
    "instance_number_text": lambda ds: ds.add_new(0x00200013, "LO", "first"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_elements_become_documented_errors(tmp_path: Path, kind: str) -> None:
    """Bug: pydicom parses lazily; non-numeric Rescale, malformed Modality/VOI LUT sequences,
    non-numeric or multi-valued Rows/Columns ended in UFuncTypeError, TypeError, IndexError,
    AttributeError... printed as "unexpected error" with a traceback."""
    path = _edit(make_dicom(tmp_path / f"{kind}.dcm", ramp()), MALFORMED[kind])
    try:
        image = open_image(path)
    except StudyError as exc:
        assert type(exc) is not StudyError
        assert_clean(str(exc), ["Test^Patient", "PID-12345"])
        return
    assert np.isfinite(image.pixels).all()


def test_empty_transfer_syntax_uid(tmp_path: Path) -> None:
    """Bug: an empty TransferSyntaxUID raised AttributeError deep in pydicom."""
    path = make_dicom(tmp_path / "ts.dcm", ramp())
    raw = path.read_bytes()
    uid = b"1.2.840.10008.1.2.1\x00"
    at = raw.find(b"\x02\x00\x10\x00UI")
    assert raw[at + 8:at + 8 + len(uid)] == uid
    fixed = raw[:at + 6] + b"\x00\x00" + raw[at + 8 + len(uid):]
    # Group length (0002,0000) must shrink by the removed bytes for pydicom to find the data set.
    glen = struct.unpack("<I", fixed[140:144])[0] - len(uid)
    path.write_bytes(fixed[:140] + struct.pack("<I", glen) + fixed[144:])
    with pytest.raises(UnsupportedTransferSyntaxError, match="empty"):
        open_image(path)


def test_unknown_vr_met_on_first_access(tmp_path: Path) -> None:
    """Bug: an unknown VR in an element read lazily raised NotImplementedError on first access."""
    path = make_dicom(tmp_path / "vr.dcm", ramp(), WindowCenter="100", WindowWidth="200")
    raw = bytearray(path.read_bytes())
    at = raw.find(b"\x28\x00\x50\x10DS")
    raw[at + 4:at + 6] = b"Q!"
    path.write_bytes(bytes(raw))
    try:
        image = open_image(path)
    except StudyError as exc:
        assert type(exc) is not StudyError and "\n" not in str(exc)
        return
    assert np.isfinite(image.pixels).all()


def test_header_damage_is_not_called_truncation(dicom_dir: Path, tmp_path: Path) -> None:
    """Bug: "truncated" was reported for header damage that is not truncation (526 of 632 cases)."""
    data = (dicom_dir / "RG3_UNC.dcm").read_bytes()
    at = data.find(b"\x08\x00\x60\x00CS")
    for length in (0x0100, 0x7FFF):
        case = bytearray(data)
        case[at + 6:at + 8] = struct.pack("<H", length)
        (tmp_path / "c.dcm").write_bytes(case)
        with pytest.raises(CorruptImageError) as info:
            open_image(tmp_path / "c.dcm")
        assert "truncated" not in str(info.value)
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) - 1000])
    with pytest.raises(CorruptImageError, match="truncated"):
        open_image(tmp_path / "cut.dcm")


# --- item 5: PNG ----------------------------------------------------------------------------


def _png(width: int, height: int, rows: np.ndarray, depth: int = 8) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + r.astype(">u2" if depth == 16 else "u1").tobytes() for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("depth", [8, 16])
def test_png_with_fewer_rows_than_ihdr_is_truncated(tmp_path: Path, depth: int) -> None:
    """Bug: a PNG whose IDAT holds fewer rows than IHDR declares loaded with black rows, no warning."""
    rng = np.random.default_rng(0)
    rows = rng.integers(1, 2**depth - 1, (100, 256))
    (tmp_path / "short.png").write_bytes(_png(256, 256, rows, depth))
    with pytest.raises(CorruptImageError, match="truncated: it holds about 100 of the 256 rows"):
        open_image(tmp_path / "short.png")
    (tmp_path / "full.png").write_bytes(_png(256, 100, rows, depth))
    assert open_image(tmp_path / "full.png").shape == (100, 256)


def test_png_decompression_bomb_refused_before_allocation(tmp_path: Path) -> None:
    """Bug: a 92-byte PNG declaring 12000x12000 loaded and took 1.29 GB."""
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(12000, 12000, np.zeros((2, 12000), np.uint8)))
    assert len(path.read_bytes()) < 200
    code = ("import sys\nfrom xray_harmonizer.io import open_image, StudyError\n"
            "try:\n    open_image(sys.argv[1])\nexcept StudyError as e:\n    print(type(e).__name__)\n"
            f"{_HWM}print(hwm())\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "ImageSizeError"
    assert int(out[1]) < 400 * 1024, f"peak RSS {int(out[1]) // 1024} MB"


def test_png_loading_memory_is_bounded(tmp_path: Path) -> None:
    """Bug: 143-420 KB PNGs needed 3.3-4.9 GB to load (int64/float64 temporaries); loading must
    cost about the float32 result plus the decoded buffer, whatever the bit depth (peak measured
    as VmHWM in a fresh process)."""
    rng = np.random.default_rng(0)
    n = 2048
    from PIL import Image

    Image.fromarray(rng.integers(0, 4096, (n, n), dtype=np.uint16)).save(tmp_path / "g16.png", compress_level=1)
    Image.fromarray(np.repeat(rng.integers(0, 256, (n, n, 1), dtype=np.uint8), 3, axis=2)).save(
        tmp_path / "rgb.png", compress_level=1)
    code = (f"import sys, json\nimport xray_harmonizer.io as xio\n{_HWM}"
            "base = hwm()\n"
            "im = xio.open_image(sys.argv[1])\n"
            "print(json.dumps([base, hwm()]))\n")
    for name in ("g16.png", "rgb.png"):
        base, peak = json.loads(subprocess.run([sys.executable, "-c", code, str(tmp_path / name)],
                                               capture_output=True, text=True, check=True).stdout)
        per_pixel = (peak - base) * 1024 / (n * n)
        # Decoded buffer + float32 result (+ the 3-byte array for colour); the old code needed
        # 40+ bytes per pixel (int64 / float32 x 3 channels temporaries).
        assert per_pixel < (12 if name == "g16.png" else 20), f"{name}: {per_pixel:.1f} bytes per pixel"


def test_damaged_length_costs_no_memory(dicom_dir: Path, tmp_path: Path) -> None:
    """Bug (found by the fuzz test): a length field damaged to ~2**31 or more made pydicom (and
    Pillow, for a second IDAT chunk) allocate the declared size before reading a file of
    kilobytes: a MemoryError under a 1 GiB address-space limit."""
    data = small_rle(dicom_dir, tmp_path / "rle.dcm")
    at = data.find(b"\x08\x00\x60\x00CS")
    dcm = tmp_path / "len.dcm"
    dcm.write_bytes(data[:at] + b"\x08\x00\x60\x00OB\x00\x00\xf0\xff\xff\xff" + data[at + 10:])

    def chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
        size = len(body) if length is None else length
        return struct.pack(">I", size) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    stream = zlib.compress(b"".join(b"\x00" + r.tobytes() for r in rows))
    png = tmp_path / "len.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
                    + chunk(b"IDAT", stream[:-40]) + chunk(b"IDAT", stream[-40:], 2**31 - 1) + chunk(b"IEND", b""))
    code = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "import pydicom\nfrom PIL import Image\nfrom xray_harmonizer.io import open_image, StudyError\n"
            "def raw(p):\n    try:\n        Image.open(p).load() if p.endswith('png') else pydicom.dcmread(p)\n"
            "    except MemoryError:\n        return 'MemoryError'\n    except Exception:\n        return 'other'\n"
            "    return 'ok'\n"
            "for p in sys.argv[1:]:\n    try:\n        open_image(p)\n        ours = 'image'\n"
            "    except StudyError as e:\n        ours = type(e).__name__ + '/' + type(e.__cause__).__name__\n"
            "    except MemoryError:\n        ours = 'MemoryError'\n"
            "    print(raw(p), ours)\n")
    out = subprocess.run([sys.executable, "-c", code, str(dcm), str(png)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split()[0] for line in out] == ["MemoryError", "MemoryError"], out  # reproduced
    assert all("MemoryError" not in line.split()[1] for line in out), out


def test_part_files_of_killed_writers_are_removed_live_ones_kept(tmp_path: Path) -> None:
    """Bug: SIGKILL mid-write left hidden .part files that nothing cleaned. Part names carry the
    writer's pid; a rerun removes those whose process is gone, never a live writer's."""
    import os

    from xray_harmonizer.io.export import remove_stale_parts, write_png16

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".a.png.{dead.pid}.x1y2z3.part"
    live = tmp_path / f".b.png.{os.getpid()}.q9w8e7.part"
    other = tmp_path / ".notes.part"
    for f in (stale, live, other):
        f.write_bytes(b"half")
    write_png16(np.zeros((40, 40), np.float32), tmp_path / "a.png")  # a rerun writing a.png
    assert not stale.exists() and live.exists() and other.exists()
    stale.write_bytes(b"half")
    assert remove_stale_parts(tmp_path) == [stale]
    assert live.exists() and other.exists()
