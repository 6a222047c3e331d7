"""Transposed-conv vs resize-conv upsampling in the generators: checkerboard, AUC, speed.

    python benchmarks/upsample_compare.py     # writes benchmarks/results/upsample_compare.{json,md}

Two CycleGAN packages trained with the same data, seed and schedule (the `site_mono1_dr` demo
pair, quick preset), one with the papers' stride-2 transposed convolutions and one with
resize-convolution (Odena et al. 2016), are run on the classifier's validation split passed
through `site_mono1_dr`. Per package:

* **checkerboard index** of the network output at the working size: the 2x2 diagonal
  difference ``(x00 - x01 - x10 + x11) / 2`` of every block, averaged *with its sign* over
  8x8-block windows, then the mean absolute value. A stride-2 pattern is locked to the pixel
  grid, so it survives the signed average, while anatomy and noise average out; reported as a
  ratio to the same index of the network's input (1 = no pattern added);
* the same index of the full-resolution output (what the user sees, after the transfer);
* AUC, specificity at the reference threshold and SSIM to the truth of the full-resolution output;
* network time per call at the working size (median of 20, this CPU);
* ``upsample_compare.png``: the same lung crop of the first image, network input and each
  network's output, enlarged 6x without interpolation.

The transposed-conv package is kept in ``benchmarks/packages/`` (not offered by the app); it was
trained with the command in its manifest (the display name was then set by hand), log
``training/gan/logs/exp-cyclegan-mono1dr-transpose.log``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site  # noqa: E402


def checkerboard_index(image: np.ndarray, window: int = 8) -> float:
    """Mean |signed 2x2 diagonal difference averaged over ``window`` blocks|, float.

    Parameters
    ----------
    image : ndarray, float32, (H, W), [0, 1]
    """
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    x = image[:h, :w].astype(np.float64)
    d = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) * 0.5
    return float(np.mean(np.abs(uniform_filter(d, size=window, mode="reflect"))))


def _crop(image: np.ndarray) -> np.ndarray:
    """A 60 px square from the upper left lung at the working size."""
    h, w = image.shape
    r, c = h // 4, w // 6
    return image[r:r + 60, c:c + 60]


def main(argv: list[str] | None = None) -> int:
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import resize, working_shape
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim
    from xray_harmonizer.models.package import load_package

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", type=Path, nargs="+",
                   default=[REPO / "resources/models/cyclegan-kermany-mono1dr-quick",
                            REPO / "benchmarks/packages/cyclegan-kermany-mono1dr-quick-transpose"])
    p.add_argument("--profile", default="site_mono1_dr")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = p.parse_args(argv)

    clf = ClassifierModel(DEFAULT_CLASSIFIER)
    site = simulated_site(args.profile, DEFAULT_REFERENCE, DEFAULT_CLASSIFIER / "splits.json", 0,
                          None, "val")
    rows = []
    crops: list[np.ndarray] = []
    for folder in args.packages:
        pkg = load_package(folder)
        gen = NeuralGeneralizer(pkg)
        cfg = pkg.manifest.get("training", {}).get("config", {})
        upsample = (cfg.get("cyclegan") or cfg.get("unit") or {}).get("upsample", "?")
        lows, outs_low, outs = [], [], []
        for im in site.images:
            low = resize(im, working_shape(im.shape, gen.working_size))
            lows.append(low)
            outs_low.append(gen.run_network(low))
            outs.append(gen.harmonize(im))
        if not crops:
            crops.append(_crop(lows[0]))
        crops.append(_crop(outs_low[0]))
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            gen.run_network(lows[0])
            times.append(time.perf_counter() - t0)
        scores = clf.predict_batch(outs)
        auc = roc_auc(site.labels, scores, n_bootstrap=0, seed=0).auc
        _, spec = operating_point(site.labels, scores, clf.threshold)
        ratio_low = [checkerboard_index(o) / max(checkerboard_index(i), 1e-9)
                     for o, i in zip(outs_low, lows)]
        ratio_full = [checkerboard_index(o) / max(checkerboard_index(i), 1e-9)
                      for o, i in zip(outs, site.images)]
        rows.append({
            "package": pkg.name, "display_name": gen.name, "upsample": upsample,
            "checkerboard_network": round(float(np.median(ratio_low)), 3),
            "checkerboard_output": round(float(np.median(ratio_full)), 3),
            "auc": round(float(auc), 4), "specificity": round(float(spec), 3),
            "ssim_to_truth": round(float(np.mean([ssim(o, t) for o, t in zip(outs, site.truth)])), 4),
            "network_ms": round(1000 * float(np.median(times)), 2),
            "working_shape": list(lows[0].shape),
        })
        print(rows[-1], flush=True)

    result = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": cpu_model(), "profile": args.profile, "split": "val",
              "n_images": len(site.images), "command": "python benchmarks/upsample_compare.py",
              "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "upsample_compare.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = [f"Upsampling in the generator, `{args.profile}` validation split ({len(site.images)} "
             f"images), {cpu_model()}; checkerboard = median over images of the grid-locked 2x2 "
             "pattern index, output / input (1 = none added).", "",
             "| package | upsampling | checkerboard (network, 128 px) | checkerboard (full-res "
             "output) | AUC | spec | SSIM to truth | network ms |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['display_name']} | {r['upsample']} | {r['checkerboard_network']:.2f} | "
                     f"{r['checkerboard_output']:.2f} | {r['auc']:.3f} | {r['specificity']:.2f} | "
                     f"{r['ssim_to_truth']:.3f} | {r['network_ms']:.1f} |")
    lines += ["", "<sub>`python benchmarks/upsample_compare.py`</sub>", ""]
    (args.out / "upsample_compare.md").write_text("\n".join(lines), encoding="utf-8")
    from PIL import Image

    strip = np.concatenate(crops, axis=1)
    Image.fromarray((np.clip(strip, 0, 1) * 255).astype(np.uint8)).resize(
        (strip.shape[1] * 6, strip.shape[0] * 6), Image.NEAREST).save(args.out / "upsample_compare.png")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
