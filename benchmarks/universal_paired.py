"""Is a candidate package's change against the bundled one real or noise? Paired per-image
differences on the test split.

    OMP_NUM_THREADS=2 python benchmarks/universal_paired.py BASE CANDIDATE \
        [--ssim-site training/sitesim/eval_chains/random_eval_7.json] \
        [--blob-site training/sitesim/eval_chains/random_eval_2.json] [--blob-images 24]

SSIM to truth (the protocol's test-split draw of ``--ssim-site``) and created lesion-like blobs
(the lesion benchmark's draw of ``--blob-site``, ``benchmarks/lesions.py``) per image for both
packages; prints the mean difference (candidate - base), its standard error and the share of
images that moved the wrong way. The bundling rule in ``training/universal/README.md`` compares
means; this says whether a difference near its limits is an effect of the package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from benchmarks.lesions import blob_thresholds, created_blobs, test_pairs  # noqa: E402
from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site  # noqa: E402

CHAINS = REPO / "training" / "sitesim" / "eval_chains"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path)
    ap.add_argument("candidate", type=Path)
    ap.add_argument("--ssim-site", default=str(CHAINS / "random_eval_7.json"))
    ap.add_argument("--blob-site", default=str(CHAINS / "random_eval_2.json"))
    ap.add_argument("--blob-images", type=int, default=24)
    args = ap.parse_args(argv)

    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.metrics.ssim import ssim

    base = NeuralGeneralizer(args.base, use_gpu=False)
    cand = NeuralGeneralizer(args.candidate, use_gpu=False)
    print(f"candidate {cand.model_hash[:12]} - base {base.model_hash[:12]}, test split")
    splits = Path(DEFAULT_CLASSIFIER) / "splits.json"
    site = simulated_site(args.ssim_site, DEFAULT_REFERENCE, splits, 0, None, "test")
    d = np.array([ssim(cand.harmonize(x), t) - ssim(base.harmonize(x), t)
                  for x, t in zip(site.images, site.truth)])
    print(f"{Path(args.ssim_site).stem} SSIM to truth: mean {d.mean():+.4f}, SE {d.std(ddof=1) / np.sqrt(len(d)):.4f}, "
          f"{len(d)} images, lower on {np.mean(d < 0):.0%}", flush=True)

    pairs = test_pairs(args.blob_site, args.blob_images)
    thresholds = blob_thresholds(pairs[0].truth.shape)
    b = np.array([created_blobs(cand.harmonize(p.site), p.truth, thresholds)
                  - created_blobs(base.harmonize(p.site), p.truth, thresholds) for p in pairs])
    print(f"{Path(args.blob_site).stem} created blobs per image: mean {b.mean():+.1f}, SE {b.std(ddof=1) / np.sqrt(len(b)):.1f}, "
          f"{len(b)} images, more on {np.mean(b > 0):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
