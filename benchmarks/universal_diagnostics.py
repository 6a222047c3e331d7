"""Why the universal generalizer misses where it misses: four measurements on the validation split.

    OMP_NUM_THREADS=1 python benchmarks/universal_diagnostics.py \
        [--package resources/models/universal-kermany] [--images 30]

Writes ``benchmarks/results/universal_diagnostics.{json,md}``. Per site (the four shipped
profiles and the evaluation chains ``training/sitesim/eval_chains/random_eval_*.json``):

1. **Clipped share**: the share of the field where most / almost all pixels of a ~2 px
   neighbourhood (at 512 px) sit at the chain's white or black end. Only the second is
   information-free (the protocol's ``bound:`` row scores it); in the first the unclipped
   pixels still carry the anatomy.
2. **Pairs as the app sees them**: how far a chain run at the working size (cheap training
   pairs) is from the chain run at the image's size and then shrunk (what the app feeds the
   network): mean |difference| after a 1.5 px smoothing, at 128 px.
3. **Detail given back**: the package network's output over the truth, in detail energy (SD of
   the difference-of-Gaussians band) at 0-0.7, 0.7-1.5, 1.5-3 and 3-6 working pixels, central
   field (1 = the truth's detail; the input's ratio alongside).
4. **What the classifier reads as pneumonia** (normals only, one chain, a perfect network at
   the working size + the residual transfer): its specificity when that perfect output is
   blurred, shifted or re-gamma'd, i.e. which errors of a network cost the operating point.
5. **Which scales of the package's output cost it** (normals only, the chains where its
   specificity collapses): the network output with its coarse band (a Gaussian of 2 or 6
   working px) or its detail (the rest) replaced by the truth's, through the residual transfer.
6. **Where the SSIM to truth goes** (the four shipped profiles, the issue's SSIM target sites):
   SSIM over the informative field (``benchmarks/protocol.py: informative_field``) of the package,
   of the package with the truth's own global level (one offset per image: the mean difference
   over the field at the working size), with the truth's coarse band above 8 / 3 / 1 working px,
   and of the perfect network; and the package's per-image level error (mean: a bias a site fit
   can remove; SD: what one image alone does not tell; its correlation with the truth's own
   level: < 0 = every image pulled towards an average brightness).

Rows use validation-split images only (the protocol's test split stays for the reported table).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks._common import cpu_model  # noqa: E402

CHAINS = REPO / "training" / "sitesim" / "eval_chains"
SHIPPED = ("site_mild", "site_moderate", "site_mono1_dr", "site_severe")
BANDS = ((0.0, 0.7), (0.7, 1.5), (1.5, 3.0), (3.0, 6.0))
WORKING = 128
SENSITIVITY_CHAIN = "random_eval_3"
SWAP_CHAINS = ("random_eval_2", "random_eval_3", "random_eval_8", "random_eval_10")
SPLITS = (2.0, 6.0)
SSIM_SPLITS = (8.0, 3.0, 1.0)


def band_sd(x: np.ndarray, lo: float, hi: float) -> float:
    """SD of the difference-of-Gaussians band ``lo``-``hi`` px over the central field."""
    x = x.astype(np.float64)
    a = x if lo == 0 else gaussian_filter(x, lo)
    d = a - gaussian_filter(x, hi)
    h, w = x.shape
    return float(d[h // 8:h - h // 8, w // 8:w - w // 8].std())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path, default=REPO / "resources" / "models" / "universal-kermany")
    ap.add_argument("--images", type=int, default=30, help="validation images per site")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)

    from benchmarks.protocol import (DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, SOLID_CLIP, clipped_area,
                                     informative_field, simulated_site)
    from training.sitesim import apply_site, load_site_profile
    from training.universal.data import shrink_noise_sd, with_noise_sd
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape
    from xray_harmonizer.metrics.ssim import ssim_map

    t0 = time.time()
    net = NeuralGeneralizer(args.package, use_gpu=False)
    if net.working_size != WORKING:
        raise SystemExit(f"error: {args.package}: working size {net.working_size}, expected {WORKING}")
    splits = Path(DEFAULT_CLASSIFIER) / "splits.json"
    sites = [*SHIPPED, *sorted((str(p) for p in CHAINS.glob("random_eval_*.json")),
                               key=lambda p: int(Path(p).stem.rsplit("_", 1)[1]))]
    rows = []
    for profile in sites:
        name = Path(profile).stem
        site = simulated_site(profile, DEFAULT_REFERENCE, splits, 0, args.images, "val")
        chain = load_site_profile(profile)
        clip, solid, mismatch, out_ratio, in_ratio = [], [], [], [], []
        for i, (im, truth) in enumerate(zip(site.images, site.truth)):
            small = working_shape(im.shape, WORKING)
            low, low_truth = resize(im, small), resize(truth, small)
            # Mostly clipped (the unclipped pixels still carry the anatomy) and solid (nothing left).
            clip.append(float(clipped_area(im, 0.5).mean()))
            solid.append(float(clipped_area(im, SOLID_CLIP).mean()))
            # Same seed at both sizes: the same per-image draws (exposure, collimation), noise of
            # the same SD once shrunk.
            native = resize(apply_site(truth, chain, i), small)
            cheap = apply_site(low_truth, with_noise_sd(chain, shrink_noise_sd(max(im.shape), WORKING)), i)
            mismatch.append(float(np.abs(gaussian_filter(native.astype(np.float64) - cheap, 1.5)).mean()))
            out = net.run_network(low)
            out_ratio.append([band_sd(out, *b) / band_sd(low_truth, *b) for b in BANDS])
            in_ratio.append([band_sd(low, *b) / band_sd(low_truth, *b) for b in BANDS])
        rows.append({"site": name, "images": len(site.images), "clipped_share": round(float(np.mean(clip)), 3),
                     "solid_clipped_share": round(float(np.mean(solid)), 3),
                     "pair_mismatch": round(float(np.mean(mismatch)), 4),
                     "detail_output_over_truth": [round(float(v), 2) for v in np.mean(out_ratio, axis=0)],
                     "detail_input_over_truth": [round(float(v), 2) for v in np.mean(in_ratio, axis=0)]})
        print(rows[-1], flush=True)

    classifier = ClassifierModel(DEFAULT_CLASSIFIER)
    site = simulated_site(str(CHAINS / f"{SENSITIVITY_CHAIN}.json"), DEFAULT_REFERENCE, splits, 0,
                          4 * args.images, "val")
    normals = [k for k, y in enumerate(site.labels) if y == 0][:args.images]
    edits = {"perfect network": lambda t: t,
             "blurred 0.5 px": lambda t: gaussian_filter(t, 0.5),
             "blurred 1 px": lambda t: gaussian_filter(t, 1.0),
             "blurred 2 px": lambda t: gaussian_filter(t, 2.0),
             "+0.02": lambda t: t + 0.02, "-0.02": lambda t: t - 0.02,
             "gamma 0.9": lambda t: np.clip(t, 0, 1) ** 0.9, "gamma 1.1": lambda t: np.clip(t, 0, 1) ** 1.1}
    outputs: dict[str, list[np.ndarray]] = {"truth": [site.truth[k] for k in normals]}
    for k in normals:
        im = site.images[k]
        low = resize(im, working_shape(im.shape, WORKING))
        low_truth = resize(site.truth[k], low.shape)
        for label, edit in edits.items():
            perfect = np.clip(edit(low_truth), 0, 1).astype(np.float32)
            outputs.setdefault(label, []).append(transfer(im, low, perfect, TransferConfig(residual=True)))
    sensitivity = {label: round(float(np.mean(classifier.predict_batch(outs) < classifier.threshold)), 2)
                   for label, outs in outputs.items()}
    print(sensitivity, flush=True)

    swaps: dict[str, dict[str, float]] = {}
    for chain in SWAP_CHAINS:
        site = simulated_site(str(CHAINS / f"{chain}.json"), DEFAULT_REFERENCE, splits, 0,
                              4 * args.images, "val")
        normals = [k for k, y in enumerate(site.labels) if y == 0][:args.images]
        outs = {}
        for k in normals:
            im = site.images[k]
            low = resize(im, working_shape(im.shape, WORKING))
            low_truth = resize(site.truth[k], low.shape)
            out = net.run_network(low)
            variants = {"package": out, "perfect network": low_truth}
            for split in SPLITS:
                variants[f"truth's coarse band (> {split:g} px), package's detail"] = (
                    out - gaussian_filter(out, split) + gaussian_filter(low_truth, split))
                variants[f"package's coarse band (> {split:g} px), truth's detail"] = (
                    gaussian_filter(out, split) + low_truth - gaussian_filter(low_truth, split))
            for label, v in variants.items():
                outs.setdefault(label, []).append(
                    transfer(im, low, np.clip(v, 0, 1).astype(np.float32), TransferConfig(residual=True)))
        swaps[chain] = {label: round(float(np.mean(classifier.predict_batch(o) < classifier.threshold)), 2)
                        for label, o in outs.items()}
        print(chain, swaps[chain], flush=True)

    ssim_gap: dict[str, dict] = {}
    for profile in SHIPPED:
        site = simulated_site(profile, DEFAULT_REFERENCE, splits, 0, args.images, "val")
        scores: dict[str, list[float]] = {}
        level = []  # (package - truth, truth) mean level over the field, per image
        for im, truth, rep in zip(site.images, site.truth, site.replaced):
            field = informative_field(im, rep)
            if not field.any():
                continue
            low = resize(im, working_shape(im.shape, WORKING))
            low_truth = resize(truth, low.shape)
            out = net.run_network(low)
            low_field = resize(field.astype(np.float32), low.shape) > 0.5
            error = float((out - low_truth)[low_field].mean()) if low_field.any() else 0.0
            level.append((error, float(low_truth[low_field].mean()) if low_field.any() else 0.0))
            variants = {"package": out, "package, truth's global level": out - error}
            for split in SSIM_SPLITS:
                variants[f"package, truth's coarse band (> {split:g} px)"] = (
                    out - gaussian_filter(out, split) + gaussian_filter(low_truth, split))
            variants["perfect network"] = low_truth
            for label, v in variants.items():
                o = transfer(im, low, np.clip(v, 0, 1).astype(np.float32), net.transfer_config)
                scores.setdefault(label, []).append(float(ssim_map(o, truth)[1][field].mean()))
        err = np.array(level)
        ssim_gap[profile] = {
            "ssim_informative": {k: round(float(np.mean(v)), 3) for k, v in scores.items()},
            "level_error_mean": round(float(err[:, 0].mean()), 4),
            "level_error_sd": round(float(err[:, 0].std()), 4),
            "level_error_corr_with_truth_level": round(float(np.corrcoef(err[:, 0], err[:, 1])[0, 1]), 2)}
        print(profile, ssim_gap[profile], flush=True)

    result = {"command": "python benchmarks/universal_diagnostics.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": cpu_model(), "package": args.package.name, "package_hash": net.model_hash,
              "working_size": WORKING, "bands_px": BANDS, "sites": rows,
              "sensitivity": {"chain": SENSITIVITY_CHAIN, "normals": args.images, "specificity": sensitivity},
              "scale_swaps": {"normals": args.images, "specificity": swaps},
              "ssim_gap": {"images": args.images, "sites": ssim_gap},
              "seconds": round(time.time() - t0, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "universal_diagnostics.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = ["# Universal generalizer: diagnostics (validation split)", "",
             f"Generated by `{result['command']}` on {result['machine']}; package `{args.package.name}` "
             f"({net.model_hash[:12]}); {result['seconds']} s. See the script's docstring for the definitions.", "",
             "| site | clipped: mostly / solid | working-size pair vs app (mean abs) | detail output / truth at "
             + ", ".join(f"{lo}-{hi}" for lo, hi in BANDS) + " px | input / truth |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['site']} | {r['clipped_share']:.3f} / {r['solid_clipped_share']:.3f} | "
                     f"{r['pair_mismatch']:.4f} | "
                     + " / ".join(f"{v:.2f}" for v in r["detail_output_over_truth"]) + " | "
                     + " / ".join(f"{v:.2f}" for v in r["detail_input_over_truth"]) + " |")
    lines += ["", f"Specificity of the classifier on {args.images} normals of {SENSITIVITY_CHAIN} "
              "(validation split) when a perfect 128 px network's output is edited, residual transfer:", "",
              "| output | specificity |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in sensitivity.items()]
    labels = list(next(iter(swaps.values())))
    lines += ["", f"Specificity on {args.images} normals per chain (validation split) when the package's "
              "128 px output has one band replaced by the truth's, residual transfer:", "",
              "| output | " + " | ".join(swaps) + " |", "|---|" + "---|" * len(swaps)]
    lines += [f"| {label} | " + " | ".join(f"{swaps[c][label]:.2f}" for c in swaps) + " |" for label in labels]
    labels = list(next(iter(ssim_gap.values()))["ssim_informative"])
    lines += ["", f"SSIM to truth over the informative field ({args.images} images per profile, validation "
              "split; the package's output at 128 px edited, through the package's own transfer), and "
              "the package's per-image level error at 128 px (mean / SD / correlation with the truth's "
              "level):", "",
              "| output | " + " | ".join(ssim_gap) + " |", "|---|" + "---|" * len(ssim_gap)]
    lines += [f"| {label} | " + " | ".join(f"{g['ssim_informative'][label]:.3f}" for g in ssim_gap.values())
              + " |" for label in labels]
    lines.append("| level error: mean / SD / corr. | " + " | ".join(
        f"{g['level_error_mean']:+.3f} / {g['level_error_sd']:.3f} / {g['level_error_corr_with_truth_level']:+.2f}"
        for g in ssim_gap.values()) + " |")
    (args.out / "universal_diagnostics.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
