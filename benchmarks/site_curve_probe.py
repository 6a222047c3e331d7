"""Probe: one global tone curve per *site* after the universal package, fitted without truth.

    OMP_NUM_THREADS=1 python benchmarks/site_curve_probe.py SITE [SITE ...] [--images 60]
        [--package resources/models/universal-kermany]

A single image does not tell the chain's brightness from the patient's (the package pulls every
image towards an average level: ``benchmarks/universal_diagnostics.py``), but a site's images
share one chain. This fits one monotone curve per site from unlabeled outputs: the pooled
body-region quantiles of the package's outputs on the even-numbered images of the validation
split (built like a reference profile, :class:`~xray_harmonizer.reference.profile.ProfileAccumulator`)
mapped onto the bundled reference profile's; it is scored on the odd-numbered images (AUC,
specificity at the reference operating point, SSIM to truth over the informative field, pooled
W1 to the reference), against the package alone on the same images. A probe for the training
README, not a product path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.protocol import (DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, folder_site,  # noqa: E402
                                 informative_field, pooled_w1, simulated_site)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sites", nargs="+", help="profile names or chain JSON files (simulated, validation "
                    "split), or a folder of real unlabeled images (pooled W1 and SSIM to the input only)")
    ap.add_argument("--images", type=int, default=60)
    ap.add_argument("--package", type=Path, default=REPO / "resources" / "models" / "universal-kermany")
    args = ap.parse_args(argv)

    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim_map
    from xray_harmonizer.reference.profile import ProfileAccumulator, load_profile

    net = NeuralGeneralizer(args.package, use_gpu=False)
    reference = load_profile(None)
    classifier = ClassifierModel(DEFAULT_CLASSIFIER)
    splits = Path(DEFAULT_CLASSIFIER) / "splits.json"
    print(f"package {net.model_hash[:12]}; {args.images} validation images a site, curve fitted on "
          "the even-numbered, scored on the odd-numbered")
    for name in args.sites:
        real = Path(name).is_dir()
        site = (folder_site(Path(name), None, None, None, args.images) if real
                else simulated_site(name, DEFAULT_REFERENCE, splits, 0, args.images, "val"))
        outs = [net.harmonize(im) for im in site.images]
        fit, held = range(0, len(outs), 2), list(range(1, len(outs), 2))
        acc = ProfileAccumulator()
        for k in fit:
            acc.add(outs[k])
        pooled = acc.finish("site")
        # Quantile to quantile; np.interp needs rising abscissae, so ties are broken by rank.
        src = np.maximum.accumulate(np.asarray(pooled.body_quantiles) + np.arange(len(pooled.levels)) * 1e-9)
        curve = (src, np.asarray(reference.body_quantiles))

        def score(images: list[np.ndarray]) -> str:
            if real:
                s = [ssim_map(o, site.images[k])[0] for o, k in zip(images, held)]
                return f"SSIM to input {np.mean(s):.3f} / {pooled_w1(images, reference):.4f}"
            y = site.labels[held]
            p = classifier.predict_batch(images)
            auc = roc_auc(y, p, n_bootstrap=0, seed=0).auc
            _, spec = operating_point(y, p, classifier.threshold)
            s = [float(ssim_map(o, site.truth[k])[1][informative_field(site.images[k], site.replaced[k])].mean())
                 for o, k in zip(images, held)]
            return f"{auc:.3f} / {spec:.2f} / {np.mean(s):.3f} / {pooled_w1(images, reference):.4f}"

        alone = [outs[k] for k in held]
        curved = [np.interp(o, *curve).astype(np.float32) for o in alone]
        print(f"{Path(name).stem:15s} AUC / spec / SSIM informative / pooled W1: package {score(alone)}"
              f" | + site curve {score(curved)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
