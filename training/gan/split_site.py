"""Split a real site's unlabeled folder into a training half and a held-out half, by patient.

A generalizer fitted on a site's own images is then judged on images it never saw:

    python -m training.gan.split_site --site ../shared/data/cxr/nih --out runs/nih-split \
        --name nih-real --seed 0        # runs/nih-split/{train,test}/ + split.json

The patient of a file is the part of its name before the first underscore (NIH ChestX-ray14:
``00000075_000.png`` is patient 00000075, follow-up 000); a name without one is its own patient.
Files are linked, not copied (copied where the file system has no symbolic links); the source
folder is only read.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from training.gan.data import list_images

log = logging.getLogger(__name__)


def patient_of(name: str) -> str:
    """``00000075_000.png`` -> ``00000075``; a name without ``_`` is its own patient."""
    stem = Path(name).stem
    return stem.split("_", 1)[0] if "_" in stem else stem


def split_site(site: Path, out: Path, name: str, seed: int = 0) -> dict[str, object]:
    """Write ``out/train`` and ``out/test`` (half the patients each, drawn by ``seed``) and
    ``out/split.json``; returns the split's summary. ``out`` must not exist yet."""
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder")
    files = [p for p in list_images(site)]
    if len(files) < 2:
        raise ValueError(f"{site}: need at least two images, found {len(files)}")
    patients = sorted({patient_of(p.name) for p in files})
    order = np.random.default_rng(seed).permutation(len(patients))
    train_patients = {patients[i] for i in order[: max(1, len(patients) // 2)]}
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    parts: dict[str, list[str]] = {"train": [], "test": []}
    for part in parts:
        (tmp / part).mkdir(parents=True)
    for p in files:
        part = "train" if patient_of(p.name) in train_patients else "test"
        target = tmp / part / p.name
        try:
            os.symlink(p.resolve(), target)
        except OSError:
            shutil.copy2(p, target)
        parts[part].append(p.name)
    info = {"source": str(site), "profile": name, "seed": seed, "split": "by patient, halves",
            "train_files": len(parts["train"]), "test_files": len(parts["test"]),
            "train_patients": len(train_patients),
            "test_patients": len(patients) - len(train_patients)}
    (tmp / "split.json").write_text(json.dumps({**info, **parts}, indent=1) + "\n", encoding="utf-8")
    tmp.rename(out)  # nothing half-written is left under the final name
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", type=Path, required=True, help="folder of the site's images")
    p.add_argument("--out", type=Path, required=True, help="new folder for train/, test/, split.json")
    p.add_argument("--name", required=True, help="site name recorded in split.json")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    log.info("site split: %s", split_site(args.site, args.out, args.name, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
