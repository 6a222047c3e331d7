"""Harmonize time at 2048x2048 and package size: the universal package beside the other bundled ones.

    python benchmarks/bench_universal_speed.py   # writes benchmarks/results/universal_speed.{json,md}

Every package is timed alike through the app's path (``NeuralGeneralizer.harmonize``: network at
its working size + full-resolution transfer), one warm-up call, then the median of ``--runs``
calls on the same 2048x2048 image (a simulated site_moderate radiograph upscaled from a test
image); onnxruntime on the CPU. Target for the universal package: <= 0.3 s, <= 25 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, run_times  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE
    from training.classifier.dataset import discover, load_image
    from training.sitesim import apply_site, load_site_profile
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import resize
    from xray_harmonizer.models.discovery import discover_packages

    name = json.loads((DEFAULT_CLASSIFIER / "splits.json").read_text(encoding="utf-8"))["test"][0]
    truth = load_image(next(s.path for s in discover(DEFAULT_REFERENCE) if s.name == name))
    image = np.clip(resize(apply_site(truth, load_site_profile("site_moderate"), 0),
                           (args.size, args.size)), 0, 1).astype(np.float32)
    rows = []
    packages, _ = discover_packages(None, kind="generalizer")
    for pkg in packages:
        g = NeuralGeneralizer(pkg)
        times = run_times(lambda: g.harmonize(image), args.runs)
        size_mb = sum(f.stat().st_size for f in pkg.root.iterdir() if f.is_file()) / 1e6
        rows.append({"package": pkg.name, "kind": g.kind, "working_size": g.working_size,
                     "median_s": round(float(np.median(times)), 3), "min_s": round(min(times), 3),
                     "package_mb": round(size_mb, 2), "provider": g.provider})
    result = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": f"{cpu_model()} (2 cores, shared, no GPU; load average at start {os.getloadavg()[0]:.1f})",
              "image": f"{args.size}x{args.size}", "runs": args.runs, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "universal_speed.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = ["# Harmonize time at 2048x2048 and package size", "",
             f"Generated {result['generated']} by `python benchmarks/bench_universal_speed.py` on "
             f"{result['machine']}; median of {args.runs} calls after one warm-up.", "",
             "| package | kind | working size | median s | min s | package MB |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['package']} | {r['kind']} | {r['working_size']} | {r['median_s']:.3f} | {r['min_s']:.3f} "
              f"| {r['package_mb']:.1f} |" for r in rows]
    (args.out / "universal_speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
