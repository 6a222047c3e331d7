"""How the transfer's radius and noise gates were chosen: the validation split, never the test split.

    python benchmarks/transfer_sweep.py                 # writes benchmarks/results/transfer_sweep.{json,md}
    python benchmarks/transfer_sweep.py --radius 4 --gate 3,3 6,1.5 --lesion-images 24 \
        --packages resources/models/universal-kermany

For each site profile, the classifier's validation split (124 images) goes through the profile
(as in ``protocol.py --split val``). Rows: the "perfect network" oracles (the truth at the 128 px
working size, carried by the transfer with its local map alone and with its residual) and the
given neural packages (each with its own transfer: the universal kind with the residual), for
each radius and pair of gates (fine octave, coarse band; ``TransferConfig.noise_gate``). Per row:
AUC, specificity at the reference threshold, SSIM to the truth and, with ``--lesion-images N``,
the contrast kept of ``benchmarks/lesions.py``'s lesions inserted in the first N validation
images before the chain (mean and 10th percentile per radius).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site  # noqa: E402
from training.sitesim import load_site_profile  # noqa: E402


def gate_pair(text: str) -> tuple[float, float]:
    """``"FINE,COARSE"`` -> ``TransferConfig.noise_gate`` (command-line type)."""
    fine, coarse = (float(v) for v in text.split(","))
    return fine, coarse


def validation_site(profile_arg: str, lesion_images: int):
    """The classifier's validation split through a profile (``protocol.py --split val``) and
    :mod:`lesions`' draw on its first ``lesion_images`` images."""
    from lesions import lesion_pair

    site = simulated_site(profile_arg, DEFAULT_REFERENCE, DEFAULT_CLASSIFIER / "splits.json", 0, None, "val")
    profile = load_site_profile(profile_arg)
    return site, [lesion_pair(name, truth, profile, 0)
                  for name, truth in list(zip(site.files, site.truth))[:lesion_images]]


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    from lesions import RADII, kept_by_radius

    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profiles", nargs="+",
                   default=["site_mild", "site_moderate", "site_mono1_dr", "site_severe"])
    p.add_argument("--radius", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--gate", type=gate_pair, nargs="+", default=[(0.0, 0.0), (6.0, 1.5)],
                   help="pairs FINE,COARSE")
    p.add_argument("--lesion-images", type=int, default=0)
    p.add_argument("--packages", type=Path, nargs="*",
                   default=[REPO / "resources/models/unit-kermany-mono1dr-quick",
                            REPO / "resources/models/cyclegan-kermany-quick"])
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    clf = ClassifierModel(DEFAULT_CLASSIFIER)
    # Each package with its own transfer (the universal kind carries the residual), read once.
    own_config = {pkg: NeuralGeneralizer(pkg, use_gpu=False).transfer_config for pkg in args.packages}
    rows = []
    for prof in args.profiles:
        site, pairs = validation_site(prof, args.lesion_images)

        def score(method: str, radius: int, gate: tuple[float, float], run) -> None:
            outs = [run(x, t) for x, t in zip(site.images, site.truth)]
            s = clf.predict_batch(outs)
            auc = roc_auc(site.labels, s, n_bootstrap=0, seed=0).auc
            _, spec = operating_point(site.labels, s, clf.threshold)
            row = {"profile": prof, "method": method, "radius": radius, "gate": list(gate),
                   "auc": round(float(auc), 4), "specificity": round(float(spec), 3),
                   "ssim_to_truth": round(float(np.mean([ssim(o, t) for o, t in zip(outs, site.truth)])), 4)}
            if pairs:
                kept = kept_by_radius(pairs, run)
                row["lesions_kept"] = {str(r): [round(float(np.mean(v)), 3), round(float(np.percentile(v, 10)), 3)]
                                       for r, v in kept.items()}
            rows.append(row)
            print(rows[-1], flush=True)

        def oracle(cfg):
            def run(x, t):
                low = working_shape(x.shape, 128)
                return transfer(x, resize(x, low), resize(t, low), cfg)
            return run

        for radius, gate in itertools.product(args.radius, args.gate):
            cfg = TransferConfig(radius=radius, noise_gate=gate)
            score("oracle 128 px", radius, gate, oracle(cfg))
            score("oracle 128 px + residual", radius, gate, oracle(replace(cfg, residual=True)))
            for pkg in args.packages:
                g = NeuralGeneralizer(pkg, use_gpu=False, transfer_config=replace(
                    own_config[pkg], radius=radius, noise_gate=gate))
                score(pkg.name, radius, gate, lambda x, t, g=g: g.harmonize(x))
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"machine": cpu_model(), "split": "val", "rows": rows}
    (args.out / "transfer_sweep.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = ["# Transfer radius / noise gate sweep (validation split; `benchmarks/transfer_sweep.py`)", "",
             f"`python benchmarks/transfer_sweep.py {shlex.join(argv if argv is not None else sys.argv[1:])}` "
             f"on {result['machine']}. Gates: fine octave, coarse band. Lesions: contrast kept, mean "
             f"(10th percentile), r = {' / '.join(str(r) for r in RADII)} px.", "",
             "| profile | method | radius | gates | AUC | spec | SSIM to truth | lesions kept |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['profile']} | {r['method']} | {r['radius']} | {r['gate'][0]:g}, {r['gate'][1]:g} | "
              f"{r['auc']:.3f} | {r['specificity']:.2f} | {r['ssim_to_truth']:.3f} | "
              + " / ".join(f"{m:.2f} ({q:.2f})" for m, q in r.get("lesions_kept", {}).values()) + " |"
              for r in rows]
    (args.out / "transfer_sweep.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
