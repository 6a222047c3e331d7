"""Does the universal site fit (the wizard's fast path) help on a chain the base network handles badly?

    OMP_NUM_THREADS=1 python benchmarks/site_fit_check.py \
        --chain training/sitesim/eval_chains/random_eval_2.json

The site's *unlabeled* images are the classifier's validation split through ``--chain`` (never the
test split); the reference images are its train split (what the universal package trained on).
The bundled universal package is fitted to them with ``training.universal.finetune`` (quick
settings), then the fitted package is scored by ``benchmarks/protocol.py`` on the test split
through the same chain; the base package's row is the universal protocol run of that chain
(``benchmarks/results/protocol-<chain>-universal/`` or ``protocol-<chain>/``).
Writes ``benchmarks/results/site_fit_check.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def build_folders(chain_file: str, work: Path) -> tuple[Path, Path]:
    from PIL import Image

    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE
    from training.classifier.dataset import discover, load_image
    from training.sitesim import apply_site, load_site_profile, seed_for

    split = json.loads((DEFAULT_CLASSIFIER / "splits.json").read_text(encoding="utf-8"))
    by_name = {s.name: s for s in discover(DEFAULT_REFERENCE)}
    chain = load_site_profile(chain_file)
    site, ref = work / "site", work / "reference"
    site.mkdir(parents=True, exist_ok=True)
    ref.mkdir(parents=True, exist_ok=True)
    for name in split["val"]:
        y = apply_site(load_image(by_name[name].path), chain, seed_for(name, 7))
        Image.fromarray((np.clip(y, 0, 1) * 65535).astype(np.uint16)).save(site / f"{Path(name).stem}.png")
    for name in split["train"]:
        link = ref / by_name[name].path.name
        if not link.exists():
            os.symlink(by_name[name].path, link)
    return site, ref


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chain", required=True, help="site profile JSON (an evaluation chain)")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "site-fit-check")
    args = ap.parse_args(argv)
    name = Path(args.chain).stem
    work = args.work / name
    site, ref = build_folders(args.chain, work)
    models = work / "models"
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "training.universal.finetune", "--base",
                    str(REPO / "resources" / "models" / "universal-kermany"), "--site", str(site),
                    "--reference", str(ref), "-o", str(models / f"universal-fit-{name}"),
                    "--name", f"universal-fit-{name}", "--steps", str(args.steps),
                    "--run-dir", str(work / "run")], check=True, cwd=REPO)
    fit_s = time.time() - t0
    out = work / "protocol"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "protocol.py"), "--site-profile", args.chain,
                    "--models", str(models), "--out", str(out)], check=True, cwd=REPO)

    def row(path: Path) -> dict:
        r = json.loads(path.read_text(encoding="utf-8"))
        u = next(x for x in r["rows"] if x["row"].startswith("Universal"))
        return {"auc": round(u["auc"], 3), "specificity": round(u["specificity"], 2),
                "ssim_to_truth": round(u["ssim_to_truth"]["mean"], 3)}

    result = {"chain": name, "site_images": len(list(site.iterdir())), "fit_seconds": round(fit_s, 1),
              "fitted": row(out / "results.json"),
              "base": row(next(p for p in (RESULTS / f"protocol-{name}-universal" / "results.json",
                                           RESULTS / f"protocol-{name}" / "results.json")
                               if p.is_file())),
              "command": "python benchmarks/site_fit_check.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path = RESULTS / "site_fit_check.json"
    runs = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    runs[name] = result
    path.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
