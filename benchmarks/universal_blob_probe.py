"""Probe: where do the universal package's created lesion-like blobs come from, and what would
removing them cost?

    OMP_NUM_THREADS=1 python benchmarks/universal_blob_probe.py SITE [--images 12]
        [--package resources/models/universal-kermany]

The package creates more lesion-like blobs than histogram matching (``benchmarks/lesions.py``),
mostly at the 3 px scale: three quarters of a working pixel. Two edits of the working-size
output, each through the package's own transfer, on the lesion benchmark's draws (test split):

- **residual smoothed** by a Gaussian of 0.5 / 0.7 / 1 working px before it is enlarged (the
  residual: ``low_out - (a * low_in + b)``, :func:`xray_harmonizer.imaging.transfer.transfer`).
  If the blobs were the network's pixel-level residual enlarged bilinearly, they would go.
- **finest band gated**: the output's band finer than a Gaussian of 0.7 working px scaled by
  ``clip(1 - k * noise / local energy, 0, 1)``, ``noise`` the image's pixel noise
  (:func:`~xray_harmonizer.imaging.transfer.pixel_noise_variance`) carried to that band at the
  working size, ``local energy`` the band's over 5x5 working px; k = 1 / 2 / 4.

Prints per variant: blobs per image, SSIM to truth, and the lesions' contrast kept (mean and
10th percentile per radius). A measurement for the training README, not a product setting.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter, uniform_filter

REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from benchmarks.lesions import blob_thresholds, created_blobs, kept_by_radius, test_pairs  # noqa: E402

FINEST = 0.7  # working px: the Gaussian that splits off the output's finest band


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site")
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--package", type=Path, default=REPO / "resources" / "models" / "universal-kermany")
    args = ap.parse_args(argv)

    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging import transfer as T
    from xray_harmonizer.metrics.ssim import ssim

    pairs = test_pairs(args.site, args.images)
    thresholds = blob_thresholds(pairs[0].truth.shape)
    net = NeuralGeneralizer(args.package, use_gpu=False)
    config = net.transfer_config

    def residual_smoothed(sigma: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        def run(image: np.ndarray, truth: np.ndarray) -> np.ndarray:
            low = T.resize(image, T.working_shape(image.shape, net.working_size))
            out = net.run_network(low)
            weight = T.annotation_weight(image, low)
            a, b = T.fit_local_affine(low, out, config, weight)
            r = gaussian_filter(out - (a * low + b), sigma)
            b = (b + (r if weight is None else r * weight)).astype(np.float32)
            return T._banded(image, low, a, b, config.noise_gate)
        return run

    def finest_gated(k: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        def run(image: np.ndarray, truth: np.ndarray) -> np.ndarray:
            low = T.resize(image, T.working_shape(image.shape, net.working_size))
            out = net.run_network(low)
            # A unit white noise at the image's size, shrunk as the app shrinks: its variance in
            # the output's finest band.
            z = T.resize(np.random.default_rng(0).standard_normal(image.shape).astype(np.float32), low.shape)
            share = float((z - gaussian_filter(z, FINEST)).var())
            base = gaussian_filter(out, FINEST)
            fine = out - base
            energy = np.maximum(uniform_filter(fine * fine, 5), 1e-12)
            gain = np.clip(1.0 - k * T.pixel_noise_variance(image) * share / energy, 0.0, 1.0)
            return T.transfer(image, low, np.clip(base + gain * fine, 0, 1).astype(np.float32), config)
        return run

    variants = {"package as is": lambda image, truth: net.harmonize(image)}
    variants.update({f"residual smoothed {s:g} px": residual_smoothed(s) for s in (0.5, 0.7, 1.0)})
    variants.update({f"finest band gated, k = {k:g}": finest_gated(k) for k in (1.0, 2.0, 4.0)})
    print(f"{Path(args.site).stem}, {len(pairs)} test images, package {net.model_hash[:12]}")
    for label, run in variants.items():
        outs = [run(p.site, p.truth) for p in pairs]
        blobs = np.mean([created_blobs(o, p.truth, thresholds) for o, p in zip(outs, pairs)])
        s = np.mean([ssim(o, p.truth) for o, p in zip(outs, pairs)])
        kept = kept_by_radius(pairs, run)
        print(f"{label:28s} blobs {blobs:6.1f}  SSIM to truth {s:.3f}  kept "
              + "  ".join(f"r{r} {np.mean(v):.2f} (p10 {np.percentile(v, 10):.2f})" for r, v in kept.items()),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
