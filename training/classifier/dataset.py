"""Labelled chest X-ray folders and the patient-level split.

Three layouts are read:

* a folder with ``manifest.csv`` holding ``file``, ``patient`` and ``label`` columns (the Kermany
  sample in ``shared/data/cxr/kermany``; ``pneumonia``/``abnormal``/``1`` are positive);
* the NLM Tuberculosis layout: ``CXR_png/CHNCXR_0001_0.png`` or ``MCUCXR_0001_1.png`` (label =
  the last digit), directly in the folder or in its ``CXR_png`` subfolder; one patient per image;
* any folder plus a ``file,label`` CSV (``--labels``).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POSITIVE = {"1", "pneumonia", "abnormal", "tuberculosis", "tb", "positive", "true", "yes"}
NEGATIVE = {"0", "normal", "negative", "false", "no", "no finding"}
NLM_NAME = re.compile(r"^(?P<patient>(?:CHNCXR|MCUCXR)_\d+)_(?P<label>[01])\.(png|jpg|jpeg|tif|tiff|dcm)$",
                      re.IGNORECASE)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm"}


@dataclass(frozen=True)
class Sample:
    """One labelled image. ``patient`` is an opaque id used only to keep patients in one split."""

    path: Path
    label: int
    patient: str

    @property
    def name(self) -> str:
        return self.path.name


def parse_label(value: str) -> int:
    v = value.strip().lower()
    if v in POSITIVE:
        return 1
    if v in NEGATIVE:
        return 0
    raise ValueError(f"unknown label {value!r} (use 0/1, normal/pneumonia, normal/abnormal)")


def read_manifest_folder(root: Path) -> list[Sample]:
    """``root/manifest.csv`` with file, patient, label columns."""
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Sample(root / r["file"], parse_label(r["label"]), r.get("patient") or r["file"])
            for r in rows]


def read_nlm_folder(root: Path) -> list[Sample]:
    """NLM Shenzhen/Montgomery naming; label = last digit of the stem."""
    folder = root / "CXR_png" if (root / "CXR_png").is_dir() else root
    samples = []
    for p in sorted(folder.iterdir()):
        m = NLM_NAME.match(p.name)
        if m:
            samples.append(Sample(p, int(m["label"]), m["patient"]))
    return samples


def read_labels_csv(root: Path, labels: Path) -> list[Sample]:
    """Any folder plus a ``file,label[,patient]`` CSV."""
    with open(labels, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "file" not in rows[0] or "label" not in rows[0]:
        raise ValueError(f"{labels}: needs 'file' and 'label' columns")
    return [Sample(root / r["file"], parse_label(r["label"]), r.get("patient") or r["file"])
            for r in rows]


def discover(root: str | Path, labels: str | Path | None = None) -> list[Sample]:
    """Find the labelled images of ``root`` (see the module docstring); raises if none."""
    root = Path(root)
    if labels is not None:
        samples = read_labels_csv(root, Path(labels))
    elif (root / "manifest.csv").is_file():
        samples = read_manifest_folder(root)
    else:
        samples = read_nlm_folder(root)
    if not samples:
        raise ValueError(f"{root}: no labelled images (manifest.csv, NLM names or --labels CSV)")
    missing = [s.path.name for s in samples if not s.path.is_file()]
    if missing:
        raise FileNotFoundError(f"{root}: {len(missing)} listed image(s) missing, e.g. {missing[0]}")
    if len({s.label for s in samples}) < 2:
        raise ValueError(f"{root}: both classes are needed")
    return samples


def split_by_patient(samples: list[Sample], seed: int,
                     fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> dict[str, list[str]]:
    """Patient-level train/val/test split, stratified by the patient's label, fixed by ``seed``.

    Returns file names per split (sorted), so the split is JSON-able and independent of paths.
    """
    by_patient: dict[str, list[Sample]] = {}
    for s in samples:
        by_patient.setdefault(s.patient, []).append(s)
    rng = np.random.default_rng(seed)
    split: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for label in (0, 1):
        patients = sorted(p for p, ss in by_patient.items() if round(np.mean([s.label for s in ss])) == label)
        patients = [patients[i] for i in rng.permutation(len(patients))]
        n = len(patients)
        n_train = int(round(fractions[0] * n))
        n_val = int(round(fractions[1] * n))
        for name, part in (("train", patients[:n_train]), ("val", patients[n_train:n_train + n_val]),
                           ("test", patients[n_train + n_val:])):
            split[name] += [s.name for p in part for s in by_patient[p]]
    return {k: sorted(v) for k, v in split.items()}


def write_split(split: dict[str, list[str]], path: Path, *, seed: int, data: str) -> None:
    counts = {k: len(v) for k, v in split.items()}
    path.write_text(json.dumps({"seed": seed, "data": data, "counts": counts, **split}, indent=1) + "\n",
                    encoding="utf-8")


def load_image(path: Path) -> np.ndarray:
    """float32 (H, W) presentation image in [0, 1], through the app's loader (DICOM and rasters)."""
    from xray_harmonizer.io import open_image

    return open_image(path).pixels
