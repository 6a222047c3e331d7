"""Neural generalizers: full-resolution inference time and SSIM to truth, beside both baselines.

Run from the repository root::

    python benchmarks/bench_inference.py              # writes benchmarks/results/inference.{json,md}
    python benchmarks/bench_inference.py --quick      # fewer sizes/images, for a smoke run
    python benchmarks/bench_inference.py --timing-only  # rerun (a) only; (b), (c) kept from
                                                      # the last full run, its date recorded

For every bundled CycleGAN/UNIT package, in the same run (part (a) one child process per package):

(a) wall time of ``harmonize`` (network at the working resolution + local affine transfer), of
    the "upsample the network output" baseline and of the naive full-resolution network run, at
    512x512, 1024x1024, 2048x2048 and 3000x2500 (H x W). Every method, the baselines included,
    is timed alike: one warm-up call, then the median of ``--runs`` calls on the same image, so
    no method is charged for a cold start the others were spared;
(b) SSIM(output, truth) on simulated pairs: Kermany images passed through one site profile
    (``--ssim-profile``, site_mono1_dr by default), harmonized by the three methods,
    scored against the unshifted original. Two sets: the classifier's held-out test images at
    512 px (never seen by the GANs), and the full-resolution Kermany originals (up to 2359 px;
    whether each was on the GANs' reference side is recorded). "none" (the shifted image) and
    histogram matching are listed for context.
(c) NIH images (a real foreign site, no truth): SSIM to the input and Wasserstein-1 distance to
    the Kermany reference profile, beside histogram matching.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, run_times  # noqa: E402  (shared by the benchmark scripts)

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

SIZES = [(512, 512), (1024, 1024), (2048, 2048), (3000, 2500)]
METHODS = ("transfer", "upsample", "full_network")


def timed(fn: Callable[[], Any], runs: int) -> dict[str, Any]:
    """One warm-up call, then ``runs`` timed calls: median, min and every time (seconds)."""
    times = run_times(fn, runs, warmup=True)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": runs,
            "warmup_runs": 1, "times_s": times}


def synthetic_xray(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A real Kermany full-resolution image resized to ``shape`` (content matters little for time)."""
    from training.gan.data import read_image
    from xray_harmonizer.imaging.transfer import resize

    src = read_image(DATA / "cxr" / "fullres" / "NORMAL2-IM-0927-0001.png")
    return np.clip(resize(src, shape), 0, 1)


def methods(g: Any) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    return {"transfer": g.harmonize, "upsample": g.harmonize_upsampled,
            "full_network": g.harmonize_full_network}


def _time_package(package_dir: str, sizes: list[tuple[int, int]], runs: int
                  ) -> list[dict[str, Any]]:
    """Every size and method for one package (runs in its own process, see :func:`bench_time`)."""
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer

    g = NeuralGeneralizer(Path(package_dir), use_gpu=False)
    rows = []
    for shape in sizes:
        img = synthetic_xray(shape)
        row: dict[str, Any] = {"generalizer": g.package.name, "size": f"{shape[0]}x{shape[1]}"}
        for name, fn in methods(g).items():
            row[name] = timed(lambda fn=fn: fn(img), runs)
            print(f"  {row['generalizer']} {row['size']} {name}: "
                  f"{row[name]['median_s']:.3f} s", flush=True)
        row["speedup_vs_full_network"] = (row["full_network"]["median_s"]
                                          / row["transfer"]["median_s"])
        rows.append(row)
    return rows


def bench_time(gens: list[Any], sizes: list[tuple[int, int]], runs: int) -> list[dict[str, Any]]:
    """Per package and size, every method warmed and timed the same way (see :func:`timed`).

    Each package is timed in a fresh child process, one after the other: an onnxruntime
    session's CPU memory arena grows to the largest input it has run (the full-resolution
    network at 3000x2500) and is not given back to the system when the session is dropped, so
    timing all packages in one process reached 24 GB and was ended by the OOM killer (twice on
    2026-12-01). Rows are returned size-major, as before.
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # a clean interpreter: no session or arena inherited
    rows: list[dict[str, Any]] = []
    for g in gens:
        with ctx.Pool(1) as pool:
            rows += pool.apply(_time_package, (str(g.package.root), sizes, runs))
    order = {f"{h}x{w}": i for i, (h, w) in enumerate(sizes)}
    names = [g.package.name for g in gens]
    return sorted(rows, key=lambda r: (order[r["size"]], names.index(r["generalizer"])))


def bench_ssim(gens: list[Any], profile_name: str, n_test: int, n_fullres: int) -> dict[str, Any]:
    from training.classifier.dataset import discover, split_by_patient
    from training.gan.data import read_image
    from training.sitesim import apply_site, load_site_profile, seed_for
    from xray_harmonizer.generalizers.histogram import HistogramMatching
    from xray_harmonizer.metrics.ssim import ssim
    from xray_harmonizer.reference.profile import load_profile

    profile = load_site_profile(profile_name)
    hist = HistogramMatching(load_profile(), masked=True)
    kermany = DATA / "cxr" / "kermany"
    test = split_by_patient(discover(kermany), 0)["test"][:n_test]
    split_path = REPO / "training" / "gan" / "demo_split.json"
    gan_ref = set(json.loads(split_path.read_text())["reference"]) if split_path.is_file() else set()
    fullres_rows = [r for r in csv.DictReader((DATA / "cxr" / "fullres" / "manifest.csv").open())
                    if r["dataset"] == "kermany"][:n_fullres]
    sets = {"heldout_512": [(kermany / f, f) for f in test],
            "fullres": [(DATA / "cxr" / "fullres" / r["file"], r["file"]) for r in fullres_rows]}
    out: dict[str, Any] = {"profile": profile_name, "seed": 7}
    for set_name, items in sets.items():
        scores: dict[str, list[float]] = {}
        per_image = []
        for path, name in items:
            truth = read_image(path)
            shifted = apply_site(truth, profile, seed=seed_for(name, 7))
            rec = {"file": name, "shape": list(truth.shape), "gan_reference_side": name in gan_ref,
                   "none": ssim(shifted, truth), "histogram": ssim(hist.harmonize(shifted), truth)}
            for g in gens:
                for m, fn in methods(g).items():
                    rec[f"{g.package.name}/{m}"] = ssim(fn(shifted), truth)
                rec[f"{g.package.name}/ssim_to_input"] = ssim(g.harmonize(shifted), shifted)
            per_image.append(rec)
            for k, v in rec.items():
                if isinstance(v, float):
                    scores.setdefault(k, []).append(v)
            print(f"  {set_name} {name}: " + ", ".join(
                f"{k}={v:.3f}" for k, v in rec.items() if isinstance(v, float)), flush=True)
        out[set_name] = {"n": len(items), "mean": {k: float(np.mean(v)) for k, v in scores.items()},
                         "std": {k: float(np.std(v)) for k, v in scores.items()},
                         "images": per_image}
    return out


def bench_nih(gens: list[Any], n: int) -> dict[str, Any]:
    """Real foreign site (NIH, adult) -> Kermany reference: no truth; SSIM to the input and the
    body-region Wasserstein-1 distance to the reference profile, beside histogram matching."""
    from training.gan.data import list_images, read_image
    from xray_harmonizer.generalizers.histogram import HistogramMatching
    from xray_harmonizer.metrics.distances import wasserstein1_to_profile
    from xray_harmonizer.metrics.ssim import ssim
    from xray_harmonizer.reference.profile import load_profile

    ref = load_profile()
    hist = HistogramMatching(ref, masked=True)
    files = list_images(DATA / "cxr" / "nih")[:n]
    scores: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        scores.setdefault(key, []).append(float(value))

    for path in files:
        img = read_image(path)
        add("none/w1", wasserstein1_to_profile(img, ref))
        h = hist.harmonize(img)
        add("histogram/w1", wasserstein1_to_profile(h, ref))
        add("histogram/ssim_to_input", ssim(h, img))
        for g in gens:
            out = g.harmonize(img)
            add(f"{g.package.name}/w1", wasserstein1_to_profile(out, ref))
            add(f"{g.package.name}/ssim_to_input", ssim(out, img))
    return {"n": len(files), "mean": {k: float(np.mean(v)) for k, v in scores.items()},
            "std": {k: float(np.std(v)) for k, v in scores.items()}}


def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_at_start": list(os.getloadavg()),
            "note": "shared machine: other jobs ran at the same time; see load_average"}


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Neural generalizer inference benchmark", "",
             f"Generated {result['generated']} by `benchmarks/bench_inference.py` on "
             f"{result['machine']['cpu']} ({result['machine']['cores']} cores, shared; load "
             f"average at start {result['machine']['load_average_at_start'][0]:.1f}, at end "
             f"{result['machine'].get('load_average_at_end', [float('nan')])[0]:.1f}), "
             f"onnxruntime provider {result['provider']}.", "",
             f"## (a) Time per image (median seconds of {result['timing_runs']} runs after one "
             "warm-up, every method alike; H x W)", "",
             "| generalizer | size | transfer (ours) | upsample baseline | full-res network | "
             "speed-up vs full-res |", "|---|---|---|---|---|---|"]
    for r in result["timing"]:
        lines.append(f"| {r['generalizer']} | {r['size']} | {r['transfer']['median_s']:.3f} | "
                     f"{r['upsample']['median_s']:.3f} | {r['full_network']['median_s']:.2f} | "
                     f"{r['speedup_vs_full_network']:.0f}x |")
    s = result["ssim"]
    lines += ["", f"## (b) SSIM(output, truth), site profile `{s['profile']}`", ""]
    if "quality_from_run" in result:
        lines += [f"(b) and (c) are from the full run of {result['quality_from_run']} "
                  "(`--timing-only` reran (a) alone; the packages' hashes are unchanged).", ""]
    for set_name in ("heldout_512", "fullres"):
        block = s[set_name]
        lines += [f"**{set_name}** (n = {block['n']}): mean ± std", "",
                  "| method | SSIM to truth |", "|---|---|"]
        for k, v in block["mean"].items():
            lines.append(f"| {k} | {v:.3f} ± {block['std'][k]:.3f} |")
        lines.append("")
    nih = result["nih"]
    lines += [f"## (c) Real foreign site: NIH -> Kermany reference (n = {nih['n']}, no truth)", "",
              "| method / metric | mean ± std |", "|---|---|"]
    for k, v in nih["mean"].items():
        lines.append(f"| {k} | {v:.4f} ± {nih['std'][k]:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", nargs="*", type=Path, default=None)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--n-test", type=int, default=60)
    p.add_argument("--n-fullres", type=int, default=8)
    p.add_argument("--n-nih", type=int, default=60)
    p.add_argument("--ssim-profile", default="site_mono1_dr",
                   help="site profile of part (b): the site passed through, with truth")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--timing-only", action="store_true",
                   help="rerun part (a); keep (b) and (c) from the existing inference.json "
                        "(they do not depend on timing), noting the run they come from")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer

    pkgs = args.packages or sorted(
        d for d in (REPO / "resources" / "models").iterdir()
        if (d / "manifest.json").is_file() and d.name.split("-")[0] in ("cyclegan", "unit"))
    gens = [NeuralGeneralizer(d, use_gpu=False) for d in pkgs]
    if not gens:
        print("no CycleGAN/UNIT packages found", file=sys.stderr)
        return 1
    profile = args.ssim_profile
    sizes = SIZES[:2] if args.quick else SIZES
    result: dict[str, Any] = {
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "provider": sorted({g.provider for g in gens}),
        "packages": {g.package.name: g.model_hash for g in gens},
        "working_size": {g.package.name: g.working_size for g in gens},
        "size_convention": "H x W"}
    print("timing", flush=True)
    result["timing_runs"] = 2 if args.quick else args.runs
    result["timing"] = bench_time(gens, sizes, result["timing_runs"])
    if args.timing_only:
        previous = json.loads((args.out / "inference.json").read_text(encoding="utf-8"))
        if previous["packages"] != result["packages"]:
            print("the packages changed since the last full run; run without --timing-only",
                  file=sys.stderr)
            return 1
        result["ssim"], result["nih"] = previous["ssim"], previous["nih"]
        result["quality_from_run"] = previous.get("quality_from_run", previous["generated"])
    else:
        print("ssim", flush=True)
        result["ssim"] = bench_ssim(gens, profile, 4 if args.quick else args.n_test,
                                    2 if args.quick else args.n_fullres)
        print("nih", flush=True)
        result["nih"] = bench_nih(gens, 4 if args.quick else args.n_nih)
    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "inference-quick" if args.quick else "inference"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.out / f"{stem}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
