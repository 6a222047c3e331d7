"""Which band of a larger-working-size network costs what: its coarse band swapped for another's.

    OMP_NUM_THREADS=1 python benchmarks/universal_band_swap.py --fine runs/universal-v18-pkg \
        --coarse runs/universal-v17-pkg --sigma 2

The ``--fine`` universal package's working-size output keeps its band finer than a Gaussian of
``--sigma`` of its own pixels; the coarser rest comes from the ``--coarse`` package's output
(enlarged bilinearly to that size); the result goes through the residual transfer at the fine
package's size. Printed: AUC / specificity / SSIM to truth on the validation chains where the
larger working sizes lost specificity (``universal_checkpoints.py``'s sites and cells), and
the lesion benchmark's site_severe draw (``lesions.run_site``: contrast kept, blobs). A one-off
diagnosis for ``training/universal/README.md`` (both packages are training runs, not shipped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

SWAP_SITES = (3, 5, 6, 7, 8)  # universal_checkpoints.SITES: site_severe, random_eval_2, 3, 8, 10


class BandSwap:
    """A generalizer-shaped pair of packages (``name`` and ``harmonize``, what the lesion
    benchmark calls)."""

    def __init__(self, fine: Path, coarse: Path, sigma: float) -> None:
        from xray_harmonizer.generalizers.neural import NeuralGeneralizer
        from xray_harmonizer.imaging.transfer import TransferConfig

        self.fine = NeuralGeneralizer(fine, use_gpu=False)
        self.coarse = NeuralGeneralizer(coarse, use_gpu=False)
        self.sigma = sigma
        self.config = TransferConfig(residual=True)
        self.name = f"{fine.name} finer than sigma {sigma:g} px + {coarse.name} coarser"

    def harmonize(self, image: np.ndarray) -> np.ndarray:
        from xray_harmonizer.imaging.transfer import resize, transfer, working_shape

        low = resize(image, working_shape(image.shape, self.fine.working_size))
        fine = self.fine.run_network(low)
        coarse = resize(self.coarse.run_network(
            resize(image, working_shape(image.shape, self.coarse.working_size))), low.shape)
        out = fine - ndimage.gaussian_filter(fine, self.sigma) + ndimage.gaussian_filter(coarse, self.sigma)
        return transfer(image, low, np.clip(out, 0.0, 1.0).astype(np.float32), self.config)


def main(argv: list[str] | None = None) -> int:
    from lesions import RADII, run_site
    from universal_checkpoints import SITES, cell

    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site
    from xray_harmonizer.classifier import ClassifierModel

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fine", type=Path, required=True)
    ap.add_argument("--coarse", type=Path, required=True)
    ap.add_argument("--sigma", type=float, default=2.0)
    ap.add_argument("--lesion-images", type=int, default=24)
    args = ap.parse_args(argv)
    swap = BandSwap(args.fine, args.coarse, args.sigma)
    classifier = ClassifierModel(DEFAULT_CLASSIFIER)
    print(f"{swap.name}; validation split, 60 images a site; {cpu_model()}")
    for profile in (SITES[i] for i in SWAP_SITES):
        site = simulated_site(profile, DEFAULT_REFERENCE, Path(DEFAULT_CLASSIFIER) / "splits.json", 0, 60, "val")
        print(f"{Path(profile).stem:14s} {cell(classifier, site, [swap.harmonize(im) for im in site.images])}",
              flush=True)
    row = run_site("site_severe", [swap], args.lesion_images, 0)["rows"][swap.name]
    kept = " / ".join(f"{row['contrast_kept'][str(r)]['mean']:.2f} ({row['contrast_kept'][str(r)]['p10']:.2f})"
                      for r in RADII)
    print(f"site_severe lesions ({args.lesion_images} test images): kept {kept} for r = "
          f"{' / '.join(map(str, RADII))} px; blobs {row['blobs_per_image']:.1f} per image")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
