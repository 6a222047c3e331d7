"""How the transfer's radius and noise gate were chosen: the validation split, never the test split.

    python benchmarks/transfer_sweep.py                 # writes benchmarks/results/transfer_sweep.{json,md}

For each site profile, the classifier's validation split (124 images) goes through the profile
(as in ``protocol.py --split val``). Rows: the "perfect network" oracle (the truth at the 128 px
working size, carried by the transfer) and the given neural packages, for each radius and gate.
Per row: AUC, specificity at the reference threshold, SSIM to the truth.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profiles", nargs="+",
                   default=["site_mild", "site_moderate", "site_mono1_dr", "site_severe"])
    p.add_argument("--radius", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--gate", type=float, nargs="+", default=[0.0, 3.0])
    p.add_argument("--packages", type=Path, nargs="*",
                   default=[REPO / "resources/models/unit-kermany-mono1dr-quick",
                            REPO / "resources/models/cyclegan-kermany-quick"])
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    clf = ClassifierModel(DEFAULT_CLASSIFIER)
    rows = []
    for prof in args.profiles:
        site = simulated_site(prof, DEFAULT_REFERENCE, DEFAULT_CLASSIFIER / "splits.json", 0, None, "val")

        def score(method: str, radius: int, gate: float, outs: list[np.ndarray]) -> None:
            s = clf.predict_batch(outs)
            auc = roc_auc(site.labels, s, n_bootstrap=0, seed=0).auc
            _, spec = operating_point(site.labels, s, clf.threshold)
            rows.append({"profile": prof, "method": method, "radius": radius, "gate": gate,
                         "auc": round(float(auc), 4), "specificity": round(float(spec), 3),
                         "ssim_to_truth": round(float(np.mean([ssim(o, t) for o, t in
                                                               zip(outs, site.truth)])), 4)})
            print(rows[-1], flush=True)

        for radius, gate in itertools.product(args.radius, args.gate):
            cfg = TransferConfig(radius=radius, noise_gate=gate)
            outs = []
            for x, t in zip(site.images, site.truth):
                low = working_shape(x.shape, 128)
                outs.append(transfer(x, resize(x, low), resize(t, low), cfg))
            score("oracle 128 px", radius, gate, outs)
            for pkg in args.packages:
                g = NeuralGeneralizer(pkg, use_gpu=False, transfer_config=cfg)
                score(pkg.name, radius, gate, [g.harmonize(x) for x in site.images])
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"machine": cpu_model(), "split": "val", "rows": rows}
    (args.out / "transfer_sweep.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = ["# Transfer radius / noise gate sweep (validation split; `benchmarks/transfer_sweep.py`)", "",
             "| profile | method | radius | gate | AUC | spec | SSIM to truth |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['profile']} | {r['method']} | {r['radius']} | {r['gate']:g} | {r['auc']:.3f} | "
              f"{r['specificity']:.2f} | {r['ssim_to_truth']:.3f} |" for r in rows]
    (args.out / "transfer_sweep.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
