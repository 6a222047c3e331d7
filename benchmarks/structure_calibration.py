"""Calibrate the structure guard (``xray_harmonizer/metrics/structure.py``) on protocol outputs.

    python -m benchmarks.structure_calibration [--limit 12]

Runs every installed generalizer on the protocol's simulated sites (the classifier's test split
through the four bundled site profiles, ``--limit`` images per site, both classes), on RG1
(CR chest, JPEG 2000), the bundled samples and the full-resolution originals, and records the
guard's score per output. "Good" rows are histogram matching and the packages that pass the
chooser's bar (``generalizers/evidence.py``); the known-bad row is ``unit-kermany-quick``
(specificity 0 on every simulated site, a dark blotch on RG1). Prints the threshold that keeps
every good output unflagged, and what it catches; writes
``benchmarks/results/structure_guard.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from xray_harmonizer.generalizers.evidence import passes_bar
from xray_harmonizer.generalizers.registry import discover_generalizers
from xray_harmonizer.io import open_image
from xray_harmonizer.metrics.structure import THRESHOLD, structure_check

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
SITES = ("site_mild", "site_moderate", "site_mono1_dr", "site_severe")
KNOWN_BAD = "unit-kermany-quick"


def inputs(limit: int) -> dict[str, list[np.ndarray]]:
    from benchmarks.protocol import simulated_site

    package = REPO / "resources" / "models" / "classifier-kermany-pneumonia"
    sets = {site: simulated_site(site, DATA / "cxr" / "kermany", package / "splits.json", 0,
                                 limit).images for site in SITES}
    sets["rg1"] = [open_image(DATA / "dicom" / "RG1_J2KI.dcm").pixels]
    sets["samples"] = [open_image(p).pixels
                       for p in sorted((REPO / "resources" / "samples").glob("*.dcm"))]
    sets["fullres"] = [open_image(p).pixels
                       for p in sorted((DATA / "cxr" / "fullres").glob("*.png"))[:8]]
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=12, help="images per simulated site")
    args = parser.parse_args(argv)
    generalizers, _ = discover_generalizers(use_gpu=False)
    sets = inputs(args.limit)
    scores: dict[str, dict[str, list[float]]] = {}
    for g in generalizers:
        package = getattr(g, "package", None)
        name = package.name if package is not None else "histogram"
        scores[name] = {k: [round(structure_check(im, g.harmonize(im)).score, 4) for im in ims]
                        for k, ims in sets.items()}
        print(name, {k: max(v) for k, v in scores[name].items()}, flush=True)
    good = ["histogram"] + [getattr(g, "package").name for g in generalizers
                            if getattr(g, "package", None) is not None and passes_bar(g.package)]
    good_max = max(max(v) for n in good for v in scores[n].values())
    bad = scores[KNOWN_BAD]
    bad_all = [s for v in bad.values() for s in v]
    suggested = round(1.15 * good_max, 2)
    rows = {n: {k: {"max": max(v), "median": float(np.median(v)), "scores": v,
                    "flagged": int(sum(s > THRESHOLD for s in v)), "n": len(v)}
                for k, v in per.items()} for n, per in scores.items()}
    out = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
           "threshold": THRESHOLD, "limit_per_site": args.limit, "good": good,
           "good_max": good_max, "suggested_threshold (1.15 x good_max)": suggested,
           "known_bad": KNOWN_BAD,
           "known_bad_caught": int(sum(s > THRESHOLD for s in bad_all)),
           "known_bad_n": len(bad_all), "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "structure_guard.json").write_text(json.dumps(out, indent=2) + "\n")
    cols = list(sets)
    lines = ["# Structure guard calibration", "",
             f"`python -m benchmarks.structure_calibration --limit {args.limit}`. Score: the "
             "largest region of the structured body where the local correlation between input "
             f"and output is < 0.5, as a share of that body. Threshold {THRESHOLD}.", "",
             f"Good outputs ({', '.join(good)}): largest score {good_max:.3f} (suggested "
             f"threshold 1.15 x that = {suggested:.2f}). Known-bad "
             f"`{KNOWN_BAD}`: flagged {out['known_bad_caught']} of {out['known_bad_n']}.", "",
             "Flagged / n (largest score) per package and input set:", "",
             "| package | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for n, per in rows.items():
        lines.append(f"| {n} | " + " | ".join(
            f"{per[k]['flagged']}/{per[k]['n']} ({per[k]['max']:.3f})" for k in cols) + " |")
    (RESULTS / "structure_guard.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
