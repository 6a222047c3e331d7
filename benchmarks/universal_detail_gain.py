"""How much of the truth's fine detail a universal package's network output carries, per site.

    python benchmarks/universal_detail_gain.py resources/models/universal-kermany [runs/...-pkg ...]

For each validation chain of ``universal_checkpoints.py`` (the classifier's *validation* split,
60 images a site), the network's output at its working size and the site's input are compared
with the truth at that size band by band (difference of Gaussians, sigma r/2 minus 2r, for
r = 0.75, 1.5, 3 px at 128 px, scaled with the working size; a border of the widest reach left
out). Printed per band: the regression slope of the output's band on the truth's (1 = the
truth's detail at its amplitude, < 1 lost, > 1 exaggerated; noise the output adds does not
count), the input's likewise (what the chain left), averaged over the images. The diagnosis
behind ``training.universal.detail_loss.DetailGainLoss``. ``universal_diagnostics.py``'s "detail
given back" column is the bundled package's ratio of band *energies*, which also counts noise the
output adds or keeps; this is the slope the loss term asks to be 1, for several packages in one run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402
from lesions import band  # noqa: E402  (the lesion benchmark's difference of Gaussians)

RADII_128 = (0.75, 1.5, 3.0)  # band radii in px at a 128 px working size


def slopes(x: np.ndarray, truth: np.ndarray, radii: list[float]) -> list[float]:
    """Per band, the least-squares slope of ``band(x)`` on ``band(truth)`` (borders left out)."""
    k = int(np.ceil(6 * radii[-1]))
    out = []
    for r in radii:
        bx, bt = band(x.astype(np.float64), r)[k:-k, k:-k], band(truth.astype(np.float64), r)[k:-k, k:-k]
        out.append(float((bx * bt).sum() / max((bt * bt).sum(), 1e-12)))
    return out


def main(argv: list[str] | None = None) -> int:
    from universal_checkpoints import SITES

    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import resize, working_shape

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("packages", type=Path, nargs="+", help="universal package folders")
    ap.add_argument("--images", type=int, default=60)
    args = ap.parse_args(argv)
    nets = [NeuralGeneralizer(p, use_gpu=False) for p in args.packages]
    print(f"Detail gain (slope of the band on the truth's) at r = {', '.join(map(str, RADII_128))} px "
          f"(128 px scale); validation split, {args.images} images a site; {cpu_model()}")
    print("| site | input | " + " | ".join(p.name for p in args.packages) + " |")
    print("|---|---|" + "---|" * len(nets))
    for profile in SITES:
        site = simulated_site(profile, DEFAULT_REFERENCE, Path(DEFAULT_CLASSIFIER) / "splits.json", 0,
                              args.images, "val")
        cells: list[list[list[float]]] = [[] for _ in range(len(nets) + 1)]
        for image, truth in zip(site.images, site.truth):
            for j, net in enumerate([None, *nets]):
                size = (nets[0] if net is None else net).working_size
                radii = [r * size / 128 for r in RADII_128]
                low = resize(image, working_shape(image.shape, size))
                x = low if net is None else net.run_network(low)
                cells[j].append(slopes(x, resize(truth, low.shape), radii))
        row = [" / ".join(f"{v:.2f}" for v in np.mean(c, axis=0)) for c in cells]
        print(f"| {Path(profile).stem} | " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
