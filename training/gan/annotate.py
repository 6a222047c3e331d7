"""Copy benchmark and protocol figures into the bundled packages' manifests (``evaluation``).

    python -m training.gan.annotate resources/models/cyclegan-kermany-quick \
        --inference benchmarks/results/inference.json \
        --protocol benchmarks/results/protocol-site_severe/results.json

Only figures measured by those scripts are copied, with the file they came from.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from xray_harmonizer.models.package import write_manifest


def inference_figures(path: Path, name: str) -> dict[str, Any]:
    """This package's rows of ``bench_inference.py``'s JSON."""
    r = json.loads(path.read_text(encoding="utf-8"))
    timing = {row["size"]: {m: round(row[m]["median_s"], 4)
                            for m in ("transfer", "upsample", "full_network")}
              for row in r["timing"] if row["generalizer"] == name}
    ssim = {s: {k.split("/", 1)[1]: round(v, 4) for k, v in r["ssim"][s]["mean"].items()
                if k.startswith(name + "/")} | {"none": round(r["ssim"][s]["mean"]["none"], 4),
                                                "n": r["ssim"][s]["n"]}
            for s in ("heldout_512", "fullres")}
    nih = {k.split("/", 1)[1]: round(v, 4) for k, v in r["nih"]["mean"].items()
           if k.startswith(name + "/")}
    return {"source": str(path), "generated": r["generated"], "machine": r["machine"]["cpu"],
            "seconds_per_image_cpu": timing, "ssim_to_truth_" + r["ssim"]["profile"]: ssim,
            "nih_real_site": nih}


def protocol_figures(path: Path, display_name: str) -> dict[str, Any]:
    """This generalizer's row (by its display name) and the context rows of ``protocol.py``'s
    results.json."""
    r = json.loads(path.read_text(encoding="utf-8"))
    keep = ("auc", "ci_low", "ci_high", "sensitivity", "specificity", "ssim_to_input",
            "ssim_to_truth", "w1_to_reference", "w1_pooled")

    def short(row: dict[str, Any]) -> dict[str, Any]:
        return {k: (round(row[k], 4) if isinstance(row.get(k), float) else row.get(k))
                for k in keep}

    rows = {row["row"]: short(row) for row in r["rows"]}
    return {"source": str(path), "site": r["site"], "n_images": r["n_images"],
            "this_generalizer": rows.get(display_name),
            "original": rows.get("original"), "truth": rows.get("truth (upper bound)")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("package", type=Path)
    p.add_argument("--inference", type=Path, default=None)
    p.add_argument("--protocol", type=Path, nargs="*", default=[])
    args = p.parse_args(argv)
    manifest = json.loads((args.package / "manifest.json").read_text(encoding="utf-8"))
    figures: dict[str, Any] = {}
    if args.inference:
        figures["inference_benchmark"] = inference_figures(args.inference, manifest["name"])
    for path in args.protocol:
        fig = protocol_figures(path, manifest.get("display_name", manifest["name"]))
        figures[f"protocol_{fig['site']}"] = fig
    # Figures from an earlier run of the same scripts are replaced, not merged: a stale row
    # next to a fresh one would read as two measurements of this package.
    evaluation = {k: v for k, v in manifest.get("evaluation", {}).items()
                  if not (k.startswith("protocol_") or k == "inference_benchmark")}
    manifest["evaluation"] = evaluation | figures
    write_manifest(args.package, manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
