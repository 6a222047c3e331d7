"""Scan a site's folder for training: what is usable, what is left out and why, by patient.

No torch and no Qt: the wizard runs :func:`scan_folder` in a worker thread, the CLI in its own
process. A file is left out, with one plain reason, when it is

* ``unreadable``: not an image the app's loader opens (damaged, a document, an unsupported codec);
* ``not a chest radiograph``: its DICOM tags say another body part or a non-projection modality;
* ``duplicate``: byte-identical to a file already taken (the same export twice);
* ``too small``: shorter side under ``min_side`` pixels (icons, thumbnails, scout images).

Reasons name the file and the tag value, never patient data.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MIN_SIDE = 256  # the quick preset works at 128 px; 256 leaves room for the full preset's crops
MIN_IMAGES = 20  # fewer cannot show a GAN a site's intensity distribution, nor hold any out
THUMB_SIDE = 96
# BodyPartExamined values (DICOM PS3.16 CID 4031 and what vendors write) that mean the chest.
CHEST_PARTS = {"CHEST", "THORAX", "LUNG", "LUNGS", "CHEST_LAT", "CHESTPA", "CHEST PA", "RIBS",
               "THORAX PA", "TORSO"}
REASONS = ("unreadable", "not a chest radiograph", "duplicate", "too small")


@dataclass(frozen=True)
class ScanItem:
    """One usable image: where it is, whose it is (a grouping key only), its size."""

    path: Path
    patient: str
    shape: tuple[int, int]


@dataclass(frozen=True)
class Refusal:
    path: Path
    reason: str  # one of REASONS
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path.name}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ScanResult:
    folder: Path
    accepted: list[ScanItem] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    thumbnails: list[tuple[Path, np.ndarray]] = field(default_factory=list)  # uint8 HxW

    @property
    def patients(self) -> int:
        return len({i.patient for i in self.accepted})

    def refused_by_reason(self) -> dict[str, int]:
        counts = {r: 0 for r in REASONS}
        for r in self.refused:
            counts[r.reason] += 1
        return {k: v for k, v in counts.items() if v}

    def summary(self) -> dict[str, object]:
        return {"folder": str(self.folder), "usable": len(self.accepted),
                "patients": self.patients, "left_out": self.refused_by_reason()}


def patient_table(folder: Path) -> dict[str, str]:
    """``file name -> patient`` from a ``manifest.csv`` with ``file`` and ``patient`` columns in
    the folder (the layout of our data sets and of many research exports); empty if none."""
    table: dict[str, str] = {}
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        with manifest.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("file") and row.get("patient"):
                    table[row["file"]] = row["patient"]
    return table


_KERMANY = re.compile(r"^(IM-\d+)-\d+$")


def patient_from_name(name: str) -> str:
    """The patient of a file by its name: NIH/NLM ``00000075_000`` / ``CHNCXR_0001_0`` -> the
    part before the last ``_``-separated counter, Kermany ``IM-0129-0001`` -> ``IM-0129``;
    otherwise the file is its own patient."""
    stem = Path(name).stem
    m = _KERMANY.match(stem)
    if m:
        return m.group(1)
    head, _, tail = stem.rpartition("_")
    return head if head and tail.isdigit() else stem


def _patient(path: Path, dataset: object, table: dict[str, str]) -> str:
    pid = getattr(dataset, "PatientID", None) if dataset is not None else None
    if pid:  # hashed: the key groups images, it is never shown
        return "dicom:" + hashlib.sha256(str(pid).encode()).hexdigest()[:16]
    return table.get(path.name) or patient_from_name(path.name)


def _chest_refusal(path: Path, dataset: object) -> Refusal | None:
    if dataset is None:
        return None
    part = str(getattr(dataset, "BodyPartExamined", "") or "").strip().upper()
    if part and part not in CHEST_PARTS:
        return Refusal(path, "not a chest radiograph", f"BodyPartExamined {part}")
    return None


def _thumbnail(pixels: np.ndarray) -> np.ndarray:
    from xray_harmonizer.imaging.transfer import resize, working_shape

    small = resize(pixels, working_shape(pixels.shape, THUMB_SIDE))
    return (np.clip(small, 0, 1) * 255).astype(np.uint8)


def scan_folder(folder: str | Path, *, min_side: int = MIN_SIDE, thumbnails: int = 8,
                progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> ScanResult:
    """Open every file under ``folder`` (recursively) once and sort it into usable or left out.

    ``progress(done, total)`` is called after each file; ``cancelled()`` is checked between
    files (the scan then stops and returns what it has).
    """
    from xray_harmonizer.io import iter_study, study_files
    from xray_harmonizer.io.errors import NotProjectionRadiographError, StudyError

    folder = Path(folder)
    result = ScanResult(folder)
    if not folder.is_dir():
        result.refused.append(Refusal(folder, "unreadable", "not a folder"))
        return result
    # Documents (reports, CSV, PDF) are not offered as images at all: study_files skips them.
    total = len(study_files(folder)[0])
    table = patient_table(folder)
    seen: dict[str, Path] = {}
    for done, (path, item) in enumerate(iter_study(folder), 1):
        if cancelled is not None and cancelled():
            break
        if progress is not None:
            progress(done, total)
        if isinstance(item, NotProjectionRadiographError):
            result.refused.append(Refusal(path, "not a chest radiograph", item.reason))
            continue
        if isinstance(item, StudyError):
            result.refused.append(Refusal(path, "unreadable", item.reason[:120]))
            continue
        refusal = _chest_refusal(path, item.meta.dataset)
        if refusal is not None:
            result.refused.append(refusal)
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            result.refused.append(Refusal(path, "duplicate", f"same file as {seen[digest].name}"))
            continue
        seen[digest] = path
        h, w = item.pixels.shape
        if min(h, w) < min_side:
            result.refused.append(Refusal(path, "too small", f"{w}x{h}, under {min_side} px"))
            continue
        result.accepted.append(ScanItem(path, _patient(path, item.meta.dataset, table), (h, w)))
        if len(result.thumbnails) < thumbnails:
            result.thumbnails.append((path, _thumbnail(item.pixels)))
    return result


def hold_out(items: list[ScanItem], share: float, seed: int = 0) -> tuple[list[ScanItem],
                                                                           list[ScanItem]]:
    """(train, held out): ``share`` of the patients (at least one, never all) held out for the
    evaluation, all images of a patient on the same side; fixed by ``seed``."""
    patients = sorted({i.patient for i in items})
    if len(patients) < 2:
        raise ValueError(f"need images of at least 2 patients to hold some out, "
                         f"found {len(patients)}")
    n_held = min(len(patients) - 1, max(1, int(round(share * len(patients)))))
    order = np.random.default_rng(seed).permutation(len(patients))
    held = {patients[i] for i in order[:n_held]}
    return ([i for i in items if i.patient not in held], [i for i in items if i.patient in held])
