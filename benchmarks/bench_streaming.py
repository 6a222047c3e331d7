"""Streaming CLI benchmark: images/s and peak RSS of ``xray-harmonizer harmonize`` at 10/100/1000 images.

    python benchmarks/bench_streaming.py [--sizes 10 100 1000] [--method histogram]

A simulated site is generated from the Kermany images with ``training.sitesim`` (profile
``site_moderate``, CR DICOM, seed 0; a second pass with seed 1 tops it up to 1,000 files) into a
temporary folder. Each configuration runs as its own process, measured with ``os.wait4`` (peak
RSS of that process alone) after one warm-up run on 10 images:

* ``streaming``: the current CLI (one image read, harmonized and written at a time);
* ``streaming --workers 2``: two images in flight;
* ``load-all (before)``: the CLI as of the commit before streaming (every input opened before
  any is processed), the baseline; run from that commit's ``cli.py``.

Writes ``benchmarks/results/streaming.json`` and ``streaming.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_model  # noqa: E402  (shared by the benchmark scripts)

REPO = Path(__file__).resolve().parents[1]
KERMANY = REPO.parent / "shared" / "data" / "cxr" / "kermany"
RESULTS = REPO / "benchmarks" / "results"
#: The last commit whose ``harmonize`` opened every input before processing any.
BASELINE_COMMIT = "a62ab8c"


def make_site(root: Path, n: int) -> Path:
    """``n`` simulated CR DICOM files of site_moderate under ``root/site``."""
    site = root / "site"
    inputs = sorted(KERMANY.glob("*.png"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "training.sitesim", "--profile", "site_moderate", "--seed", "0",
                    "--format", "dcm", "-o", str(site), *map(str, inputs)], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    have = sorted(site.glob("*.dcm"))
    if len(have) < n:
        extra = root / "extra"
        subprocess.run([sys.executable, "-m", "training.sitesim", "--profile", "site_moderate", "--seed", "1",
                        "--format", "dcm", "-o", str(extra), *map(str, inputs[: n - len(have)])],
                       cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        for f in sorted(extra.glob("*.dcm")):
            f.rename(site / f"s1_{f.name}")
    files = sorted(site.glob("*.dcm"))
    if len(files) < n:
        raise SystemExit(f"only {len(files)} simulated files, {n} wanted")
    return site


def subset(site: Path, root: Path, n: int) -> Path:
    """A folder of the first ``n`` site files (hard links: no copies)."""
    folder = root / f"n{n}"
    folder.mkdir()
    for f in sorted(site.glob("*.dcm"))[:n]:
        os.link(f, folder / f.name)
    return folder


def run(command: list[str], out: Path) -> dict:
    """Run one CLI process; its wall time, exit status and own peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", XRH_DISABLE_GPU="1")
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    written = len(list(out.glob("*.png"))) if out.is_dir() else 0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {err[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "written": written}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--method", default="histogram")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xrh-stream-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        site = make_site(root, max(args.sizes))
        generate_s = time.perf_counter() - t0
        baseline = root / "cli_before.py"
        baseline.write_text(subprocess.run(["git", "show", f"{BASELINE_COMMIT}:xray_harmonizer/cli.py"], cwd=REPO,
                                           capture_output=True, text=True, check=True).stdout)
        configs = {"streaming": [sys.executable, "-m", "xray_harmonizer.cli"],
                   "streaming --workers 2": [sys.executable, "-m", "xray_harmonizer.cli"]}
        if not args.no_baseline:
            configs["load-all (before)"] = [sys.executable, str(baseline)]
        rows = []
        folders = {n: subset(site, root, n) for n in args.sizes}
        warm = folders[min(args.sizes)]
        for name, prefix in configs.items():
            extra = ["--workers", "2"] if "workers" in name else []
            run([*prefix, "harmonize", str(warm), "-o", str(root / "out"), "--method", args.method, *extra],
                root / "out")  # warm-up: file cache, imports
            for n, folder in folders.items():
                out = root / "out"
                measured = run([*prefix, "harmonize", str(folder), "-o", str(out), "--method", args.method,
                                *extra], out)
                assert measured["written"] == n, (name, n, measured)
                measured.update(config=name, images=n, images_per_s=round(n / measured["seconds"], 2))
                rows.append(measured)
                print(json.dumps(measured), flush=True)
    result = {
        "command": "python benchmarks/bench_streaming.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, no GPU", "method": args.method,
        "site": "training.sitesim site_moderate, CR DICOM from Kermany PNGs (~512 px wide), seed 0 (+ seed 1)",
        "generate_seconds": round(generate_s, 1), "baseline_commit": BASELINE_COMMIT,
        "notes": "each row one process; peak RSS from os.wait4 of that process; one warm-up run per config",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "streaming.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "streaming.md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(result: dict) -> str:
    lines = [f"Streaming harmonize ({result['method']}), {result['machine']}", "",
             "| configuration | images | seconds | images/s | peak RSS (MB) |",
             "|---|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['config']} | {r['images']} | {r['seconds']} | {r['images_per_s']} | {r['peak_rss_mb']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
