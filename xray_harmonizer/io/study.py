"""A study: one file, a folder (recursive), or the DICOM series in it.

Order is deterministic: files sorted by path; DICOM files of one series (same
SeriesInstanceUID) are kept together at the place of the series' first file and ordered by
InstanceNumber. One bad file becomes a StudyError in ``errors`` and never stops the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from xray_harmonizer.io._common import BoundedFile
from xray_harmonizer.io.dicom import has_dicom_preamble, instance_number
from xray_harmonizer.io.errors import FileAccessError, StudyError
from xray_harmonizer.io.image import XrayImage
from xray_harmonizer.io.reader import open_image

log = logging.getLogger(__name__)

#: In a folder, files with these suffixes are documents that travel with images, not images.
SKIPPED_SUFFIXES = frozenset(
    ".csv .tsv .txt .md .rst .json .yaml .yml .toml .ini .cfg .xml .html .htm .pdf .log .py .sh "
    ".zip .gz .tar .7z .db .sqlite .onnx .safetensors .pt".split()
)
SKIPPED_NAMES = frozenset({"DICOMDIR", "Thumbs.db", "desktop.ini"})


@dataclass
class StudyResult:
    """What :func:`open_study` found.

    Attributes
    ----------
    images : list of XrayImage
        Opened images in study order.
    errors : list of StudyError
        One per file that could not be opened, in study order; ``str(e)`` is ``"path: reason"``.
    skipped : list of Path
        Files in a folder not tried because their names mark them as documents (``.csv``...).
    """

    images: list[XrayImage] = field(default_factory=list)
    errors: list[StudyError] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def series(self) -> dict[str, list[XrayImage]]:
        """Images grouped by SeriesInstanceUID (rasters under their own path)."""
        groups: dict[str, list[XrayImage]] = {}
        for image in self.images:
            groups.setdefault(image.meta.series_uid or str(image.meta.source), []).append(image)
        return groups


def study_files(path: str | Path) -> tuple[list[Path], list[Path]]:
    """Files of a study in reading order, and the files skipped as documents.

    A file path gives itself. A folder is walked recursively (hidden entries and symlinked
    folders are not followed); DICOM files are grouped by series as described above.
    """
    root = Path(path)
    if not root.is_dir():
        return [root], []
    found: list[Path] = []
    skipped: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if name in SKIPPED_NAMES or p.suffix.lower() in SKIPPED_SUFFIXES:
                skipped.append(p)
            else:
                found.append(p)
    found.sort()
    return _group_series(found), sorted(skipped)


def iter_study(path: str | Path) -> Iterator[tuple[Path, XrayImage | StudyError]]:
    """Yield ``(file, image or error)`` in study order, opening one file at a time.

    Lets a caller show progress and keep memory flat on large folders.
    """
    root = Path(path)
    if not root.exists():
        yield root, FileAccessError(root, "file or folder not found")
        return
    files, _ = study_files(root)
    for p in files:
        yield p, _open_one(p)


def open_study(path: str | Path) -> StudyResult:
    """Open every image of a study (a file, a folder, or the DICOM series in a folder).

    Returns
    -------
    StudyResult
        ``images`` and ``errors`` in study order, ``skipped`` document files. Never raises for a
        bad input file; a path that does not exist gives one FileAccessError in ``errors``.
    """
    result = StudyResult()
    root = Path(path)
    if not root.exists():
        result.errors.append(FileAccessError(root, "file or folder not found"))
        return result
    files, result.skipped = study_files(root)
    for p in files:
        item = _open_one(p)
        if isinstance(item, StudyError):
            result.errors.append(item)
        else:
            result.images.append(item)
    log.info(
        "study %s: %d image(s), %d refused, %d skipped",
        root.name, len(result.images), len(result.errors), len(result.skipped),
    )
    return result


def _open_one(p: Path) -> XrayImage | StudyError:
    # open_image turns every failure (native decoder panics included) into a StudyError.
    try:
        return open_image(p)
    except StudyError as exc:
        log.info("%s", exc)
        return exc


def _group_series(files: list[Path]) -> list[Path]:
    """Keep DICOM files of one series together at the first one's place, by InstanceNumber."""
    groups: dict[str, list[tuple[int | None, Path]]] = {}
    order: list[str] = []
    for p in files:
        key, number = str(p), None
        header = _dicom_series(p)
        if header is not None:
            key, number = "series:" + header[0], header[1]
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((number, p))
    out: list[Path] = []
    for key in order:
        members = groups[key]
        members.sort(key=lambda m: (m[0] is None, m[0] if m[0] is not None else 0, str(m[1])))
        out.extend(p for _, p in members)
    return out


def _dicom_series(p: Path) -> tuple[str, int | None] | None:
    """(SeriesInstanceUID, InstanceNumber) of a Part 10 DICOM file, else None (cheap header read)."""
    try:
        with open(p, "rb") as f:
            if not has_dicom_preamble(f.read(132)):
                return None
        with BoundedFile(p) as f:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=["SeriesInstanceUID", "InstanceNumber"])
    except Exception:  # unreadable headers are reported when the file is opened
        return None
    uid = str(ds.get("SeriesInstanceUID", "") or "")
    return (uid, instance_number(ds)) if uid else None
