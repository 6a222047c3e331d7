"""Mutation testing (mutmut 3) of one package of ``xray_harmonizer``, in a scratch copy.

    pip install -e ".[dev,mutation]"
    nice -n 10 python benchmarks/mutation.py metrics       # imaging, io, generalizers, runtime, analysis
    python benchmarks/mutation.py metrics --survivors      # list what survived, with diffs
    python benchmarks/mutation.py --table                  # benchmarks/results/mutation.md from the JSONs

Not part of the default test run: one package takes from minutes (runtime) to hours (io) on 2
cores. mutmut changes one thing at a time in the package (an operator, a constant, a return
value, ...) and runs only the tests that cover the changed function (its stats pass finds them);
a mutant that no test notices "survived". The score is caught / checked: caught = killed +
timeout + segfault (as mutmut counts them), checked = every mutant mutmut ran or found no test
for ("no tests" count against the score); mutants not yet checked are reported, not scored.

Each run works in ``--workdir`` (default ``/tmp/xrh-mutation/<package>``): the working tree
(tracked and untracked, not ignored, files) is copied there with ``shared/`` linked beside it,
so the checkout itself is never touched and a rerun resumes where mutmut stopped. Results go to
``benchmarks/results/mutation-<package>.json``; ``--table`` writes ``mutation.md``, which
``benchmarks/update_readme.py`` splices into the README. See ``docs/mutation.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

# The fast tests that exercise each package directly (mutmut then picks, per mutant, those
# that cover the mutated function). Left out: GUI tests (Qt, slow, and they reach these
# packages only through the analysis path) and tests that train or export with torch.
TESTS: dict[str, list[str]] = {
    "metrics": ["tests/test_metrics_distances.py", "tests/test_metrics_histograms.py",
                "tests/test_metrics_psnr.py", "tests/test_metrics_roc.py",
                "tests/test_metrics_ssim.py", "tests/test_metrics_structure.py",
                "tests/test_structure_guard.py",
                "tests/test_analysis.py"],
    "imaging": ["tests/test_transfer.py", "tests/test_masks.py", "tests/test_resample.py",
                "tests/test_histogram_matching.py", "tests/test_metrics_distances.py",
                "tests/test_analysis.py"],
    "generalizers": ["tests/test_histogram_matching.py", "tests/test_neural.py"],
    "runtime": ["tests/test_runtime_sessions.py", "tests/test_model_package.py",
                "tests/test_neural.py"],
    "analysis": ["tests/test_analysis.py"],
    "io": ["tests/test_io_dicom.py", "tests/test_io_raster.py", "tests/test_io_study.py",
           "tests/test_io_export.py", "tests/test_io_hardening.py",
           "tests/test_io_deidentify.py", "tests/test_io_dicom_conformance.py"],
}
# Tests deselected inside those files: test_neural's torch-exported packages (the 0.6x + 0.2
# ONNX package covers the same code paths without torch) and the seven bundled networks.
DESELECT = {"generalizers": "not cyclegan and not unit", "runtime": "not cyclegan and not unit"}
CAUGHT = ("killed", "timeout", "segfault")
UNSCORED = ("not checked", "skipped", "check was interrupted by user")


def copy_tree(dest: Path) -> None:
    """The working tree's files (tracked + untracked, not ignored) into ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def write_config(repo: Path, package: str) -> None:
    """mutmut's [mutmut] section (setup.cfg; the copy's pyproject has no [tool.mutmut])."""
    tests = [t for t in TESTS[package] if (repo / t).is_file()]
    args = ["-x", "-q", "-p", "no:cacheprovider", "--timeout=300"]
    if package in DESELECT:
        args += ["-k", DESELECT[package]]
    lines = ["[mutmut]", "source_paths=xray_harmonizer/",
             f"only_mutate=xray_harmonizer/{package}/*",
             "also_copy=", "    resources/", "    training/", "    benchmarks/", "    examples/",
             "pytest_add_cli_args_test_selection=", *[f"    {t}" for t in tests],
             "pytest_add_cli_args=", *[f"    {a}" for a in args],
             # A shared 2-core machine runs tests several times slower than mutmut's clean
             # pass measured: generous limits, so that a "timeout" is a real hang (timeouts
             # count as caught).
             "timeout_multiplier=20.0", "timeout_constant=60.0",
             # Not plain fork: mutmut's own process ran pytest (onnxruntime thread pools,
             # Qt) and a child forked from it can deadlock; a clean fork server cannot.
             "process_isolation=forkserver", ""]
    (repo / "setup.cfg").write_text("\n".join(lines), encoding="utf-8")


def prepare(workdir: Path, package: str, fresh: bool) -> Path:
    repo = workdir / "repo"
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    if not repo.is_dir():
        repo.mkdir(parents=True)
        copy_tree(repo)
    # mutmut runs the tests in repo/mutants/, whose parent must hold shared/ as the checkout's
    # does; the copy at repo/ gets the same for a plain pytest run there.
    shared = REPO.parent / "shared"
    for where in (workdir, repo):
        if shared.is_dir() and not (where / "shared").exists():
            (where / "shared").symlink_to(shared)
    write_config(repo, package)
    return repo


def summarise(repo: Path, package: str) -> dict:
    """Counts per status and per file from mutmut's own records (mutants/*.meta)."""
    per_file: dict[str, dict[str, int]] = {}
    survivors: list[str] = []
    sys.path.insert(0, str(repo))
    from mutmut.stats import status_by_exit_code  # noqa: E402  (needs the mutmut config's cwd)

    for meta in sorted((repo / "mutants" / "xray_harmonizer" / package).rglob("*.meta")):
        data = json.loads(meta.read_text())
        name = str(meta.relative_to(repo / "mutants")).removesuffix(".meta")
        counts = per_file.setdefault(name, {})
        for key, code in data.get("exit_code_by_key", {}).items():
            status = status_by_exit_code[code]
            counts[status] = counts.get(status, 0) + 1
            if status == "survived":
                survivors.append(key)
    total: dict[str, int] = {}
    for counts in per_file.values():
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    scored = sum(v for k, v in total.items() if k not in UNSCORED)
    caught = sum(total.get(k, 0) for k in CAUGHT)
    return {"package": package, "score": caught / scored if scored else None,
            "counts": total, "per_file": per_file, "survivors": sorted(survivors),
            "tests": TESTS[package], "deselect": DESELECT.get(package)}


def table() -> str:
    rows = []
    for path in sorted(RESULTS.glob("mutation-*.json")):
        r = json.loads(path.read_text())
        c = r["counts"]
        score = "–" if r["score"] is None else f"{100 * r['score']:.1f} %"
        rows.append(f"| `{r['package']}` | {score} | {c.get('killed', 0)} | "
                    f"{c.get('survived', 0)} | {c.get('timeout', 0)} | "
                    f"{c.get('no tests', 0)} | {c.get('not checked', 0)} | {r['finished'][:16]} |")
    return "\n".join([
        "| package | score | killed | survived | timeout | no tests | not checked | run (UTC) |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        "Generated by `benchmarks/mutation.py` (mutmut "
        f"{_mutmut_version()}) on {cpu_model()}; score = (killed + timeout) / every checked "
        "mutant (survived and no tests count against it); \"not checked\" mutants were not "
        "reached in the time the run had. Survivors: `docs/mutation.md`.", ""])


def _mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("package", nargs="?", choices=sorted(TESTS))
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--fresh", action="store_true", help="start over (new copy, no old results)")
    p.add_argument("--max-children", type=int, default=1, help="parallel mutants (default 1)")
    p.add_argument("--survivors", action="store_true", help="print the surviving mutants' diffs")
    p.add_argument("--table", action="store_true", help="write benchmarks/results/mutation.md")
    p.add_argument("--no-run", action="store_true",
                   help="only summarise what the workdir holds (e.g. after stopping a run)")
    args = p.parse_args(argv)
    if args.table:
        (RESULTS / "mutation.md").write_text(table(), encoding="utf-8")
        print(table())
        return 0
    if args.package is None:
        p.error("a package is required (or --table)")
    workdir = args.workdir or Path("/tmp/xrh-mutation") / args.package
    repo = prepare(workdir, args.package, args.fresh)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XRH_DISABLE_GPU": "1",
           "QT_QPA_PLATFORM": "offscreen"}
    if args.survivors:
        result = json.loads((RESULTS / f"mutation-{args.package}.json").read_text())
        for name in result["survivors"]:
            subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=repo, env=env)
        return 0
    started = dt.datetime.now(dt.timezone.utc)
    rc = 0
    stats = repo / "mutants" / "mutmut-stats.json"
    if args.no_run and stats.is_file():  # when the stopped run had collected its stats
        started = dt.datetime.fromtimestamp(stats.stat().st_mtime, dt.timezone.utc)
    if not args.no_run:
        rc = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                             str(args.max_children)], cwd=repo, env=env).returncode
    os.chdir(repo)
    result = summarise(repo, args.package)
    finished = dt.datetime.now(dt.timezone.utc)
    if args.no_run:  # the last result mutmut wrote
        metas = list((repo / "mutants").rglob("*.meta"))
        if metas:
            finished = dt.datetime.fromtimestamp(max(m.stat().st_mtime for m in metas),
                                                 dt.timezone.utc)
    result.update(started=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  finished=finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  mutmut_exit=None if args.no_run else rc, mutmut=_mutmut_version(),
                  machine={"cpu": cpu_model(), "cores": os.cpu_count(),
                           "load_average_at_end": list(os.getloadavg())})
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"mutation-{args.package}.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    score = "n/a" if result["score"] is None else f"{100 * result['score']:.1f} %"
    print(f"{args.package}: score {score}, {result['counts']} -> {out.relative_to(REPO)}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
