"""Raster reading: real PNGs, 8/16-bit scaling, grey-as-RGB, colour, one test per bad input."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xray_harmonizer.io import (
    ColourImageError,
    CorruptImageError,
    FileAccessError,
    ImageSizeError,
    NotAnImageError,
    NotProjectionRadiographError,
    describe,
    open_image,
)


def write_png(path: Path, arr: np.ndarray, *, sbit: int | None = None, size: tuple[int, int] | None = None) -> Path:
    """Minimal PNG encoder, so tests can write chunks Pillow will not (sBIT, 16-bit RGB, lies)."""
    h, w = arr.shape[:2]
    depth = 16 if arr.dtype == np.uint16 else 8
    ctype = 0 if arr.ndim == 2 else 2
    raw = b"".join(b"\x00" + row.astype(">u2" if depth == 16 else "u1").tobytes() for row in arr)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width, height = size or (w, h)
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))
    if sbit is not None:
        body += chunk(b"sBIT", bytes([sbit] * (1 if ctype == 0 else 3)))
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def grey_ramp(h: int = 64, w: int = 80, top: int = 255, dtype: type = np.uint8) -> np.ndarray:
    return np.linspace(0, top, h * w).reshape(h, w).round().astype(dtype)


def test_real_8bit_pngs(kermany_dir: Path, nih_dir: Path, fullres_dir: Path) -> None:
    for folder in (kermany_dir, nih_dir, fullres_dir):
        path = sorted(folder.glob("*.png"))[0]
        image = open_image(path)
        expected = np.asarray(Image.open(path), dtype=np.float32) / 255.0
        np.testing.assert_array_equal(image.pixels, expected)
        assert image.meta.bits_stored == 8 and image.meta.format == "png"
        assert image.meta.photometric == "MONOCHROME2" and image.meta.warnings == ()
        info = describe(image)
        assert info["size"] == [expected.shape[1], expected.shape[0]] and info["transfer_syntax"] is None


def test_16bit_png_full_range(tmp_path: Path) -> None:
    data = grey_ramp(top=65535, dtype=np.uint16)
    image = open_image(write_png(tmp_path / "a.png", data))
    np.testing.assert_allclose(image.pixels, data / 65535.0, atol=1e-7)
    assert image.meta.bits_stored == 16 and image.meta.warnings == ()


def test_16bit_png_holding_12bit_data_is_scaled_by_12_bits(tmp_path: Path) -> None:
    data = grey_ramp(top=4095, dtype=np.uint16)
    image = open_image(write_png(tmp_path / "a.png", data))
    np.testing.assert_allclose(image.pixels, data / 4095.0, atol=1e-7)
    assert image.meta.bits_stored == 12 and "12-bit" in image.meta.warnings[0]


def test_sbit_chunk(tmp_path: Path) -> None:
    unshifted = grey_ramp(top=1023, dtype=np.uint16)
    image = open_image(write_png(tmp_path / "u.png", unshifted, sbit=10))
    np.testing.assert_allclose(image.pixels, unshifted / 1023.0, atol=1e-7)
    assert image.meta.bits_stored == 10
    shifted = (unshifted.astype(np.uint32) << 6).astype(np.uint16)  # spec-conformant sBIT=10
    image = open_image(write_png(tmp_path / "s.png", shifted, sbit=10))
    np.testing.assert_allclose(image.pixels, shifted / 65535.0, atol=1e-7)
    assert image.meta.bits_stored == 10


def test_16bit_tiff(tmp_path: Path) -> None:
    data = grey_ramp(top=65535, dtype=np.uint16)
    Image.fromarray(data).save(tmp_path / "a.tif")
    image = open_image(tmp_path / "a.tif")
    assert image.meta.format == "tiff" and image.meta.bits_stored == 16
    np.testing.assert_allclose(image.pixels, data / 65535.0, atol=1e-7)


def test_grey_jpeg(tmp_path: Path) -> None:
    data = grey_ramp()
    Image.fromarray(data).save(tmp_path / "a.jpg", quality=95)
    image = open_image(tmp_path / "a.jpg")
    assert image.meta.format == "jpeg" and image.meta.bits_stored == 8
    assert np.abs(image.pixels - data / 255.0).max() < 0.05


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_grey_stored_as_colour_is_grey_silently(tmp_path: Path, mode: str) -> None:
    data = grey_ramp()
    Image.fromarray(data).convert(mode).save(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png")
    np.testing.assert_array_equal(image.pixels, data / np.float32(255.0))
    assert image.meta.warnings == () and image.meta.photometric == "RGB"


def test_near_grey_colour_converted_with_warning(tmp_path: Path) -> None:
    rgb = np.repeat(grey_ramp()[..., None], 3, axis=2).astype(np.int16)
    rgb[..., 0] = np.clip(rgb[..., 0] + 2, 0, 255)  # JPEG-like chroma noise
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png")
    assert len(image.meta.warnings) == 1 and "luminance" in image.meta.warnings[0]


def test_truly_coloured_refused(tmp_path: Path) -> None:
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0] = 200  # red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    with pytest.raises(ColourImageError, match="red.png: colour image"):
        open_image(tmp_path / "red.png")


def test_exif_orientation_applied(tmp_path: Path) -> None:
    data = grey_ramp(48, 80)
    im = Image.fromarray(data)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    im.save(tmp_path / "r.jpg", exif=exif, quality=95)
    assert open_image(tmp_path / "r.jpg").shape == (80, 48)


def test_16bit_colour_png_warns_about_depth(tmp_path: Path) -> None:
    data = grey_ramp(top=65535, dtype=np.uint16)
    image = open_image(write_png(tmp_path / "c.png", np.stack([data] * 3, axis=-1)))
    assert "read at 8 bits" in image.meta.warnings[0]
    assert np.abs(image.pixels - data / 65535.0).max() < 1 / 255


# --- bad input, one class each ----------------------------------------------------------------


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("patient looked fine\n")
    with pytest.raises(NotAnImageError, match="notes.png: text file"):
        open_image(tmp_path / "notes.png")


def test_random_bytes(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 2048, dtype=np.uint8)))
    with pytest.raises(NotAnImageError, match="x.bin: "):
        open_image(tmp_path / "x.bin")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(NotAnImageError, match="empty file"):
        open_image(tmp_path / "e.png")


def test_unsupported_raster_format(tmp_path: Path) -> None:
    Image.fromarray(grey_ramp()).save(tmp_path / "a.gif")
    with pytest.raises(NotAnImageError, match="GIF images are not supported"):
        open_image(tmp_path / "a.gif")


def test_truncated_png(kermany_dir: Path, tmp_path: Path) -> None:
    raw = sorted(kermany_dir.glob("*.png"))[0].read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptImageError, match="cut.png: PNG .*truncated"):
        open_image(tmp_path / "cut.png")


def test_truncated_jpeg(tmp_path: Path) -> None:
    Image.fromarray(grey_ramp(256, 256)).save(tmp_path / "a.jpg")
    raw = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptImageError):
        open_image(tmp_path / "cut.jpg")


@pytest.mark.parametrize("size", [(20, 64), (16385, 40), (20000, 20000)])
def test_absurd_size(tmp_path: Path, size: tuple[int, int]) -> None:
    # Header-only lie for the large sizes: refused before any pixel is decoded.
    path = write_png(tmp_path / "s.png", grey_ramp(40, 40), size=size)
    with pytest.raises(ImageSizeError, match="s.png: image is"):
        open_image(path)


def test_multipage_tiff(tmp_path: Path) -> None:
    pages = [Image.fromarray(grey_ramp()) for _ in range(3)]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(NotProjectionRadiographError, match="3 pages"):
        open_image(tmp_path / "m.tif")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="not found"):
        open_image(tmp_path / "nope.png")
    with pytest.raises(FileAccessError, match="folder"):
        open_image(tmp_path)
