"""PNG structure checks made before Pillow decodes anything.

Pillow fills the rows an IDAT stream does not hold with black and reports nothing, so a PNG cut
inside its image data (but still ending in a valid IEND) loads as a half-black radiograph. We
inflate the IDAT stream once, counting bytes without keeping them, and refuse a stream shorter
than IHDR's size needs. The count stops at that size, so a stream that would inflate to
gigabytes costs no memory.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from xray_harmonizer.io.errors import CorruptImageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_STEP = 1 << 20


@dataclass(frozen=True)
class PngHeader:
    """What IHDR and sBIT say; ``sbit`` is the first sBIT value or None."""

    width: int
    height: int
    depth: int
    colour_type: int
    interlaced: bool
    sbit: int | None


def read_header(path: Path) -> PngHeader | None:
    """The header of a PNG, or None if the file does not start with the PNG signature."""
    with open(path, "rb") as f:
        if f.read(8) != SIGNATURE:
            return None
        head = f.read(8 + 13)
        if len(head) < 21 or head[4:8] != b"IHDR":
            raise CorruptImageError(path, "PNG header is damaged (no IHDR chunk first)")
        width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", head[8:21])
        f.seek(4, 1)
        sbit = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                break
            length, kind = struct.unpack(">I4s", chunk)
            if kind in (b"IDAT", b"IEND"):
                break
            if kind == b"sBIT" and 0 < length <= 4:
                sbit = f.read(length)[0]
                f.seek(4, 1)
            else:
                f.seek(length + 4, 1)
    if ctype not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise CorruptImageError(path, f"PNG header is damaged (bit depth {depth}, colour type {ctype})")
    return PngHeader(width, height, depth, ctype, interlace == 1, sbit)


def expected_stream_size(h: PngHeader) -> int:
    """Bytes the inflated IDAT stream must hold: per row, one filter byte and the packed samples."""
    bits = _CHANNELS[h.colour_type] * h.depth
    if not h.interlaced:
        return h.height * (1 + (h.width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        pw, ph = -(-(h.width - x0) // dx), -(-(h.height - y0) // dy)
        if pw > 0 and ph > 0:
            total += ph * (1 + (pw * bits + 7) // 8)
    return total


def check_complete(path: Path, header: PngHeader) -> None:
    """Raise CorruptImageError unless the IDAT stream inflates to at least the size IHDR declares."""
    need = expected_stream_size(header)
    inflater = zlib.decompressobj()
    got = 0
    try:
        for block in _idat_blocks(path):
            data = block
            while data and got < need:
                out = inflater.decompress(data, min(_STEP, need - got + 1))
                got += len(out)
                data = inflater.unconsumed_tail
            if got >= need or inflater.eof:
                break
    except zlib.error:
        raise CorruptImageError(path, "PNG image data is damaged (not a valid deflate stream)") from None
    if got < need:
        rows = got * header.height // max(need, 1)
        raise CorruptImageError(
            path, f"PNG image data is truncated: it holds about {rows} of the {header.height} rows IHDR declares"
        )


def _idat_blocks(path: Path):
    """The IDAT chunks' data, in file order, read 1 MiB at a time."""
    with open(path, "rb") as f:
        f.seek(8)
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return
            length, kind = struct.unpack(">I4s", chunk)
            if kind == b"IEND":
                return
            if kind != b"IDAT":
                f.seek(length + 4, 1)
                continue
            left = length
            while left > 0:
                block = f.read(min(left, _STEP))
                if not block:
                    return
                left -= len(block)
                yield block
            f.seek(4, 1)
