"""Benchmark of the training wizard's command on a simulated site no bundled package was fitted on.

    python -m training.gan.demo_data --kermany ../shared/data/cxr/kermany \
        --profile benchmarks/sites/site_unseen_r2026.json --out runs/wizard-demo --seed 0
    OMP_NUM_THREADS=1 python benchmarks/wizard_train.py [--methods histogram cyclegan unit]

Each method runs the exact command the wizard runs (``xray-harmonizer train site``, quick
preset, bundled reference, 20 % of the site's patients held out, labels from the Kermany
manifest), one at a time, and is timed wall-clock end to end (scan, training, export,
evaluation, install into a scratch model folder). Writes ``benchmarks/results/wizard_train.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DEMO = REPO / "runs" / "wizard-demo"
RESULTS = REPO / "benchmarks" / "results"


def run_base(out: Path) -> dict:
    """The installed universal package *without* a site fit, judged on the same held-out images
    by the same evaluation (what the fast path starts from)."""
    from training.sitefit.evaluate import evaluate, read_labels
    from training.sitefit.service import (held_out_files, load_installed_classifier, run_profile,
                                          universal_base)
    from xray_harmonizer.generalizers.registry import neural_generalizer
    from xray_harmonizer.models.package import load_package

    plan = json.loads((out / "run-universal" / "plan.json").read_text(encoding="utf-8"))
    files = held_out_files(plan)
    classifier = load_installed_classifier()
    labels = read_labels(str(out / "labels.csv"), files, getattr(classifier, "label", ""))
    base = universal_base()
    t0 = time.perf_counter()
    ev = evaluate(neural_generalizer(load_package(base)), files, run_profile(out, "bundled", None),
                  labels=labels, classifier=classifier)
    return {"method": f"universal, no site fit ({base.name})", "wall_s": 0.0, "cpu_s": 0.0,
            "evaluate_s": round(time.perf_counter() - t0, 1), "command": "(evaluation only)",
            "train_images": 0, "held_out_images": len(files), "evaluation": ev.figures()}


def run(method: str, out: Path) -> dict:
    if method == "universal-base":
        return run_base(out)
    run_dir = out / f"run-{method}"
    shutil.rmtree(out / "models" / f"wizard-{method}-quick", ignore_errors=True)  # scratch
    cmd = [sys.executable, "-m", "xray_harmonizer.cli", "train", "site", str(DEMO / "site"),
           "--method", method, "--preset", "quick", "--device", "cpu",
           "--reference-images", str(DEMO / "reference"), "--labels", str(out / "labels.csv"),
           "--name", f"wizard-{method}-quick", "--run-dir", str(run_dir),
           "--models-dir", str(out / "models"), "--no-progress", "--resume"]
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    (out / f"{method}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed ({proc.returncode}); see {out / f'{method}.log'}")
    ev = json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))
    plan = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
    return {"method": method, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "command": " ".join(cmd[1:]),
            "train_images": len(plan["train"]), "held_out_images": len(plan["held_out"]),
            "evaluation": ev}


def _children_cpu() -> float:
    """CPU seconds used by finished child processes: with one torch thread this is the time
    the run needs on one free core, whatever else shares the machine (wall time is not)."""
    import resource

    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def labels_csv(out: Path) -> None:
    import csv

    rows = csv.DictReader((REPO.parent / "shared/data/cxr/kermany/manifest.csv").open())
    with (out / "labels.csv").open("w", encoding="utf-8") as f:
        f.write("file,label\n")
        for r in rows:
            f.write(f"{r['file']},{r['label']}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=["histogram", "universal", "universal-base",
                                                      "cyclegan", "unit"],
                   help="universal-base: the bundled universal package without a fit, evaluated "
                        "on the universal run's held-out images (run after 'universal')")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "wizard-bench")
    p.add_argument("--reevaluate", action="store_true",
                   help="evaluate finished runs again (--resume re-exports; timings kept)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    labels_csv(args.out)
    json_path = RESULTS / "wizard_train.json"
    results = json.loads(json_path.read_text()) if json_path.is_file() else {"runs": {}}
    for method in args.methods:
        before = results["runs"].get(method)
        results["runs"][method] = run(method, args.out)
        if args.reevaluate and before:  # the run was finished: keep its training time
            results["runs"][method].update(wall_s=before["wall_s"], cpu_s=before["cpu_s"],
                                           reevaluated=True)
        results.update(machine=f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores, no GPU (2-core AMD EPYC shared with "
                               "other jobs)", site="site_unseen_r2026 (benchmarks/sites)",
                       generated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        write_markdown(results)
    return 0


def write_markdown(results: dict) -> None:
    lines = ["# Training wizard command on an unseen simulated site", "",
             f"Site `{results['site']}`; machine: {results['machine']}; "
             f"generated {results['generated']} by `benchmarks/wizard_train.py`.", "",
             "Wall time is end to end on the shared machine; CPU time is what the run used "
             "(one torch thread), i.e. its wall time on one free core.", "",
             "| method | wall time | CPU time | train / held-out images | structure flagged | SSIM(out, in) | "
             "W1 before -> after | AUC before -> after | specificity before -> after |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results["runs"].values():
        e = r["evaluation"]
        auc = (f"{e['auc_before']:.3f} -> {e['auc_after']:.3f}" if "auc_after" in e else "-")
        spec = (f"{e['specificity_before']:.2f} -> {e['specificity_after']:.2f}"
                if "specificity_after" in e else "-")
        lines.append(f"| {r['method']} | {r['wall_s'] / 60:.1f} min | {r['cpu_s'] / 60:.1f} min | "
                     f"{r['train_images']} / {r['held_out_images']} | "
                     f"{e.get('structure_flagged', '-')} | {e['ssim']:.3f} | {e['w1_before']:.4f} -> "
                     f"{e['w1_after']:.4f} | {auc} | {spec} |")
    lines += ["", "Verdicts:", ""]
    lines += [f"* {r['method']}: {r['evaluation']['verdict']}" for r in results["runs"].values()]
    (RESULTS / "wizard_train.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
