"""Core benchmark: SSIM, histogram matching, DICOM opening and the metrics, each beside a baseline.

Run from the repository root::

    python benchmarks/bench_core.py            # writes benchmarks/results/core.{json,md}
    python benchmarks/bench_core.py --runs 5   # fewer repetitions

Every timing is the median wall-clock time of ``--runs`` calls after one warm-up call, measured
in this process on this machine (recorded in the JSON). Baselines run in the same process,
alternating call by call with ours so that load from other processes affects both alike: scikit-image's ``structural_similarity`` and ``match_histograms``, and pydicom's
``dcmread`` + ``pixel_array``. A part whose code is missing is recorded as ``unavailable`` with
the reason instead of stopping the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, run_times  # noqa: E402  (shared by the benchmark scripts)

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SIZE = 2048


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``fn`` in milliseconds over ``runs`` calls, after one warm-up call."""
    return statistics.median(run_times(fn, runs)) * 1e3


def paired_ms(
    ours: Callable[[], Any], baseline: Callable[[], Any], runs: int
) -> tuple[float, float]:
    """Median times (ms) of two functions timed alternately, so that a load change on a shared
    machine hits both sides of a ratio alike."""
    ours()
    baseline()
    t_ours, t_base = [], []
    for _ in range(runs):
        for fn, times in ((ours, t_ours), (baseline, t_base)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(t_ours) * 1e3, statistics.median(t_base) * 1e3


def machine() -> dict[str, Any]:
    import scipy
    import skimage

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "platform": platform.platform(),
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if hasattr(os, "getloadavg"):
        # The machine may be shared; the load at start says how busy it was.
        info["load_average_1m_at_start"] = round(os.getloadavg()[0], 2)
    return info


def test_images() -> tuple[np.ndarray, np.ndarray, str]:
    """A real 2048x2048 float32 chest X-ray (centre crop of a full-resolution one) and a second
    image: the same X-ray with a gamma change and mild noise (as a harmonized output would be)."""
    from PIL import Image

    candidates = sorted((DATA / "cxr" / "fullres").glob("*.png"))
    for path in candidates:
        img = Image.open(path).convert("L")
        if min(img.size) >= SIZE:
            a = np.asarray(img, dtype=np.float32) / np.float32(255)
            y0, x0 = (a.shape[0] - SIZE) // 2, (a.shape[1] - SIZE) // 2
            a = np.ascontiguousarray(a[y0 : y0 + SIZE, x0 : x0 + SIZE])
            source = f"cxr/fullres/{path.name} centre crop"
            break
    else:
        # No real image large enough (data missing): a smooth synthetic one, say so in the JSON.
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
        a = (0.5 + 0.3 * np.sin(6 * xx) * np.cos(4 * yy)).astype(np.float32)
        a += np.float32(0.02) * rng.standard_normal(a.shape, dtype=np.float32)
        a = np.clip(a, 0, 1)
        source = "synthetic"
    rng = np.random.default_rng(1)
    b = np.power(a, np.float32(0.8)) + np.float32(0.01) * rng.standard_normal(a.shape, dtype=np.float32)
    return a, np.clip(b, 0, 1).astype(np.float32), source


def one_line(exc: BaseException, limit: int = 160) -> str:
    """Exception as one short line (io's ``printable``), without the data folder."""
    from xray_harmonizer.io.errors import printable

    return printable(f"{type(exc).__name__}: {exc}".replace(str(DATA) + os.sep, ""), limit)


def unavailable(exc: BaseException) -> dict[str, Any]:
    return {"status": "unavailable", "reason": one_line(exc)}


def bench_ssim(a: np.ndarray, b: np.ndarray, runs: int) -> dict[str, Any]:
    from skimage.metrics import structural_similarity

    from xray_harmonizer.metrics.ssim import ssim, ssim_map

    ref = structural_similarity(a, b, data_range=1.0)
    ours = ssim(a, b)
    ours_ms, sk_ms = paired_ms(lambda: ssim(a, b),
                               lambda: structural_similarity(a, b, data_range=1.0), runs)
    map_ms, sk_full_ms = paired_ms(lambda: ssim_map(a, b),
                                   lambda: structural_similarity(a, b, data_range=1.0, full=True), runs)
    ours_1t_ms = median_ms(lambda: ssim(a, b, threads=1), runs)
    return {
        "status": "ok",
        "shape": list(a.shape),
        "value_ours": ours,
        "value_skimage": ref,
        "abs_difference": abs(ours - ref),
        "skimage_ms": sk_ms,
        "ours_ms": ours_ms,
        "ratio": sk_ms / ours_ms,
        "ours_one_thread_ms": ours_1t_ms,
        "ratio_one_thread": sk_ms / ours_1t_ms,
        "skimage_full_map_ms": sk_full_ms,
        "ours_map_ms": map_ms,
        "ratio_map": sk_full_ms / map_ms,
    }


def bench_histogram_matching(a: np.ndarray, runs: int) -> dict[str, Any]:
    from PIL import Image
    from skimage.exposure import match_histograms

    from xray_harmonizer.generalizers.histogram import HistogramMatching
    from xray_harmonizer.reference.profile import load_profile

    profile = load_profile()
    # scikit-image matches to one reference image; ours to the profile (a dataset-level target).
    ref_path = sorted((DATA / "cxr" / "kermany").glob("*.png"))[0]
    reference = np.asarray(Image.open(ref_path).convert("L"), dtype=np.float32) / np.float32(255)
    out: dict[str, Any] = {"status": "ok", "shape": list(a.shape),
                           "skimage_reference_image": f"cxr/kermany/{ref_path.name} {reference.shape}"}
    for masked in (True, False):
        gen = HistogramMatching(profile, masked=masked)
        result = gen.harmonize(a)
        key = "masked" if masked else "whole_image"
        ms, sk_ms = paired_ms(lambda: gen.harmonize(a), lambda: match_histograms(a, reference), runs)
        out[f"ours_{key}_ms"] = ms
        out[f"skimage_match_histograms_ms_{key}_run"] = sk_ms
        out[f"ratio_{key}"] = sk_ms / ms
        out[f"ours_{key}_output_ok"] = bool(result.shape == a.shape and result.dtype == np.float32)
    return out


def bench_dicom(runs: int) -> dict[str, Any]:
    import pydicom

    from xray_harmonizer.io import open_image

    files = sorted((DATA / "dicom").glob("*.dcm"))
    if not files:
        raise FileNotFoundError(f"no DICOM files under {DATA / 'dicom'}")
    rows = []
    for path in files:
        row: dict[str, Any] = {"file": path.name, "bytes": path.stat().st_size}
        try:
            image = open_image(path)
            row["shape"] = list(image.pixels.shape)
        except Exception as exc:  # a refused file is a result, not a crash
            row["ours_error"] = one_line(exc)
        try:
            pydicom.dcmread(path).pixel_array
        except Exception as exc:
            row["pydicom_error"] = one_line(exc)
        if "ours_error" not in row and "pydicom_error" not in row:
            row["ours_ms"], row["pydicom_ms"] = paired_ms(
                lambda: open_image(path), lambda: pydicom.dcmread(path).pixel_array, runs)
        elif "ours_error" not in row:
            row["ours_ms"] = median_ms(lambda: open_image(path), runs)
        elif "pydicom_error" not in row:
            row["pydicom_ms"] = median_ms(lambda: pydicom.dcmread(path).pixel_array, runs)
        if "ours_ms" in row and "pydicom_ms" in row:
            row["ratio_ours_over_pydicom"] = row["ours_ms"] / row["pydicom_ms"]
        rows.append(row)
    return {"status": "ok", "files": rows,
            "note": "ours = open_image (decode + modality/VOI LUT + MONOCHROME1 + [0,1] float32); "
                    "baseline = pydicom.dcmread(path).pixel_array (decode only)"}


def bench_metrics(a: np.ndarray, b: np.ndarray, runs: int) -> dict[str, Any]:
    from xray_harmonizer.metrics.histograms import histogram
    from xray_harmonizer.metrics.roc import roc_auc

    out: dict[str, Any] = {"status": "ok"}
    out["histogram_256_ms"], out["numpy_histogram_256_ms"] = paired_ms(
        lambda: histogram(a), lambda: np.histogram(a, 256, range=(0.0, 1.0)), runs)
    rng = np.random.default_rng(0)
    labels = np.arange(300) % 2
    scores = rng.normal(labels * 1.0, 1.0)
    out["roc_auc_cases"] = 300
    out["roc_auc_bootstraps"] = 2000
    out["roc_auc_ms"] = median_ms(lambda: roc_auc(labels, scores, n_bootstrap=2000, seed=0), runs)
    try:
        from xray_harmonizer.metrics.distances import (
            jensen_shannon_to_profile,
            wasserstein1_to_profile,
        )
        from xray_harmonizer.reference.profile import load_profile

        profile = load_profile()
        out["w1_to_profile_masked_ms"] = median_ms(lambda: wasserstein1_to_profile(a, profile), runs)
        out["js_to_profile_masked_ms"] = median_ms(lambda: jensen_shannon_to_profile(a, profile), runs)
        out["w1_to_profile_whole_ms"] = median_ms(
            lambda: wasserstein1_to_profile(a, profile, masked=False), runs)
    except Exception as exc:
        out["distances"] = unavailable(exc)
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Core benchmark",
        "",
        f"Generated by `benchmarks/bench_core.py` on {m['date_utc']}: {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, numpy {m['numpy']}, scikit-image {m['scikit-image']}"
        + (f", load average {m['load_average_1m_at_start']} at start" if "load_average_1m_at_start" in m else "")
        + f". Median of {results['runs']} runs after a warm-up; test image: {results['image']}.",
        "",
        "| task (2048x2048 float32 unless noted) | ours (ms) | baseline | baseline (ms) | speed-up |",
        "|---|---:|---|---:|---:|",
    ]
    s = results["ssim"]
    if s.get("status") == "ok":
        lines += [
            f"| SSIM mean | {s['ours_ms']:.1f} | skimage structural_similarity | {s['skimage_ms']:.1f} | {s['ratio']:.1f}x |",
            f"| SSIM mean, 1 thread | {s['ours_one_thread_ms']:.1f} | skimage structural_similarity | {s['skimage_ms']:.1f} | {s['ratio_one_thread']:.1f}x |",
            f"| SSIM mean + full map | {s['ours_map_ms']:.1f} | skimage, full=True | {s['skimage_full_map_ms']:.1f} | {s['ratio_map']:.1f}x |",
        ]
    else:
        lines.append(f"| SSIM | unavailable | | | {s.get('reason', '')} |")
    h = results["histogram_matching"]
    if h.get("status") == "ok":
        for key, label in (("masked", "body region"), ("whole_image", "whole image")):
            lines.append(
                f"| histogram matching to profile ({label}) | {h[f'ours_{key}_ms']:.1f} | "
                f"skimage match_histograms (one reference image) | {h[f'skimage_match_histograms_ms_{key}_run']:.1f} | "
                f"{h[f'ratio_{key}']:.1f}x |")
    else:
        lines.append(f"| histogram matching | unavailable | | | {h.get('reason', '')} |")
    mt = results["metrics"]
    if mt.get("status") == "ok":
        lines.append(f"| histogram, 256 bins | {mt['histogram_256_ms']:.1f} | numpy.histogram | "
                     f"{mt['numpy_histogram_256_ms']:.1f} | {mt['numpy_histogram_256_ms'] / mt['histogram_256_ms']:.1f}x |")
        lines.append(f"| AUC + 95% CI, {mt['roc_auc_cases']} cases, {mt['roc_auc_bootstraps']} bootstraps | "
                     f"{mt['roc_auc_ms']:.1f} | – | – | – |")
        for key, label in (("w1_to_profile_masked_ms", "W1 to profile (body region, incl. mask)"),
                           ("w1_to_profile_whole_ms", "W1 to profile (whole image)"),
                           ("js_to_profile_masked_ms", "JS distance to profile (body region, incl. mask)")):
            if key in mt:
                lines.append(f"| {label} | {mt[key]:.1f} | – | – | – |")
    d = results["dicom"]
    lines += ["", "## DICOM open time per file", ""]
    if d.get("status") == "ok":
        lines += ["| file | size | open_image (ms) | pydicom dcmread + pixel_array (ms) | ratio ours / pydicom |",
                  "|---|---|---:|---:|---:|"]
        for r in d["files"]:
            shape = "x".join(str(v) for v in r.get("shape", [])) or "–"
            ours = f"{r['ours_ms']:.1f}" if "ours_ms" in r else f"refused: {r.get('ours_error', '')}"
            base = f"{r['pydicom_ms']:.1f}" if "pydicom_ms" in r else f"error: {r.get('pydicom_error', '')}"
            ratio = f"{r['ratio_ours_over_pydicom']:.2f}" if "ratio_ours_over_pydicom" in r else "–"
            lines.append(f"| {r['file']} | {shape} | {ours.replace('|', '/')} | {base.replace('|', '/')} | {ratio} |")
        lines += ["", d["note"] + "."]
    else:
        lines.append(f"unavailable: {d.get('reason', '')}")
    return "\n".join(lines) + "\n"


def run_part(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    print(f"[bench_core] {name} ...", file=sys.stderr, flush=True)
    try:
        return fn()
    except Exception as exc:
        traceback.print_exc()
        return unavailable(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed repetitions per measurement")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results",
                        help="folder for core.json and core.md")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    a, b, source = test_images()
    results: dict[str, Any] = {"machine": machine(), "runs": args.runs, "image": source}
    results["ssim"] = run_part("ssim", lambda: bench_ssim(a, b, args.runs))
    results["histogram_matching"] = run_part("histogram matching",
                                             lambda: bench_histogram_matching(a, args.runs))
    results["metrics"] = run_part("metrics", lambda: bench_metrics(a, b, args.runs))
    results["dicom"] = run_part("dicom", lambda: bench_dicom(args.runs))

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "core.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    (args.out / "core.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
