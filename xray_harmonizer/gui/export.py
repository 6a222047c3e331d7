"""Export of the harmonized image (16-bit PNG, derived DICOM); atomic, never over the input.

Delegates to :mod:`xray_harmonizer.io.export` when installed; the PNG has a local fallback so
the button works before that module lands. No Qt here (runs in a worker).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from xray_harmonizer.gui.analysis import HarmonizeResult, StudyEntry
from xray_harmonizer.io.errors import ExportError


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write to a temporary file beside ``path`` and rename it over, so readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _refuse_input(path: Path, entry: StudyEntry) -> None:
    src = entry.image.meta.source
    if src.exists() and path.exists() and path.resolve() == src.resolve():
        raise ExportError(path, "refusing to overwrite the input study")


def suggested_name(entry: StudyEntry, result: HarmonizeResult, suffix: str) -> str:
    """``<input stem>_<generalizer><suffix>``, filesystem-safe."""
    gen = re.sub(r"[^A-Za-z0-9._-]+", "-", result.generalizer).strip("-") or "harmonized"
    return f"{entry.image.meta.source.stem}_{gen}{suffix}"


def export_png(entry: StudyEntry, result: HarmonizeResult, path: str | Path) -> Path:
    """16-bit greyscale PNG of the harmonized pixels."""
    path = Path(path)
    _refuse_input(path, entry)
    try:
        from xray_harmonizer.io.export import write_png16
    except ImportError:
        write_png16 = None
    if write_png16 is not None:
        out = write_png16(result.harmonized, path)
        return Path(out) if out is not None else path
    import io

    from PIL import Image
    arr = (np.clip(result.harmonized, 0, 1) * 65535.0 + 0.5).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def export_dicom(entry: StudyEntry, result: HarmonizeResult, path: str | Path) -> Path:
    """Derived DICOM (new SOP/series UIDs, derivation description naming the generalizer)."""
    path = Path(path)
    _refuse_input(path, entry)
    try:
        from xray_harmonizer.io.export import write_derived_dicom
    except ImportError as exc:
        raise ExportError(path, "derived DICOM export is not installed yet (io.export)") from exc
    out = write_derived_dicom(result.harmonized, entry.image, path,
                              generalizer_name=result.generalizer, model_hash=result.model_hash)
    return Path(out) if out is not None else path
