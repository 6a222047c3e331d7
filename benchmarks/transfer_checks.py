"""Two checks of the full-resolution transfer that the docs quote, as a rerunnable script.

    python benchmarks/transfer_checks.py     # writes benchmarks/results/transfer_checks.{json,md}

1. **Burned-in marker.** The "R" of the bundled sample 2 (saturated pixels in the left 60
   columns): mean output over the letter for every bundled neural package, with the annotation
   guard (``TransferConfig().keep_annotations``, the default) and without it, in the same run.
2. **How much the guard marks.** Share of working-resolution pixels given weight 0 by
   ``annotation_weight`` on the classifier's validation split through each site profile (these
   profiles clip anatomy at the maximum; markers should be all that is marked).
3. **Output level on site_severe.** Mean intensity of the harmonized images vs the truth's on
   the first 40 validation images, per bundled package (the site_severe pair darkens).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site  # noqa: E402

PROFILES = ("site_mild", "site_moderate", "site_mono1_dr", "site_severe")
SAMPLE = REPO / "resources" / "samples" / "sample2_kermany_pneumonia_site_mono1_dr.dcm"


def main() -> int:
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.imaging.transfer import annotation_weight, resize, working_shape
    from xray_harmonizer.io.reader import open_image

    packages = sorted(p for p in (REPO / "resources" / "models").iterdir()
                      if (p / "manifest.json").is_file() and p.name.split("-")[0] in ("cyclegan", "unit"))
    gens = {p.name: NeuralGeneralizer(p, use_gpu=False) for p in packages}
    image = open_image(SAMPLE).pixels
    letter = np.zeros(image.shape, bool)
    letter[:, :60] = image[:, :60] >= 0.999
    marker = {}
    for name, g in gens.items():
        kept = float(g.harmonize(image)[letter].mean())
        cfg = g.transfer_config
        g.transfer_config = replace(cfg, keep_annotations=False)
        faded = float(g.harmonize(image)[letter].mean())
        g.transfer_config = cfg
        marker[name] = {"with_guard": round(kept, 3), "without_guard": round(faded, 3)}
        print(name, marker[name], flush=True)

    marked = {}
    severe = None
    for prof in PROFILES:
        site = simulated_site(prof, DEFAULT_REFERENCE, DEFAULT_CLASSIFIER / "splits.json", 0, None,
                              "val")
        shares = []
        for im in site.images:
            w = annotation_weight(im, resize(im, working_shape(im.shape, 128)))
            shares.append(0.0 if w is None else float(1.0 - w.mean()))
        marked[prof] = {"mean": round(float(np.mean(shares)), 4),
                        "max": round(float(np.max(shares)), 4), "n": len(shares)}
        print(prof, marked[prof], flush=True)
        if prof == "site_severe":
            severe = site
    level = {"truth": round(float(np.mean([t.mean() for t in severe.truth[:40]])), 3),
             "input": round(float(np.mean([t.mean() for t in severe.images[:40]])), 3)}
    for name, g in gens.items():
        level[name] = round(float(np.mean([g.harmonize(x).mean() for x in severe.images[:40]])), 3)
    print(level, flush=True)

    result = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": cpu_model(), "command": "python benchmarks/transfer_checks.py",
              "marker_sample2": marker, "annotation_share_val": marked,
              "site_severe_mean_level_val40": level}
    out = REPO / "benchmarks" / "results"
    (out / "transfer_checks.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = ["Transfer checks (`benchmarks/transfer_checks.py`), " + cpu_model() + ".", "",
             "Sample 2's burned-in \"R\": mean output over the letter (0-1), same run.", "",
             "| package | with the annotation guard | without |", "|---|---|---|"]
    lines += [f"| {k} | {v['with_guard']:.3f} | {v['without_guard']:.3f} |" for k, v in marker.items()]
    lines += ["", "Share of working pixels the guard leaves out (validation split):", "",
              "| profile | mean | max |", "|---|---|---|"]
    lines += [f"| {k} | {v['mean']:.4f} | {v['max']:.4f} |" for k, v in marked.items()]
    lines += ["", "site_severe, first 40 validation images: mean intensity of the output.", "",
              "| image | mean |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in level.items()]
    (out / "transfer_checks.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
