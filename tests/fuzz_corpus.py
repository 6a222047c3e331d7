"""Seeds and mutations for the loader fuzz test (``tests/fuzz.py``).

Seeds come from the real files in ``../shared/data``: the CR DICOM files (RG1 chest J2K, RG2 hip
JPEG Lossless / uncompressed / the broken JPEG Extended one, RG3 leg) and Kermany / NIH PNGs.
Most DICOM seeds keep a real file's whole header but a 128x96 crop of its pixels, re-encoded
(explicit VR, RLE, J2K, JPEG-LS, a preamble-less implicit VR set, one with a VOI LUT
sequence and one with a rescale), so that a case costs milliseconds rather than a full CR decode;
a few full-size originals are seeds too. Every case is a pure function of (seed, index).
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    kind: str  # "dicom" or "png"
    weight: float


def build_seeds(data_dir: Path, work: Path) -> list[Seed]:
    """Write the seed corpus under ``work`` and return it (deterministic)."""
    import pydicom
    from PIL import Image
    from pydicom.dataset import Dataset
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        JPEG2000Lossless,
        JPEGLSLossless,
        RLELossless,
    )

    dicom = data_dir / "dicom"
    work.mkdir(parents=True, exist_ok=True)
    seeds: list[Seed] = []

    def crop(name: str, syntax, *, suffix: str = "", edit: Callable | None = None, **write) -> None:
        ds = pydicom.dcmread(dicom / name)
        arr = np.ascontiguousarray(ds.pixel_array[600:728, 800:896])
        ds.Rows, ds.Columns = arr.shape
        ds.PixelData = arr.tobytes()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds["PixelData"].VR = "OW"
        if edit is not None:
            edit(ds)
        if syntax != ExplicitVRLittleEndian and syntax != ImplicitVRLittleEndian:
            ds.compress(syntax, arr)
        out = work / f"{Path(name).stem}_{syntax.keyword}{suffix}.dcm"
        if syntax == ImplicitVRLittleEndian:
            del ds.file_meta
            ds.preamble = None
            pydicom.dcmwrite(out, ds, implicit_vr=True, little_endian=True)
        else:
            ds.save_as(out, **write)
        seeds.append(Seed(out.name, out.read_bytes(), "dicom", 1.0))

    def voi_lut(ds: Dataset) -> None:
        item = Dataset()
        item.add_new(0x00283002, "US", [1024, 0, 12])
        item.add_new(0x00283006, "US", [int(v) for v in np.linspace(0, 4095, 1024)])
        ds.add_new(0x00283010, "SQ", [item])

    def rescale(ds: Dataset) -> None:
        ds.RescaleSlope, ds.RescaleIntercept, ds.VOILUTFunction = "2", "-100", "SIGMOID"

    for name in ("RG1_J2KI.dcm", "RG2_UNC.dcm", "RG3_UNC.dcm"):
        crop(name, ExplicitVRLittleEndian)
        crop(name, RLELossless)
    crop("RG1_J2KI.dcm", JPEG2000Lossless)
    crop("RG3_UNC.dcm", JPEGLSLossless)
    crop("RG3_UNC.dcm", ImplicitVRLittleEndian)
    crop("RG2_UNC.dcm", ExplicitVRLittleEndian, suffix="_voilut", edit=voi_lut)
    crop("RG3_UNC.dcm", ExplicitVRLittleEndian, suffix="_rescale", edit=rescale)
    for name in ("RG1_J2KI.dcm", "RG2_JPLL.dcm", "RG2_JPLY_broken.dcm", "RG3_UNC.dcm"):
        seeds.append(Seed(name, (dicom / name).read_bytes(), "dicom", 0.08))

    pngs = sorted((data_dir / "cxr" / "kermany").glob("*.png"))[:6]
    pngs += sorted((data_dir / "cxr" / "nih").glob("*.png"))[:1]
    for p in pngs:
        seeds.append(Seed(p.name, p.read_bytes(), "png", 0.6))
    grey = np.asarray(Image.open(pngs[0]).convert("L"))[:160, :200]
    out = work / "kermany_rgb.png"
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(out)
    seeds.append(Seed(out.name, out.read_bytes(), "png", 1.0))
    arr12 = np.asarray(pydicom.dcmread(dicom / "RG2_UNC.dcm").pixel_array[600:728, 800:896], dtype=np.uint16)
    out = work / "rg2_16bit.png"
    Image.fromarray(arr12).save(out)
    seeds.append(Seed(out.name, out.read_bytes(), "png", 1.0))
    return seeds


# --- DICOM structure -----------------------------------------------------------------------------

_LONG_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UC", b"UR", b"UT", b"UN", b"SV", b"UV"}
_INTERESTING = {
    0x00080060, 0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100,
    0x00280101, 0x00280102, 0x00280103, 0x00281050, 0x00281051, 0x00281052, 0x00281053,
    0x00281056, 0x00280120, 0x00283010, 0x00283000, 0x00020010, 0x7FE00010, 0x00020000,
}
_TEXT_VALUES = [b"", b"abc ", b"nan ", b"inf ", b"-inf", b"1e38", b"3.4e38", b"-3.4e38 ", b"0 ", b"-1", b"65535 ",
                b"1\\2 ", b"\x00\xff", b"CT", b"MONOCHROME1 ", b"PALETTE COLOR ", b"YBR_FULL", b"9" * 16,
                b"1.2.840.10008.1.2.4.50", b"1.2.3\x00", b"\x1b[2J"]
_SHORT_INTS = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 255, 0x7FFF, 0x8000, 0xFFFF]


def dicom_elements(data: bytes) -> list[tuple[int, int, bytes, int, int]]:
    """Top-level explicit-VR little-endian elements: (offset, tag, vr, header size, length)."""
    out = []
    i = 132 if data[128:132] == b"DICM" else 0
    while i + 8 <= len(data):
        group, elem = struct.unpack("<HH", data[i:i + 4])
        vr = data[i + 4:i + 6]
        if not vr.isalpha():
            break
        if vr in _LONG_VRS:
            if i + 12 > len(data):
                break
            length, head = struct.unpack("<I", data[i + 8:i + 12])[0], 12
        else:
            length, head = struct.unpack("<H", data[i + 6:i + 8])[0], 8
        out.append((i, (group << 16) | elem, vr, head, length))
        if length == 0xFFFFFFFF:
            break  # undefined length (sequence or encapsulated pixel data): stop walking here
        i += head + length
    return out


def _pick_element(rng: random.Random, data: bytes):
    elements = dicom_elements(data)
    if not elements:
        return None
    interesting = [e for e in elements if e[1] in _INTERESTING]
    return rng.choice(interesting if interesting and rng.random() < 0.8 else elements)


def mutate_field(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Replace one element's value (header-field edit), keeping the file's structure valid."""
    picked = _pick_element(rng, data)
    if picked is None:
        return flip(rng, data)
    at, tag, vr, head, length = picked
    if vr in (b"US", b"SS") and rng.random() < 0.7:
        value = b"".join(struct.pack("<H", rng.choice(_SHORT_INTS)) for _ in range(rng.choice([1, 1, 1, 2])))
    elif vr in (b"FD", b"FL") and rng.random() < 0.7:
        number = rng.choice([float("nan"), float("inf"), -float("inf"), 3.4e38, -3.4e38, 0.0, 1e-30])
        value = struct.pack("<d" if vr == b"FD" else "<f", number) if vr == b"FD" or abs(number) < 3e38 else b"\x00" * 4
    elif rng.random() < 0.8:
        value = rng.choice(_TEXT_VALUES)
    else:
        value = bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 4, 7, 64])))
    if len(value) % 2:
        value += b" "
    new_vr = vr
    if rng.random() < 0.15:
        new_vr = rng.choice([b"DS", b"LO", b"US", b"SQ", b"UN", b"Q!", b"OB", b"FD", b"CS"])
    if (new_vr in _LONG_VRS) != (vr in _LONG_VRS):
        new_vr = vr
    size = struct.pack("<I", len(value)) if head == 12 else struct.pack("<H", len(value))
    header = data[at:at + 4] + new_vr + (b"\x00\x00" if head == 12 else b"") + size
    if length == 0xFFFFFFFF:
        return flip(rng, data)
    out = data[:at] + header + value + data[at + head + length:]
    return out, f"field({tag:08X})"


def mutate_length(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Corrupt one element's length field."""
    picked = _pick_element(rng, data)
    if picked is None:
        return truncate(rng, data)
    at, tag, vr, head, length = picked
    limit = 0xFFFFFFFF if head == 12 else 0xFFFF
    base = 0 if length == 0xFFFFFFFF else length
    choice = rng.choice([0, max(base - 1, 0), base + 1, base + 2, base * 2, limit, limit - 1,
                         rng.randrange(limit + 1)])
    field_at, fmt = (at + 8, "<I") if head == 12 else (at + 6, "<H")
    out = data[:field_at] + struct.pack(fmt, min(choice, limit)) + data[field_at + struct.calcsize(fmt):]
    return out, f"length({tag:08X})"


# --- PNG structure -------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, length) of each chunk, walking from the signature until the data ends."""
    out, i = [], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        out.append((i, kind, length))
        i += 12 + length
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def mutate_png(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """IHDR field edits (CRC fixed or not), chunk length damage, dropped or cut IDAT data."""
    chunks = png_chunks(data)
    if not chunks or chunks[0][1] != b"IHDR" or len(data) < 33:
        return flip(rng, data)
    what = rng.choice(["ihdr", "ihdr", "length", "drop_idat", "short_idat", "sbit"])
    if what == "ihdr":
        w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", data[16:29])
        field = rng.choice(["w", "h", "wh", "depth", "ctype", "inter", "comp"])
        big = rng.choice([0, 1, 31, 32, 16384, 16385, 12000, 65535, 2**31 - 1, 2**32 - 1])
        w = big if "w" in field else w
        h = rng.choice([big, 12000]) if "h" in field else h
        depth = rng.choice([0, 1, 2, 4, 8, 16, 3, 255]) if field == "depth" else depth
        ctype = rng.choice([0, 1, 2, 3, 4, 6, 7]) if field == "ctype" else ctype
        inter = rng.choice([0, 1, 2]) if field == "inter" else inter
        comp = rng.choice([0, 1]) if field == "comp" else comp
        body = struct.pack(">IIBBBBB", w % 2**32, h % 2**32, depth, ctype, comp, filt, inter)
        crc = struct.pack(">I", zlib.crc32(b"IHDR" + body)) if rng.random() < 0.8 else data[29:33]
        return data[:16] + body + crc + data[33:], f"png_ihdr({field})"
    if what == "length":
        at, kind, length = rng.choice(chunks)
        new = rng.choice([0, max(length - 1, 0), length + 1, 2**31 - 1, 2**32 - 1, rng.randrange(2**32)])
        return data[:at] + struct.pack(">I", new) + data[at + 4:], f"png_length({kind.decode('latin-1')})"
    idat = [c for c in chunks if c[1] == b"IDAT"]
    if not idat:
        return truncate(rng, data)
    if what == "drop_idat":
        at, _, length = rng.choice(idat)
        return data[:at] + data[at + 12 + length:], "png_drop_idat"
    if what == "short_idat":
        # Recompress a prefix of the image stream: valid zlib, valid CRCs, fewer rows than IHDR.
        stream = b"".join(data[at + 8:at + 8 + length] for at, _, length in idat)
        try:
            raw = zlib.decompress(stream)
        except zlib.error:
            return flip(rng, data)
        keep = raw[: rng.randrange(len(raw))]
        first, last = idat[0][0], idat[-1][0] + 12 + idat[-1][2]
        return data[:first] + _chunk(b"IDAT", zlib.compress(keep)) + data[last:], "png_short_idat"
    sbit = _chunk(b"sBIT", bytes([rng.choice([0, 1, 12, 16, 17, 255])] * rng.choice([1, 3, 5])))
    return data[:33] + sbit + data[33:], "png_sbit"


# --- generic ----------------------------------------------------------------------------------


def flip(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """XOR a few bytes, half of the time inside the first 2 KB (the headers)."""
    out = bytearray(data)
    n = rng.choice([1, 1, 2, 4, 8, 16])
    span = min(len(out), 2048) if rng.random() < 0.5 else len(out)
    for _ in range(n):
        out[rng.randrange(span)] ^= rng.randrange(1, 256)
    return bytes(out), f"flip({n})"


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Cut the file: in the header, in the middle, or a few bytes from its end."""
    where = rng.choice(["head", "any", "tail"])
    if where == "head":
        cut = rng.randrange(min(len(data), 2048))
    elif where == "tail":
        cut = max(len(data) - rng.randrange(1, 64), 0)
    else:
        cut = rng.randrange(len(data))
    return data[:cut], f"truncate({where})"


def splice(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Duplicate or delete a block of bytes (shifts every later offset)."""
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.choice([1, 4, 16, 256, 4096]))
    if rng.random() < 0.5:
        return data[:a] + data[a:b] + data[a:], "splice(dup)"
    return data[:a] + data[b:], "splice(del)"


MUTATORS: dict[str, tuple[Callable[[random.Random, bytes], tuple[bytes, str]], ...]] = {
    "dicom": (flip, flip, truncate, mutate_field, mutate_field, mutate_field, mutate_length, mutate_length, splice),
    "png": (flip, flip, truncate, mutate_png, mutate_png, mutate_png, splice),
}


def make_case(seeds: list[Seed], seed: int, index: int) -> tuple[bytes, str, str]:
    """The ``index``-th case of run ``seed``: (bytes, seed name, mutation labels)."""
    rng = random.Random(f"{seed}:{index}")
    base = rng.choices(seeds, weights=[s.weight for s in seeds])[0]
    data, labels = base.data, []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not data:
            break
        data, label = rng.choice(MUTATORS[base.kind])(rng, data)
        labels.append(label)
    return data, base.name, "+".join(labels)
