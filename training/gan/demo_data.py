"""Build the unpaired demo pair for the bundled generalizers.

Kermany patients outside the classifier's test split are split by seed into two disjoint halves:
one half stays as the reference site, the other half is re-imaged through a public site profile
(``training/sitesim``) and becomes the "new site". No patient appears on both sides, and no
classifier test patient is used at all, so the protocol's held-out images stay unseen.

    python -m training.gan.demo_data --kermany ../shared/data/cxr/kermany \
        --profile site_severe --out runs/gan-demo --seed 0

With several ``--profile`` names, every site patient is re-imaged through one of them (drawn by
seed, all of a patient's images alike): a "many sites" domain B for a generalizer meant to serve
sites it was not fitted on.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def classifier_test_files(kermany: Path, split_json: Path | None, seed: int) -> set[str]:
    """File names the classifier evaluates on: from its split JSON, else recomputed with its own
    ``split_by_patient`` (same function and seed) so both sides agree without coordination."""
    if split_json is not None and split_json.is_file():
        return set(json.loads(split_json.read_text(encoding="utf-8"))["test"])
    from training.classifier.dataset import discover, split_by_patient

    return set(split_by_patient(discover(kermany), seed)["test"])


def split_patients(rows: list[dict[str, str]], excluded: set[str],
                   seed: int) -> tuple[list[str], list[str]]:
    """(reference files, site files): halves of the remaining patients, fixed by ``seed``."""
    by_patient: dict[str, list[str]] = {}
    for r in rows:
        if r["file"] not in excluded:
            by_patient.setdefault(r["patient"], []).append(r["file"])
    patients = sorted(by_patient)
    order = np.random.default_rng(seed).permutation(len(patients))
    half = len(patients) // 2
    ref = sorted(f for i in order[:half] for f in by_patient[patients[i]])
    site = sorted(f for i in order[half:] for f in by_patient[patients[i]])
    return ref, site


def build(kermany: Path, profile_names: str | list[str], out: Path, seed: int,
          split_json: Path | None = None, classifier_seed: int = 0) -> dict[str, object]:
    """Write ``out/reference/*.png`` (copies) and ``out/site/*.png`` (16-bit, simulated)."""
    from PIL import Image

    from training.gan.data import read_image
    from training.sitesim import apply_site, load_site_profile, seed_for

    rows = list(csv.DictReader((kermany / "manifest.csv").open(encoding="utf-8")))
    excluded = classifier_test_files(kermany, split_json, classifier_seed)
    ref, site = split_patients(rows, excluded, seed)
    names = [profile_names] if isinstance(profile_names, str) else list(profile_names)
    profiles = [load_site_profile(n) for n in names]
    patient_of = {r["file"]: r["patient"] for r in rows}
    site_patients = sorted({patient_of[f] for f in site})
    draw = np.random.default_rng([seed, 1]).integers(len(profiles), size=len(site_patients))
    profile_of = {pt: profiles[int(k)] for pt, k in zip(site_patients, draw)}
    (out / "reference").mkdir(parents=True, exist_ok=True)
    (out / "site").mkdir(parents=True, exist_ok=True)
    for name in ref:
        (out / "reference" / name).write_bytes((kermany / name).read_bytes())
    used: dict[str, int] = {}
    for name in site:
        profile = profile_of[patient_of[name]]
        used[profile.name] = used.get(profile.name, 0) + 1
        shifted = apply_site(read_image(kermany / name), profile, seed=seed_for(name, seed))
        Image.fromarray(np.round(shifted * 65535).astype(np.uint16)).save(out / "site" / name)
    info = {"kermany": str(kermany),
            "profile": names[0] if len(names) == 1 else names, "seed": seed,
            "classifier_split": str(split_json) if split_json else f"recomputed, seed {classifier_seed}",
            "excluded_classifier_test_files": len(excluded),
            "reference_files": len(ref), "site_files": len(site),
            "reference_patients": len({r["patient"] for r in rows if r["file"] in set(ref)}),
            "site_patients": len({r["patient"] for r in rows if r["file"] in set(site)})}
    if len(names) > 1:
        info["site_files_per_profile"] = dict(sorted(used.items()))
    (out / "split.json").write_text(json.dumps({**info, "reference": ref, "site": site}, indent=1)
                                    + "\n", encoding="utf-8")
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kermany", type=Path, required=True)
    p.add_argument("--profile", nargs="+", default=["site_severe"],
                   help="site profile(s); with several, each site patient gets one, drawn by seed")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classifier-split", type=Path, default=None,
                   help="the classifier's split JSON (its 'test' files are left out)")
    p.add_argument("--classifier-seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    profile = args.profile[0] if len(args.profile) == 1 else args.profile
    info = build(args.kermany, profile, args.out, args.seed, args.classifier_split,
                 args.classifier_seed)
    log.info("demo data: %s", info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
