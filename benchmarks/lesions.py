"""Lesion preservation: do the generalizers keep, erase or invent lesions?

    python benchmarks/lesions.py [--sites site_moderate training/sitesim/eval_chains/random_eval_2.json]
                                 [--images 40] [--annotate]

Synthetic lesions (smooth nodules, the projection of a sphere, and patchy opacities, clusters of
small blobs in a soft disc) of radius 3, 6 and 12 px (at the 512 px images; several contrasts,
0.03-0.08 in presentation units) are added to truth images of the classifier's *test* split in
the lung fields, *before* the site's imaging chain. Each image goes through the chain twice with
the same draw (same seed: same noise, exposure, borders), once with and once without its
lesions, and every generalizer harmonizes both. Per lesion:

    kept = sum(w * (out_with - out_without)) / sum(w * (truth_with - truth_without))

with ``w`` the lesion's own profile (a matched filter): 1 = the inserted contrast, in the
output's intensity units, is there; < 1 erased, > 1 exaggerated. Reported per generalizer and
lesion size: mean and 10th percentile (``p10``).

Created blobs: on the lesion-free outputs, what a local affine map of the truth (36 px boxes)
does not explain is band-passed at each lesion scale (difference of Gaussians); pixels above the
response of the faintest inserted lesion at that scale (positive: opacity-like) are grouped into
blobs of at least a quarter of that lesion's area, inside the central 80% of the image (borders
hold shutters, which every method keeps). ``blobs`` is
their mean number per image; ``truth`` scores 0 by construction, and histogram matching (the
issue's baseline) shows what a global intensity map leaves.

Writes ``benchmarks/results/lesions.{json,md}``; ``--annotate`` merges each package's figures
into its manifest's ``evaluation.lesions``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
RADII = (3, 6, 12)  # px at a 512 px long side
CONTRASTS = (0.03, 0.05, 0.08)
KINDS = ("nodule", "patchy")
DEFAULT_SITES = ("site_moderate", "site_severe", "training/sitesim/eval_chains/random_eval_2.json")


@dataclass(frozen=True)
class Lesion:
    """One inserted lesion: its additive map (full image size) and its description."""

    kind: str
    radius: int
    contrast: float
    center: tuple[int, int]
    field: np.ndarray


def lesion_field(shape: tuple[int, int], center: tuple[int, int], radius: float, contrast: float,
                 kind: str, rng: np.random.Generator) -> np.ndarray:
    """Additive lesion map with peak ``contrast``: a sphere's projection (``nodule``) or a
    cluster of small Gaussian blobs in a soft disc (``patchy``)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    r = np.hypot(yy - center[0], xx - center[1])
    if kind == "nodule":
        f = np.sqrt(np.clip(1.0 - (r / radius) ** 2, 0.0, None))
        f = ndimage.gaussian_filter(f, 0.7)
    elif kind == "patchy":
        f = np.zeros(shape)
        for _ in range(8):
            a, d = rng.uniform(0, 2 * np.pi), radius * np.sqrt(rng.uniform(0, 0.6))
            cy, cx = center[0] + d * np.sin(a), center[1] + d * np.cos(a)
            s = radius * rng.uniform(0.25, 0.45)
            f += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        f *= np.exp(-(r / (1.2 * radius)) ** 4)  # soft disc
    else:
        raise ValueError(f"unknown lesion kind {kind!r}")
    return (contrast * f / max(float(f.max()), 1e-9)).astype(np.float32)


def place_lesions(image: np.ndarray, rng: np.random.Generator) -> list[Lesion]:
    """One lesion per radius in the lung fields (rows 25-65%, columns 15-42% or 58-85%), not
    overlapping; kind and contrast drawn per lesion."""
    h, w = image.shape
    scale = max(h, w) / 512.0
    placed: list[Lesion] = []
    for radius in RADII:
        rad = radius * scale
        for _ in range(100):
            side = rng.random() < 0.5
            cy = int(rng.uniform(0.25, 0.65) * h)
            cx = int(rng.uniform(0.15, 0.42) * w if side else rng.uniform(0.58, 0.85) * w)
            if all(np.hypot(cy - p.center[0], cx - p.center[1]) > 1.5 * (rad + p.radius * scale) + 4
                   for p in placed):
                break
        kind = KINDS[int(rng.integers(len(KINDS)))]
        contrast = float(CONTRASTS[int(rng.integers(len(CONTRASTS)))])
        placed.append(Lesion(kind, radius, contrast, (cy, cx),
                             lesion_field(image.shape, (cy, cx), rad, contrast, kind, rng)))
    return placed


def insert(image: np.ndarray, lesions: list[Lesion]) -> np.ndarray:
    """The truth with its lesions (clipped to [0, 1])."""
    out = image.astype(np.float64)
    for les in lesions:
        out = out + les.field
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def contrast_kept(out_with: np.ndarray, out_without: np.ndarray, truth_with: np.ndarray,
                  truth_without: np.ndarray, lesion: Lesion) -> float:
    """Share of the inserted lesion's contrast in the output (matched filter, see module doc)."""
    wgt = lesion.field / max(float(lesion.field.max()), 1e-9)
    inserted = float((wgt * (truth_with.astype(np.float64) - truth_without)).sum())
    seen = float((wgt * (out_with.astype(np.float64) - out_without)).sum())
    return seen / inserted if inserted > 0 else float("nan")


@dataclass(frozen=True)
class LesionPair:
    """One truth image with and without its lesions, and both through the same chain draw."""

    lesions: list[Lesion]
    truth: np.ndarray
    truth_with: np.ndarray
    site: np.ndarray
    site_with: np.ndarray


def lesion_pair(name: str, truth: np.ndarray, profile, seed: int) -> LesionPair:
    """The benchmark's draw for image ``name``: its lesions, then the chain with the same seed
    with and without them (``profile``: a site profile)."""
    from training.sitesim import apply_site, seed_for

    lesions = place_lesions(truth, np.random.default_rng(seed_for(name, seed + 1)))
    truth_with = insert(truth, lesions)
    s = seed_for(name, seed)
    return LesionPair(lesions, truth, truth_with, apply_site(truth, profile, s), apply_site(truth_with, profile, s))


def test_pairs(site_arg: str, n_images: int, seed: int = 0) -> list[LesionPair]:
    """The benchmark's draw (:func:`lesion_pair`) on the first ``n_images`` images of the
    classifier's test split through ``site_arg`` (a profile name or chain file), in memory."""
    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE
    from training.classifier.dataset import discover, load_image
    from training.sitesim import load_site_profile

    profile = load_site_profile(REPO / site_arg if (REPO / site_arg).is_file() else site_arg)
    names = json.loads((DEFAULT_CLASSIFIER / "splits.json").read_text(encoding="utf-8"))["test"][:n_images]
    by_name = {s.name: s for s in discover(DEFAULT_REFERENCE)}
    return [lesion_pair(n, load_image(by_name[n].path), profile, seed) for n in names]


def kept_by_radius(pairs: list[LesionPair], harmonize) -> dict[int, list[float]]:
    """Contrast kept of every lesion of ``pairs`` through ``harmonize(image, truth)``, by radius
    (the truth is there for the perfect-network oracles; a generalizer ignores it)."""
    kept: dict[int, list[float]] = {r: [] for r in RADII}
    for p in pairs:
        out_without, out_with = harmonize(p.site, p.truth), harmonize(p.site_with, p.truth_with)
        for les in p.lesions:
            kept[les.radius].append(contrast_kept(out_with, out_without, p.truth_with, p.truth, les))
    return kept


def band(x: np.ndarray, radius: float) -> np.ndarray:
    """A lesion of ``radius`` px's band: Gaussian r/2 minus Gaussian 2r (difference of Gaussians)."""
    return ndimage.gaussian_filter(x, radius / 2) - ndimage.gaussian_filter(x, 2 * radius)


def blob_thresholds(shape: tuple[int, int]) -> dict[int, float]:
    """The band-pass peak of the faintest nodule of each radius: a created blob must be at least
    as strong as the faintest lesion the benchmark inserts."""
    scale = max(shape) / 512.0
    c = (shape[0] // 2, shape[1] // 2)
    rng = np.random.default_rng(0)
    return {r: float(band(lesion_field(shape, c, r * scale, min(CONTRASTS), "nodule", rng)
                           .astype(np.float64), r * scale).max()) for r in RADII}


def unexplained(output: np.ndarray, truth: np.ndarray, radius: float) -> np.ndarray:
    """``output`` minus its best local affine map of the truth (boxes of ``radius`` px, well
    above the largest lesion): a different tone curve or local contrast is not a lesion; what is
    left is structure the truth does not have, and noise."""
    o, t = output.astype(np.float64), truth.astype(np.float64)
    size = 2 * int(radius) + 1
    mt, mo = ndimage.uniform_filter(t, size), ndimage.uniform_filter(o, size)
    var = ndimage.uniform_filter(t * t, size) - mt * mt
    cov = ndimage.uniform_filter(t * o, size) - mt * mo
    a = cov / (var + 1e-4)
    b = mo - a * mt
    return o - (ndimage.uniform_filter(a, size) * t + ndimage.uniform_filter(b, size))


def created_blobs(output: np.ndarray, truth: np.ndarray, thresholds: dict[int, float]) -> int:
    """Lesion-like blobs (positive, lesion-scale, at least as strong as the faintest inserted
    lesion, at least a quarter of its area) of :func:`unexplained` in the central 80%."""
    h, w = truth.shape
    scale = max(h, w) / 512.0
    resid = unexplained(output, truth, 3 * max(RADII) * scale)
    core = np.zeros(truth.shape, dtype=bool)
    core[int(0.1 * h):int(0.9 * h), int(0.1 * w):int(0.9 * w)] = True
    hit = np.zeros(truth.shape, dtype=bool)
    for r, thr in thresholds.items():
        labels, n = ndimage.label((band(resid, r * scale) > thr) & core)
        if n:
            sizes = ndimage.sum_labels(np.ones_like(resid), labels, index=np.arange(1, n + 1))
            big = np.flatnonzero(sizes >= np.pi * (r * scale / 2) ** 2) + 1
            hit |= np.isin(labels, big)
    return int(ndimage.label(hit)[1])


def summarize(kept: dict[int, list[float]], blobs: list[int]) -> dict:
    by_size = {}
    for r, vals in kept.items():
        v = np.array([x for x in vals if np.isfinite(x)])
        by_size[str(r)] = {"mean": round(float(v.mean()), 4), "p10": round(float(np.percentile(v, 10)), 4),
                           "n": int(v.size)}
    return {"contrast_kept": by_size, "blobs_per_image": round(float(np.mean(blobs)), 3)}


def oracle_row(size: int) -> str:
    return f"oracle: perfect {size} px network + residual transfer"


def run_site(site_arg: str, generalizers: list, n_images: int, seed: int,
             oracles: tuple[int, ...] = ()) -> dict:
    """``oracles``: working sizes of bound rows (:func:`benchmarks.protocol.oracle_transfer`
    with the residual: a network whose output is the truth *with* its lesions, carried by the
    universal kind's transfer), i.e. what the chain and the transfer leave to any network."""
    from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, oracle_transfer
    from training.classifier.dataset import discover, load_image
    from training.sitesim import load_site_profile

    profile = load_site_profile(REPO / site_arg if (REPO / site_arg).is_file() else site_arg)
    names = json.loads((DEFAULT_CLASSIFIER / "splits.json").read_text(encoding="utf-8"))["test"][:n_images]
    by_name = {s.name: s for s in discover(DEFAULT_REFERENCE)}
    rows = {"original": ([], {r: [] for r in RADII}, [])}
    rows.update({oracle_row(size): ([], {r: [] for r in RADII}, []) for size in oracles})
    rows.update({g.name: ([], {r: [] for r in RADII}, []) for g in generalizers})
    thresholds = None
    for name in names:
        truth = load_image(by_name[name].path)
        thresholds = thresholds or blob_thresholds(truth.shape)
        pair = lesion_pair(name, truth, profile, seed)
        outs = {"original": (pair.site_with, pair.site)}
        for size in oracles:
            outs[oracle_row(size)] = (oracle_transfer(pair.site_with, pair.truth_with, size, True),
                                      oracle_transfer(pair.site, truth, size, True))
        for g in generalizers:
            outs[g.name] = (g.harmonize(pair.site_with), g.harmonize(pair.site))
        for row, (o1, o0) in outs.items():
            for les in pair.lesions:
                rows[row][1][les.radius].append(contrast_kept(o1, o0, pair.truth_with, truth, les))
            rows[row][2].append(created_blobs(o0, truth, thresholds))
    return {"site": profile.name, "n_images": len(names),
            "rows": {row: summarize(k, b) for row, (_, k, b) in rows.items()}}


def write_markdown(result: dict) -> str:
    lines = ["# Lesion preservation", "",
             f"Generated {result['generated']} by `{result['command']}` on {result['machine']}; "
             f"{result['seconds']:.0f} s (the last command).", "",
             "Synthetic nodules / patchy opacities (radius 3, 6, 12 px at 512; contrast 0.03-0.08) "
             "inserted in test-split truth images before the chain (same draw with and without). "
             "Contrast kept: mean (10th percentile) of the inserted contrast found in the output; "
             "target 0.90-1.10 (>= 0.75). Blobs: lesion-like positive blobs of output - truth per "
             "image on the lesion-free outputs (fewer is better; histogram matching is the baseline). "
             "Oracle rows (when run) are bounds, not methods: a network whose output is the truth "
             "with its lesions, carried by the universal kind's transfer; what the chain and the "
             "transfer leave to any network at that working size.", ""]
    for site in result["sites"]:
        lines += [f"## {site['site']} ({site['n_images']} images, {site['n_images'] * len(RADII)} lesions)", "",
                  "| method | " + " | ".join(f"r = {r} px" for r in RADII) + " | blobs / image |",
                  "|---|" + "---|" * (len(RADII) + 1)]
        for row, s in site["rows"].items():
            cells = [f"{s['contrast_kept'][str(r)]['mean']:.2f} ({s['contrast_kept'][str(r)]['p10']:.2f})"
                     for r in RADII]
            lines.append(f"| {row} | " + " | ".join(cells) + f" | {s['blobs_per_image']:.2f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def annotate(result: dict, generalizers: list) -> None:
    """Merge each package's figures into its manifest's ``evaluation.lesions`` (hashes refreshed)."""
    from xray_harmonizer.models.package import write_manifest

    for g in generalizers:
        pkg = getattr(g, "package", None)
        if pkg is None:
            continue
        manifest = json.loads((pkg.root / "manifest.json").read_text(encoding="utf-8"))
        figures = {"benchmark": "benchmarks/lesions.py", "generated": result["generated"],
                   "targets": {"contrast_kept_mean": [0.9, 1.1], "contrast_kept_p10_min": 0.75},
                   "sites": {}}
        for site in result["sites"]:
            mine, hist = site["rows"][g.name], site["rows"].get("Histogram matching")
            figures["sites"][site["site"]] = {
                **mine, "histogram_blobs_per_image": hist["blobs_per_image"] if hist else None}
        manifest.setdefault("evaluation", {})["lesions"] = figures
        write_manifest(pkg.root, manifest)


def merge(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s rows added to the sites both scored (same images required); a row
    of a method measured again (a retrained package under the same name) is replaced, never
    kept stale."""
    by_site = {site["site"]: site for site in old["sites"]}
    for site in new["sites"]:
        prev = by_site.get(site["site"])
        if prev is None or prev["n_images"] != site["n_images"]:
            raise ValueError(f"{site['site']}: not in the previous run with the same images; rerun all")
        prev["rows"].update(site["rows"])
    # The commands whose rows the file holds, each once: a command run again (the package
    # retrained) replaced its rows, so listing it twice, or adding its time twice, would
    # describe runs that no longer contribute. ``seconds`` is this last run's.
    commands = [c for c in old["command"].split("; ") if c != new["command"]]
    old["command"] = "; ".join([*dict.fromkeys(commands), new["command"]])
    old["seconds"] = new["seconds"]
    old["generated"] = new["generated"]
    return old


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", nargs="+", default=list(DEFAULT_SITES),
                    help="site profiles (bundled names or JSON files)")
    ap.add_argument("--images", type=int, default=40, help="test-split images per site")
    ap.add_argument("--models", type=Path, nargs="*", default=None, help="package folders (default: bundled + user)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--oracle", type=int, nargs="*", default=[],
                    help="working sizes of perfect-network bound rows (they read the truth)")
    ap.add_argument("--annotate", action="store_true", help="write the figures into the manifests")
    ap.add_argument("--merge", action="store_true",
                    help="add this run's rows to the existing lesions.json (same sites, images and "
                         "seed; a method measured again replaces its row), e.g. for a newly "
                         "installed or retrained package")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    from xray_harmonizer.generalizers.registry import discover_generalizers

    t0 = time.time()
    generalizers, _ = discover_generalizers(None, args.models)
    sites = [run_site(s, generalizers, args.images, args.seed, tuple(args.oracle)) for s in args.sites]
    result = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "command": "python benchmarks/lesions.py " + shlex.join(sys.argv[1:] if argv is None else argv),
              "machine": f"{cpu_model()} (2 cores, shared, no GPU)", "radii_px_at_512": list(RADII),
              "contrasts": list(CONTRASTS), "kinds": list(KINDS), "sites": sites,
              "seconds": round(time.time() - t0, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge and (args.out / "lesions.json").is_file():
        result = merge(json.loads((args.out / "lesions.json").read_text(encoding="utf-8")), result)
    (args.out / "lesions.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.out / "lesions.md").write_text(write_markdown(result), encoding="utf-8")
    if args.annotate:
        annotate(result, generalizers)
    print(write_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
