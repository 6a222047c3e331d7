"""The paper's evaluation protocol on real images: does harmonization give the classifier back its
accuracy at a new site without changing the anatomy?

    python benchmarks/protocol.py --site-profile site_severe        # simulated site, truth known
    python benchmarks/protocol.py --site DIR --labels CSV [--truth DIR]   # a real labelled folder
    python benchmarks/protocol.py --site ../shared/data/cxr/nih --name nih  # unlabeled: distances, SSIM

Simulated mode passes the reference classifier's *test split* (patient-level, from the package's
``splits.json``) through a site profile (``training.sitesim``), so the unshifted image is the truth.
Rows: original, truth (upper bound), every available generalizer (histogram matching and each
installed neural package), and the site-augmented classifier on the original images. Per row: AUC
with 95% bootstrap CI and ROC, sensitivity/specificity at the reference operating point (threshold
chosen on the reference validation split), SSIM(output, input), Wasserstein-1 to the reference
profile (body region), and SSIM/PSNR to the truth. Writes results.json, table.md, roc.png,
histograms.png, examples.png and splits.json into ``benchmarks/results/protocol-<site>/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a clean checkout
    sys.path.insert(0, str(REPO))

from benchmarks.protocol_report import write_plots, write_table  # noqa: E402

if TYPE_CHECKING:
    from xray_harmonizer.analysis import HarmonizeResult, Prepared
    from xray_harmonizer.generalizers.base import Generalizer
    from xray_harmonizer.reference.profile import ReferenceProfile

log = logging.getLogger("protocol")
DEFAULT_REFERENCE = REPO.parent / "shared" / "data" / "cxr" / "kermany"
DEFAULT_CLASSIFIER = REPO / "resources" / "models" / "classifier-kermany-pneumonia"
DEFAULT_AUGMENTED = REPO / "resources" / "models" / "classifier-kermany-pneumonia-siteaug"
RESULTS = REPO / "benchmarks" / "results"


@dataclass(frozen=True)
class SiteSet:
    """The new site's images: names, pixels, optional labels and truth."""

    name: str
    files: list[str]
    images: list[np.ndarray]
    labels: np.ndarray | None
    truth: list[np.ndarray] | None
    description: str
    # Per image, where the chain *replaced* the anatomy (simulated sites: shutters, burned-in
    # text); None where that is not known (a folder of images).
    replaced: list[np.ndarray] | None = None

    @cached_property
    def informative(self) -> list[np.ndarray]:
        """Per image, :func:`informative_field`: computed once a site, not once a row."""
        replaced = self.replaced or [None] * len(self.images)
        return [informative_field(im, rep) for im, rep in zip(self.images, replaced)]


def simulated_site(profile_arg: str, reference: Path, split_file: Path, seed: int,
                   limit: int | None, part: str = "test") -> SiteSet:
    from training.classifier.dataset import discover, load_image
    from training.sitesim import apply_site_with_draws, load_site_profile, replaced_mask, seed_for

    profile = load_site_profile(profile_arg)
    split = json.loads(split_file.read_text(encoding="utf-8"))
    by_name = {s.name: s for s in discover(reference)}
    names = split[part]
    if limit:  # both classes even in a small run
        pos = [n for n in names if by_name[n].label == 1]
        neg = [n for n in names if by_name[n].label == 0]
        names = sorted(neg[:limit // 2] + pos[:limit - min(len(neg), limit // 2)])
    truth = [load_image(by_name[n].path) for n in names]
    imaged = [apply_site_with_draws(im, profile, seed_for(n, seed)) for n, im in zip(names, truth)]
    labels = np.array([by_name[n].label for n in names])
    return SiteSet(profile.name if part == "test" else f"{profile.name}-{part}", names,
                   [x for x, _ in imaged], labels, truth,
                   f"reference {part} split through site profile {profile.name} (seed {seed})",
                   [replaced_mask(x.shape, d) for x, d in imaged])


def _same_name(folder: Path, file: str) -> Path:
    """``folder/file``, or the one file there with the same stem (a PNG truth for a DICOM)."""
    if (folder / file).is_file():
        return folder / file
    matches = [p for p in folder.glob(Path(file).stem + ".*") if p.stem == Path(file).stem]
    if len(matches) != 1:
        raise FileNotFoundError(f"{folder}: no truth image for {file}")
    return matches[0]


def folder_site(site: Path, labels_csv: Path | None, truth_dir: Path | None, name: str | None,
                limit: int | None) -> SiteSet:
    from training.classifier.dataset import NLM_NAME, parse_label
    from xray_harmonizer.io import open_image

    if labels_csv is not None:
        with open(labels_csv, newline="", encoding="utf-8") as f:
            rows = [(r["file"], parse_label(r["label"])) for r in csv.DictReader(f)]
    else:
        files = sorted(p.name for p in site.iterdir() if p.suffix.lower() in
                       {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm"})
        nlm = [(f, int(NLM_NAME.match(f)["label"])) for f in files if NLM_NAME.match(f)]
        rows = nlm if nlm and len(nlm) == len(files) else [(f, -1) for f in files]
    rows = rows[:limit] if limit else rows
    images = [open_image(site / f).pixels for f, _ in rows]
    labels = np.array([y for _, y in rows])
    truth = None
    if truth_dir is not None:
        truth = [open_image(_same_name(truth_dir, f)).pixels for f, _ in rows]
        for f, t, im in zip(rows, truth, images):
            if t.shape != im.shape:
                raise ValueError(f"{f[0]}: truth shape {t.shape} differs from site image {im.shape}")
    return SiteSet(name or site.name, [f for f, _ in rows], images,
                   None if (labels < 0).any() else labels, truth, f"folder {site.name}")


def oracle_transfer(image: np.ndarray, truth: np.ndarray, working_size: int,
                    residual: bool = False) -> np.ndarray:
    """Ceiling of the neural path: a network whose output at ``working_size`` *is* the truth,
    carried to full resolution by the same transfer the neural generalizers use.

    It reads the truth, so it is a bound, not a method: what any generalizer running at this
    working size can reach through :func:`xray_harmonizer.imaging.transfer.transfer`, with the
    local map alone (GAN packages) or with its residual (``residual``: the universal kind).
    """
    from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape

    low = working_shape(image.shape, working_size)
    return transfer(image, resize(image, low), resize(truth, low), TransferConfig(residual=residual))


def clipped_detail_bound(image: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The truth with its detail removed where the site's chain left none: a bound for any
    generalizer that does not invent anatomy.

    Where (almost) every pixel of a neighbourhood (Gaussian, ~2 px at 512 px) sits at the
    image's white or black end, nothing of the anatomy's detail is left to restore; there this
    image keeps only the truth's local mean (a Gaussian of ~16 px at 512 px), which no
    generalizer knows either, so the bound is optimistic. Partly clipped areas are left alone:
    their unclipped pixels still carry the anatomy, dithered by the noise (a first version that
    flattened every area where half the pixels were clipped fell below what the universal
    package itself reached on one chain, so that was no bound). A row far below the perfect-network
    oracle says the chain destroyed what the classifier needs; a row near it says a generalizer
    that misses there misses by itself.
    """
    from scipy.ndimage import gaussian_filter

    flat = gaussian_filter(truth.astype(np.float32), 16.0 * max(image.shape) / 512.0)
    return np.where(clipped_area(image, SOLID_CLIP), flat, truth).astype(np.float32)


SOLID_CLIP = 0.98  # share of a neighbourhood at an end above which nothing of it is left
CLIP_SIGMA = 2.0  # px at 512 px: the neighbourhood of clipped_area


def informative_field(image: np.ndarray, replaced: np.ndarray | None) -> np.ndarray:
    """Where an SSIM window sees only anatomy the site image still carries: pixels whose 7x7
    window (the metric's) touches neither a pixel the chain replaced (``replaced``: shutters,
    burned-in text) nor a solidly clipped area (:func:`clipped_area` at ``SOLID_CLIP``), and not
    the metric's own 3-pixel border.

    Why: SSIM to the truth over the whole image also scores what lay under a shutter or in a
    field the chain clipped to black, which no method can know; the oracle rows read it from the
    truth (on site_severe 18% of the SSIM windows, 16 test images). Over this field a
    generalizer and the oracle are judged on the same information.
    """
    from scipy.ndimage import maximum_filter

    from xray_harmonizer.metrics.ssim import WIN_SIZE

    # clipped_area's Gaussian share passes 0.98 only ~2 sigma inside a clipped field's edge:
    # grow the solid area back by that much (else the field's rim counts as anatomy).
    grow = int(np.ceil(2 * CLIP_SIGMA * max(image.shape) / 512.0))
    lost = maximum_filter(clipped_area(image, SOLID_CLIP), size=2 * grow + 1)
    if replaced is not None:
        lost |= replaced
    field = ~maximum_filter(lost, size=WIN_SIZE)
    pad = WIN_SIZE // 2
    field[:pad], field[-pad:], field[:, :pad], field[:, -pad:] = False, False, False, False
    return field


def clipped_area(image: np.ndarray, share: float) -> np.ndarray:
    """Where more than ``share`` of a neighbourhood (Gaussian, ~2 px at 512 px, so that stray
    noise pixels do not count) sits at the image's white or black end."""
    from scipy.ndimage import gaussian_filter

    ends = ((image >= 1.0 - 1e-3) | (image <= 1e-3)).astype(np.float32)
    return gaussian_filter(ends, CLIP_SIGMA * max(image.shape) / 512.0) > share


def pooled_w1(outputs: list[np.ndarray], profile) -> float:
    """W1 between the outputs' pooled body-region distribution (built exactly like a reference
    profile) and the reference profile: has the *site* moved to the reference?

    The per-image W1 also charges each image for differing from the reference's average, which
    the reference's own images do (its truth row sits near 0.06): a method that gives every image
    the average histogram scores best there. The pooled figure is ~0 for the truth and for any
    method that moves the site as a whole, whatever the spread between images.
    """
    from xray_harmonizer.metrics.distances import wasserstein1
    from xray_harmonizer.reference.profile import ProfileAccumulator

    acc = ProfileAccumulator()
    for o in outputs:
        acc.add(o)
    pooled = acc.finish("outputs")
    return wasserstein1(pooled.body_quantiles, profile.body_quantiles, profile.levels)


def _mean_std(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def harmonize_one(generalizer: Generalizer, source: Prepared, profile: ReferenceProfile
                  ) -> HarmonizeResult:
    """The protocol's per-image step: the app's one harmonize-and-measure path, so a row's
    SSIM and W1 are exactly what the GUI and the CLI show for that image and generalizer."""
    from xray_harmonizer.analysis import harmonize_and_measure

    return harmonize_and_measure(source, generalizer, profile, None, with_map=False)


def measure_row(prepared: list[Prepared], outputs: list[np.ndarray], profile: ReferenceProfile
                ) -> list[tuple[float, float | None]]:
    """(SSIM to the input, W1 to the reference) per image for rows that are not a generalizer
    (original, truth, oracle), by the same :func:`xray_harmonizer.analysis.measure.measure_output`
    the generalizer rows go through: on the input's body mask. An output that *is* its input
    (the original rows) costs no SSIM: it is 1 by definition, and its W1 is the input's."""
    from xray_harmonizer.analysis.measure import measure_output, w1_to_profile

    out: list[tuple[float, float | None]] = []
    for p, o in zip(prepared, outputs):
        if o is p.pixels:
            out.append((1.0, w1_to_profile(p.fine_counts, profile)))
        else:
            f = measure_output(p, o, profile)
            out.append((f.ssim, f.w1_output))
    return out


def score_row(name: str, outputs: list[np.ndarray], measured: list[tuple[float, float | None]],
              site: SiteSet, classifier, profile, seconds: float, *,
              compare_input: bool = True) -> dict:
    """Every figure of one row; ``outputs`` are the images the classifier sees, ``measured``
    their (SSIM to the input, W1 to the reference) from the analysis path."""
    from xray_harmonizer.metrics.psnr import psnr
    from xray_harmonizer.metrics.roc import operating_point, roc_auc
    from xray_harmonizer.metrics.ssim import ssim_map

    row: dict = {"row": name, "n": len(outputs), "seconds": round(seconds, 2)}
    row["w1_to_reference"] = _mean_std([w1 for _, w1 in measured])
    row["w1_pooled"] = pooled_w1(outputs, profile)
    row["ssim_to_input"] = _mean_std([s for s, _ in measured]) if compare_input else None
    if site.truth is not None:
        whole, informative = [], []
        for o, t, field in zip(outputs, site.truth, site.informative):
            mean, smap = ssim_map(o, t)
            whole.append(mean)
            if field.any():
                informative.append(float(smap[field].mean()))
        row["ssim_to_truth"] = _mean_std(whole)
        row["ssim_to_truth_informative"] = _mean_std(informative)
        row["psnr_to_truth"] = _mean_std([min(psnr(o, t), 100.0) for o, t in zip(outputs, site.truth)])
    if site.labels is not None and classifier is not None:
        scores = classifier.predict_batch(outputs)
        r = roc_auc(site.labels, scores, n_bootstrap=2000, seed=0)
        sens, spec = operating_point(site.labels, scores, classifier.threshold)
        row.update(classifier=classifier.name, auc=r.auc, ci_low=r.ci_low, ci_high=r.ci_high,
                   sensitivity=sens, specificity=spec, threshold=classifier.threshold,
                   roc={"fpr": r.fpr.tolist(), "tpr": r.tpr.tolist()}, scores=scores.tolist())
    return row


def run(args: argparse.Namespace, argv: list[str] | None = None) -> dict:
    from xray_harmonizer.analysis import prepare
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.generalizers.registry import discover_generalizers
    from xray_harmonizer.reference.profile import load_profile

    t0 = time.time()
    classifier = ClassifierModel(args.classifier)
    split_file = Path(args.classifier) / "splits.json"
    if args.site_profile:
        site = simulated_site(args.site_profile, args.reference, split_file, args.seed, args.limit,
                              args.split)
    else:
        site = folder_site(args.site, args.labels, args.truth, args.name, args.limit)
    profile = load_profile(args.reference_profile)
    generalizers, refused = discover_generalizers(profile, args.models)
    log.info("%s: %d images; generalizers %s", site.name, len(site.images), [g.name for g in generalizers])
    rows: list[dict] = []
    outputs_by_row: dict[str, list[np.ndarray]] = {}
    prepared = [prepare(im) for im in site.images]  # body mask once per input image

    def add(name: str, outputs: list[np.ndarray], seconds: float, clf=classifier, compare=True,
            measured: list[tuple[float, float | None]] | None = None):
        if measured is None:
            measured = measure_row(prepared, outputs, profile)
        rows.append(score_row(name, outputs, measured, site, clf, profile, seconds,
                              compare_input=compare))
        outputs_by_row[name] = outputs
        r = rows[-1]
        log.info("%-28s AUC %s  SSIM(in) %s  W1 %.4f", name, f"{r['auc']:.3f}" if "auc" in r else "-",
                 f"{r['ssim_to_input']['mean']:.3f}" if r["ssim_to_input"] else "-",
                 r["w1_to_reference"]["mean"])

    add("original", site.images, 0.0, compare=False)
    if site.truth is not None:
        add("truth (upper bound)", site.truth, 0.0)
    for g in generalizers:
        results = [harmonize_one(g, p, profile) for p in prepared]
        add(g.name, [r.harmonized for r in results],
            sum(r.timings["harmonize"] for r in results),
            measured=[(r.ssim, r.w1_harmonized) for r in results])
    if site.truth is not None:
        for size in args.oracle:
            for residual, label in ((False, "transfer"), (True, "residual transfer")):
                t = time.time()
                outs = [oracle_transfer(im, tr, size, residual) for im, tr in zip(site.images, site.truth)]
                add(f"oracle: perfect {size} px network + {label}", outs, time.time() - t)
        if args.oracle:
            t = time.time()
            outs = [clipped_detail_bound(im, tr) for im, tr in zip(site.images, site.truth)]
            add("bound: truth without detail where the chain clipped", outs, time.time() - t)
        if args.oracle and site.replaced is not None:
            # The universal kind's own training target: what the chain replaced stays as the
            # chain left it (training/universal/data.py); its ceiling on the same footing.
            for size in args.oracle:
                t = time.time()
                outs = [oracle_transfer(im, np.where(rep, im, tr), size, True)
                        for im, tr, rep in zip(site.images, site.truth, site.replaced)]
                add(f"bound: perfect {size} px network keeping what the chain replaced + residual "
                    "transfer", outs, time.time() - t)
    if args.augmented and (Path(args.augmented) / "manifest.json").is_file() and site.labels is not None:
        add("site-augmented classifier", site.images, 0.0, clf=ClassifierModel(args.augmented), compare=False)
    elif site.labels is not None:
        log.info("no site-augmented classifier package at %s: row skipped", args.augmented)
    result = {
        "site": site.name, "description": site.description, "n_images": len(site.images),
        "labelled": site.labels is not None, "n_positive": None if site.labels is None else int(site.labels.sum()),
        "classifier": {"name": classifier.name, "label": classifier.label,
                       "reference_site": classifier.reference_site, "threshold": classifier.threshold,
                       "reference_test": classifier.package.manifest.get("evaluation", {}).get("test")},
        "reference_profile": profile.site_id, "seed": args.seed,
        "refused_packages": [str(e) for e in refused],
        "generalizers": [{"name": g.name, "kind": g.kind, "reference_site": g.reference_site,
                          "model_hash": g.model_hash} for g in generalizers],
        "command": "python benchmarks/protocol.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "rows": rows, "seconds": None,
    }
    out = args.out or RESULTS / f"protocol-{site.name}"
    out.mkdir(parents=True, exist_ok=True)
    splits = {"site": site.name, "files": site.files,
              "labels": None if site.labels is None else site.labels.tolist()}
    if split_file.is_file():
        splits["reference_split"] = json.loads(split_file.read_text(encoding="utf-8"))
    (out / "splits.json").write_text(json.dumps(splits, indent=1) + "\n", encoding="utf-8")
    write_plots(out, result, site, outputs_by_row, profile)
    result["seconds"] = round(time.time() - t0, 1)
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "table.md").write_text(write_table(result), encoding="utf-8")
    log.info("wrote %s in %.0f s", out, result["seconds"])
    return result


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--site-profile", help="simulate the new site: bundled profile name or JSON file")
    mode.add_argument("--site", type=Path, help="folder of the new site's images (DICOM or PNG)")
    ap.add_argument("--labels", type=Path, help="CSV with file,label (else NLM names, else unlabeled)")
    ap.add_argument("--truth", type=Path, help="folder of the unshifted images, same file names")
    ap.add_argument("--name", help="site name for the output folder")
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="reference data folder")
    ap.add_argument("--reference-profile", type=Path, default=None, help="default: the bundled profile")
    ap.add_argument("--classifier", type=Path, default=DEFAULT_CLASSIFIER)
    ap.add_argument("--augmented", type=Path, default=DEFAULT_AUGMENTED)
    ap.add_argument("--models", type=Path, nargs="*", default=None,
                    help="folders searched for generalizer packages (default: bundled + user)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images")
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="simulated mode: which reference split goes through the profile "
                         "(val for choosing recipes, test for the reported table)")
    ap.add_argument("--oracle", type=int, nargs="*", default=[],
                    help="simulated/truth mode: add ceiling rows, a perfect network at these "
                         "working sizes + the transfer, and the truth without its detail where "
                         "the chain clipped (read the truth; bounds, not methods)")
    ap.add_argument("--out", type=Path, default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = build_parser().parse_args(argv)
    if args.site is not None and not args.site.is_dir():
        print(f"error: {args.site}: not a folder", file=sys.stderr)
        return 2
    run(args, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
