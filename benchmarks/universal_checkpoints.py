"""Compare universal training runs on the *validation* split (for choosing a run, not for reporting).

    OMP_NUM_THREADS=1 python benchmarks/universal_checkpoints.py runs/universal-v5/checkpoint.pt [--working-size N]

The checkpoint's network (torch, at its working size) on 60 validation-split images per site (the
four shipped profiles and the evaluation chains random_eval_1, 2, 3, 8 and 10, the four the
bundled package misses among them), carried to full resolution by the
transfer with and without its residual; prints AUC / specificity at the reference operating
point / SSIM(output, truth) per site. ``--working-size`` runs the network at another size than
it was trained at (a fully convolutional network: what a larger working size gives before
any training at it). The table in ``training/universal/README.md`` comes from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CHAINS = REPO / "training" / "sitesim" / "eval_chains"
SITES = ["site_mild", "site_moderate", "site_mono1_dr", "site_severe",
         *(str(CHAINS / f"random_eval_{k}.json") for k in (1, 2, 3, 8, 10))]


def cell(classifier, site, outs: list[np.ndarray]) -> str:
    """``AUC/specificity/SSIM to truth`` of ``outs`` (one per image of ``site``), as the table prints it."""
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim

    scores = classifier.predict_batch(outs)
    auc = roc_auc(site.labels, scores, n_bootstrap=0, seed=0).auc
    _, spec = operating_point(site.labels, scores, classifier.threshold)
    s = np.mean([ssim(o, t) for o, t in zip(outs, site.truth)])
    return f"{auc:.3f}/{spec:.2f}/{s:.3f}"


def main(argv: list[str] | None = None) -> int:
    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site
    from training.universal.model import UNetConfig, UniversalUNet
    from training.universal.data import pad_to
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape

    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--working-size", type=int, default=None,
                        help="run the network at this long side (default: the size it was trained at)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(1)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    unet = state["unet"]
    model = UniversalUNet(UNetConfig(tuple(unet["widths"]), unet["knots"], unet.get("cdf_levels", 0)))
    model.load_state_dict(state["model"])
    model.eval()
    size = args.working_size or int(state["settings"]["working_size"])

    def network(x: np.ndarray) -> np.ndarray:
        h, w = x.shape
        with torch.no_grad():
            out = model(torch.from_numpy(pad_to(x, model.multiple))[None, None])
        return np.clip(out[0, 0, :h, :w].numpy(), 0, 1)

    classifier = ClassifierModel(DEFAULT_CLASSIFIER)
    print(f"step {state['step']}, working size {size}")
    for profile in SITES:
        site = simulated_site(profile, DEFAULT_REFERENCE, Path(DEFAULT_CLASSIFIER) / "splits.json", 0, 60, "val")
        rows = {"original": site.images, "map": [], "residual": []}
        for im in site.images:
            low = resize(im, working_shape(im.shape, size))
            out = network(low)
            rows["map"].append(transfer(im, low, out))
            rows["residual"].append(transfer(im, low, out, TransferConfig(residual=True)))
        cells = [f"{name} {cell(classifier, site, outs)}" for name, outs in rows.items()]
        print(f"{Path(profile).stem:14s}", " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
