"""Checks shared by the DICOM and raster readers, and the registry of opened inputs.

The registry lets the exporters refuse to overwrite any file this process opened as an input,
even when the caller passes only an output path.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np

from xray_harmonizer.io.errors import ColourImageError, ImageSizeError

#: A radiograph smaller than this on a side is a thumbnail or an icon, not a study.
MIN_SIDE = 32
#: Larger than any detector (43 cm at 25 um is ~17000 px); beyond this memory use is absurd.
MAX_SIDE = 16384
MAX_PIXELS = 2**28

# Per-pixel channel spread (fraction of full scale) above which a pixel counts as coloured.
_COLOUR_SPREAD = 0.10
# Fraction of coloured pixels above which an RGB image is refused rather than converted.
_COLOUR_FRACTION = 0.001
_BAND_ROWS = 256

_inputs: set[str] = set()
_inputs_lock = threading.Lock()


def _key(path: str | Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def register_input(path: str | Path) -> None:
    """Remember that ``path`` was opened as an input (exports refuse to overwrite it)."""
    with _inputs_lock:
        _inputs.add(_key(path))


def is_registered_input(path: str | Path) -> bool:
    """True if ``path`` (after resolving links) was opened as an input by this process."""
    with _inputs_lock:
        return _key(path) in _inputs


class BoundedFile(io.BufferedReader):
    """A read-only file whose ``read(n)`` never asks for more than the bytes left in it.

    pydicom and Pillow allocate a buffer of an element's or chunk's *declared* length before
    reading it; a damaged length field (0xFFFFFFFF) would cost 4 GiB of address space for a
    file of a few kilobytes. Reading through this class caps every request at the file's end,
    so the parser sees a short read and reports the damage instead.
    """

    def __init__(self, path: str | Path) -> None:
        raw = io.FileIO(os.fspath(path), "rb")
        super().__init__(raw)
        self._size = os.fstat(raw.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > 0:
            size = max(0, min(size, self._size - self.tell()))
            if size == 0:
                return b""
        return super().read(size)


def check_size(path: Path, height: int, width: int) -> None:
    """Raise ImageSizeError unless ``height`` x ``width`` is a plausible radiograph size."""
    if height <= 0 or width <= 0:
        raise ImageSizeError(path, f"image has no pixels ({width}x{height})")
    if min(height, width) < MIN_SIDE:
        raise ImageSizeError(path, f"image is {width}x{height} px, smaller than {MIN_SIDE} px on a side")
    if max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
        raise ImageSizeError(
            path, f"image is {width}x{height} px, larger than {MAX_SIDE} px on a side or 2**28 pixels"
        )


def colour_to_grey(path: Path, rgb: np.ndarray, full_scale: float) -> tuple[np.ndarray, str | None]:
    """Reduce an (H, W, 3) image to grey, refusing one that is truly coloured.

    Parameters
    ----------
    path : Path
        Source file, for messages.
    rgb : ndarray, (H, W, 3), any integer or float dtype
        Colour samples in ``[0, full_scale]``.
    full_scale : float
        The value of full brightness (255 for 8-bit).

    Returns
    -------
    grey : ndarray of float32, (H, W), in ``[0, full_scale]``
        The shared channel when all three are identical, else ITU-R BT.601 luminance.
    warning : str or None
        Set when the channels differed slightly (e.g. JPEG chroma noise) and luminance was used.

    Raises
    ------
    ColourImageError
        If more than 0.1 % of pixels differ between channels by more than 10 % of full scale:
        such an image is a photograph, a colour overlay or a heat map, and harmonizing its
        luminance would silently throw away what the user is looking at.
    """
    height = rgb.shape[0]
    grey = np.empty(rgb.shape[:2], dtype=np.float32)
    max_spread, n_coloured = 0.0, 0
    # In bands of rows, so that the float32 temporaries stay small whatever the image size.
    for top in range(0, height, _BAND_ROWS):
        c = rgb[top : top + _BAND_ROWS].astype(np.float32)
        r, g, b = c[..., 0], c[..., 1], c[..., 2]
        spread = np.maximum(np.maximum(np.abs(r - g), np.abs(g - b)), np.abs(r - b))
        max_spread = max(max_spread, float(spread.max()))
        n_coloured += int(np.count_nonzero(spread > _COLOUR_SPREAD * full_scale))
        grey[top : top + _BAND_ROWS] = 0.299 * r + 0.587 * g + 0.114 * b
    if max_spread == 0.0:
        grey[...] = rgb[..., 0]
        return grey, None
    coloured = n_coloured / max(grey.size, 1)
    if coloured > _COLOUR_FRACTION:
        raise ColourImageError(
            path,
            f"colour image ({coloured:.1%} of pixels are coloured); only greyscale radiographs "
            "can be harmonized, convert it to greyscale first",
        )
    return grey, (
        f"near-grey colour image converted to luminance (largest channel difference "
        f"{max_spread / full_scale:.1%} of full scale, {coloured:.2%} of pixels coloured)"
    )
