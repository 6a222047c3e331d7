"""Export of a harmonized result (16-bit PNG, derived DICOM) under a suggested name.

The writing itself is :mod:`xray_harmonizer.io.export` (atomic, never over an input file);
here only the GUI-level rules: a name built from the input and the generalizer, and a refusal
to write over the study being shown. No Qt here (runs in a worker).
"""

from __future__ import annotations

import re
from pathlib import Path

from xray_harmonizer.analysis.measure import HarmonizeResult
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.io.deidentify import Deidentifier
from xray_harmonizer.io.errors import ExportError
from xray_harmonizer.io.export import write_derived_dicom, write_png16


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
    return write_png16(result.harmonized, path)


def export_dicom(entry: StudyEntry, result: HarmonizeResult, path: str | Path,
                 deidentifier: Deidentifier | None = None) -> Path:
    """Derived DICOM (new SOP/series UIDs, derivation description naming the generalizer);
    de-identified (PS3.15 Basic Profile) when a ``deidentifier`` is given."""
    path = Path(path)
    _refuse_input(path, entry)
    return write_derived_dicom(result.harmonized, entry.image, path,
                               generalizer_name=result.generalizer, model_hash=result.model_hash,
                               deidentifier=deidentifier)
