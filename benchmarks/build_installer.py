"""Build the one-folder app with PyInstaller and run the bundle's ``--self-test`` offscreen.

    python benchmarks/build_installer.py --variant gpu   # this environment (onnxruntime-gpu)
    python benchmarks/build_installer.py --variant cpu   # a separate venv with onnxruntime 1.31.1

``gpu`` builds with the running interpreter, which needs ``pip install -e ".[installer]"``.
``cpu`` builds in its own venv (``--venv``, default /tmp/venv-installer): the app's dependencies
from pyproject.toml with ``onnxruntime-gpu`` swapped for ``onnxruntime==1.31.1`` (never both in
one environment: they share the ``onnxruntime`` package) plus PyInstaller; the app itself is
taken from this source tree (the spec's pathex). The bundle lands in ``--out`` (default
/tmp/xrh-installer/<variant>/dist/xray-harmonizer). Writes ``benchmarks/results/installer_<variant>.json``
and rewrites ``benchmarks/results/installer.md`` from every variant's JSON. Exit 1 when the
build or the self-test fails, or the CPU bundle exceeds its 350 MB budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CPU_ONNXRUNTIME = "onnxruntime==1.31.1"
CPU_BUDGET_MB = 350


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=("gpu", "cpu"), required=True)
    ap.add_argument("--venv", type=Path, default=Path("/tmp/venv-installer"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/xrh-installer"))
    args = ap.parse_args(argv)

    record: dict = {"variant": args.variant, "machine": machine_name(),
                    "command": f"python benchmarks/build_installer.py --variant {args.variant}"}
    if args.variant == "cpu":
        t0 = time.perf_counter()
        python = prepare_cpu_venv(args.venv)
        record["venv_setup_s"] = round(time.perf_counter() - t0, 1)
    else:
        python = Path(sys.executable)
    record["onnxruntime"] = _run([str(python), "-c", "import importlib.metadata as m; print(', '.join("
                                 "d.metadata['Name'] + ' ' + d.version for d in m.distributions()"
                                 " if d.metadata['Name'].startswith('onnxruntime')))"]).strip()
    work = args.out / args.variant
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.perf_counter()
    build = subprocess.run([str(python), "-m", "PyInstaller", "--noconfirm", "--clean",
                            "--workpath", str(work / "build"), "--distpath", str(work / "dist"),
                            str(ROOT / "build_installer.spec")],
                           capture_output=True, text=True, cwd=ROOT)
    if build.returncode != 0:
        print(build.stderr[-3000:], file=sys.stderr)
        print(f"error: PyInstaller failed (exit {build.returncode})", file=sys.stderr)
        return 1
    bundle = work / "dist" / "xray-harmonizer"
    record["unstripped_mb"] = round(folder_bytes(bundle) / 1e6, 1)
    strip_symbols(bundle)
    record["build_s"] = round(time.perf_counter() - t0, 1)
    # The machine is shared: the load says how much of the build time was waiting for a core.
    record["load_avg_1min_after_build"] = round(os.getloadavg()[0], 1)
    record["size_mb"] = round(folder_bytes(bundle) / 1e6, 1)
    record["largest"] = largest_parts(bundle)
    record["cuda_libraries"] = sorted({p.name for p in bundle.rglob("*.so*") if re.search(
        r"^lib(cuda|cublas|cudnn|cufft|curand|cusparse|nvrtc)|providers_cuda", p.name)})
    record["self_test"] = self_test(bundle / "xray-harmonizer")
    ok = record["self_test"]["exit"] == 0
    if args.variant == "cpu":
        record["budget_mb"] = CPU_BUDGET_MB
        ok = ok and record["size_mb"] < CPU_BUDGET_MB and not record["cuda_libraries"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"installer_{args.variant}.json").write_text(json.dumps(record, indent=2) + "\n")
    write_markdown()
    print(json.dumps({k: record[k] for k in ("variant", "build_s", "size_mb", "self_test")}))
    return 0 if ok else 1


def prepare_cpu_venv(venv: Path) -> Path:
    """A venv with the app's dependencies, CPU onnxruntime and PyInstaller (made once, reused)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [CPU_ONNXRUNTIME if d.startswith("onnxruntime") else d for d in deps["dependencies"]]
    wanted += deps["optional-dependencies"]["installer"]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
    names = _run([str(python), "-m", "pip", "list", "--format=freeze"])
    if re.search(r"^onnxruntime-gpu==", names, re.M | re.I):
        raise SystemExit(f"error: {venv} holds onnxruntime-gpu beside onnxruntime; use a fresh --venv")
    return python


def self_test(exe: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XRH_RESOURCES")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.perf_counter()
    try:
        run = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True,
                             timeout=600, env=env, cwd="/")
    except subprocess.TimeoutExpired:
        return {"exit": 124, "line": "self-test timed out after 600 s", "s": 600.0}
    lines = (run.stdout.strip() or run.stderr.strip() or "(no output)").splitlines()
    line = next((x for x in lines if x.startswith("self-test")), lines[-1])
    return {"exit": run.returncode, "line": line, "s": round(time.perf_counter() - t0, 1)}


def strip_symbols(bundle: Path) -> None:
    """``strip --strip-unneeded`` every shared library except the auditwheel-patched ones in
    ``*.libs/`` folders, which stripping corrupts (numpy then fails to import). pyenv's
    libpython and lib-dynload carry full symbol tables (libpython 23 -> 6 MB)."""
    strip = shutil.which("strip")
    if strip is None:
        print("warning: no 'strip' (binutils): bundle left unstripped", file=sys.stderr)
        return
    libs = [p for p in bundle.rglob("*.so*") if p.is_file() and not p.is_symlink()
            and not any(part.endswith(".libs") for part in p.relative_to(bundle).parts)]
    for lib in libs:
        subprocess.run([strip, "--strip-unneeded", str(lib)], capture_output=True)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def largest_parts(bundle: Path, n: int = 8) -> dict[str, float]:
    """Size in MB of the biggest top-level entries of ``_internal`` (where the weight is)."""
    internal = bundle / "_internal"
    sizes = {p.name: (folder_bytes(p) if p.is_dir() else p.stat().st_size)
             for p in internal.iterdir() if not p.is_symlink()}
    return {k: round(v / 1e6, 1) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:n]}


def machine_name() -> str:
    cpu = platform.processor() or "cpu"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()}-core {cpu}, no GPU used"


def write_markdown() -> None:
    rows = []
    for variant in ("gpu", "cpu"):
        path = RESULTS / f"installer_{variant}.json"
        if path.exists():
            r = json.loads(path.read_text())
            load = r.get("load_avg_1min_after_build")
            build = f"{r['build_s']} s" + (f" (load {load})" if load is not None else "")
            rows.append(f"| {variant} | {r['onnxruntime']} | {build} | {r['size_mb']} MB | "
                        f"exit {r['self_test']['exit']}: {r['self_test']['line']} ({r['self_test']['s']} s) |")
    machine = machine_name()
    (RESULTS / "installer.md").write_text(
        "# One-folder app (PyInstaller)\n\n"
        f"Machine: {machine}. Command: `python benchmarks/build_installer.py --variant gpu|cpu`.\n"
        "Build time is the PyInstaller run (`--clean`) plus stripping symbols; size is the whole `dist/xray-harmonizer` folder.\n\n"
        "| variant | onnxruntime | build | size | bundle's `--self-test` (offscreen) |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n")


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


if __name__ == "__main__":
    raise SystemExit(main())
