"""The transfer's two-band noise gate against the single gate it replaced, same images, same run.

    python benchmarks/noise_gate_compare.py [--old 80f9146] [--profiles site_severe ...] \\
        [--package resources/models/universal-kermany] [--gates 4.5,1]

The single gate is the transfer module as it was at commit ``--old`` (read with ``git show``, so
this needs the repository's history); the new one is the current module with each pair of
``--gates`` (fine octave, coarse band). For each profile, the classifier's *validation* split
through the profile (as ``protocol.py --split val``): AUC, specificity at the reference
threshold, SSIM to the truth; and ``benchmarks/lesions.py``'s lesions inserted in the first
``--lesion-images`` validation images before the chain: contrast kept, mean (10th percentile)
per radius. Writes ``benchmarks/results/noise_gate_compare.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402
from lesions import RADII, kept_by_radius  # noqa: E402
from transfer_sweep import gate_pair, validation_site  # noqa: E402

from benchmarks.protocol import DEFAULT_CLASSIFIER  # noqa: E402


def _old_transfer(commit: str):
    """The transfer module at ``commit``, loaded under its own name."""
    source = subprocess.run(["git", "show", f"{commit}:xray_harmonizer/imaging/transfer.py"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "transfer_old.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("transfer_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["transfer_old"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", default="80f9146")
    p.add_argument("--profiles", nargs="+", default=["site_moderate", "site_severe",
                                                     "training/sitesim/eval_chains/random_eval_2.json"])
    p.add_argument("--package", type=Path, default=REPO / "resources/models/universal-kermany")
    p.add_argument("--gates", type=gate_pair, nargs="+", default=[(4.5, 1.0)])
    p.add_argument("--lesion-images", type=int, default=24)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    old = _old_transfer(args.old)
    clf = ClassifierModel(DEFAULT_CLASSIFIER)
    g = NeuralGeneralizer(args.package, use_gpu=False)
    variants = {f"single gate (commit {args.old})":
                lambda x, cfg=old.TransferConfig(residual=g.transfer_config.residual):
                old.transfer(x, *g._low(x), cfg)}
    for gates in args.gates:
        gated = NeuralGeneralizer(args.package, use_gpu=False,
                                  transfer_config=replace(g.transfer_config, noise_gate=gates))
        variants[f"two-band gate {gates[0]:g}, {gates[1]:g}"] = gated.harmonize
    rows = []
    for prof in args.profiles:
        site, pairs = validation_site(prof, args.lesion_images)
        for label, run in variants.items():
            outs = [run(x) for x in site.images]
            scores = clf.predict_batch(outs)
            _, spec = operating_point(site.labels, scores, clf.threshold)
            kept = kept_by_radius(pairs, lambda x, _truth, run=run: run(x))
            rows.append({"profile": site.name.removesuffix("-val"), "variant": label,
                         "auc": round(float(roc_auc(site.labels, scores, n_bootstrap=0, seed=0).auc), 4),
                         "specificity": round(float(spec), 3),
                         "ssim_to_truth": round(float(np.mean([ssim(o, t) for o, t in zip(outs, site.truth)])), 4),
                         "lesions_kept": {str(r): [round(float(np.mean(v)), 3), round(float(np.percentile(v, 10)), 3)]
                                          for r, v in kept.items()}})
            print(rows[-1], flush=True)
    command = "python benchmarks/noise_gate_compare.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    result = {"command": command.strip(), "machine": cpu_model(), "split": "val", "package": args.package.name,
              "n_lesion_images": args.lesion_images, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "noise_gate_compare.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = ["# Two-band noise gate vs the single gate (validation split)", "",
             f"`{result['command']}` on {result['machine']}; package {args.package.name}. Lesions: "
             f"contrast kept, mean (10th percentile), r = {' / '.join(str(r) for r in RADII)} px, "
             f"{args.lesion_images} images (3 lesions each).", "",
             "| profile | transfer | AUC | spec | SSIM to truth | lesions kept |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['profile']} | {r['variant']} | {r['auc']:.3f} | {r['specificity']:.2f} | "
              f"{r['ssim_to_truth']:.3f} | "
              + " / ".join(f"{m:.2f} ({q:.2f})" for m, q in r["lesions_kept"].values()) + " |" for r in rows]
    (args.out / "noise_gate_compare.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
