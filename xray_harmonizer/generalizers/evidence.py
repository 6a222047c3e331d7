"""Why a generalizer is, or is not, recommended: its protocol figures and a stated bar.

A package's manifest ``evaluation`` holds one ``protocol_<site>`` section per simulated site it
was scored on (``benchmarks/protocol.py``: the classifier's test split through a bundled site
profile, so the truth is known) and, when measured, ``lesions`` (contrast of inserted opacities
kept after harmonization). The bar, on every simulated site in the manifest:

- AUC within ``max_auc_gap`` (0.03) of the truth AUC (the classifier on the unshifted images);
- specificity at the classifier's operating threshold >= ``min_specificity`` (0.5; the truth
  has 0.98 - a package that calls everyone positive keeps a high AUC but is useless);
- lesion contrast kept at the 10th percentile >= ``min_lesion_contrast`` (0.75), when measured.

A package with no simulated-site figures cannot be judged and is experimental too. Histogram
matching has no manifest; its figures are read from the protocol results when the repository's
``benchmarks/results`` is there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xray_harmonizer.generalizers.base import Generalizer

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@dataclass(frozen=True)
class Bar:
    max_auc_gap: float = 0.03
    min_specificity: float = 0.5
    min_lesion_contrast: float = 0.75

    def describe(self) -> str:
        return (f"on every simulated site: AUC within {self.max_auc_gap:.2f} of the truth, "
                f"specificity >= {self.min_specificity:.2f}; lesion contrast kept >= "
                f"{self.min_lesion_contrast:.0%} (10th percentile) when measured")


BAR = Bar()


@dataclass(frozen=True)
class SiteFigures:
    site: str
    auc: float
    truth_auc: float
    specificity: float
    ssim: float | None


@dataclass(frozen=True)
class Evidence:
    """What a generalizer was fitted to and how it measured."""

    fitted_to: str
    sites: tuple[SiteFigures, ...]
    lesion_contrast_p10: float | None
    failures: tuple[str, ...]  # why it misses the bar; empty when it passes
    baseline: bool = False  # histogram matching: no training, shown as the baseline

    @property
    def experimental(self) -> bool:
        return bool(self.failures) and not self.baseline

    @property
    def meets_bar(self) -> bool:
        return not self.failures

    @property
    def worst_auc_gap(self) -> float:
        return max((s.truth_auc - s.auc for s in self.sites), default=float("inf"))

    def summary(self) -> str:
        """Several short lines for a tooltip or the analysis panel."""
        lines = [f"Fitted to: {self.fitted_to}"]
        for s in self.sites:
            ssim = f", SSIM to its input {s.ssim:.2f}" if s.ssim is not None else ""
            lines.append(f"{s.site}: AUC {s.auc:.3f} (truth {s.truth_auc:.3f}), "
                         f"specificity {s.specificity:.2f}{ssim}")
        if not self.sites:
            lines.append("No protocol figures on simulated sites.")
        if self.lesion_contrast_p10 is not None:
            lines.append(f"Lesion contrast kept (10th percentile): {self.lesion_contrast_p10:.0%}")
        verdict = "Baseline, misses the bar: " if self.baseline else "Experimental: "
        lines.append(verdict + "; ".join(self.failures) if self.failures
                     else "Meets the bar (" + BAR.describe() + ")")
        return "\n".join(lines)


def _fitted_to(manifest: dict[str, Any]) -> str:
    training = manifest.get("training") or {}
    site = (manifest.get("site") or {}).get("site")
    universal = manifest.get("generalizer_kind") == "universal"
    if isinstance(site, str) and site:  # a package made by `train site` / the wizard
        return (f"the site's own images ({site}), fine-tuned from the universal generalizer"
                if universal else f"the site's own images ({site})")
    if universal:
        return "randomized simulated imaging chains (no site of its own)"
    data = training.get("data") or {}
    profile = data.get("profile")
    if isinstance(profile, list):
        return f"a mix of simulated sites ({', '.join(profile)})"
    if profile == "nih-real":
        return "real NIH ChestX-ray14 images (half of the patients)"
    if profile:
        return f"simulated site {profile}"
    return "not recorded in its manifest"


def site_order(site: str) -> tuple[int, list[str | int]]:
    """Sort key for sites: the bundled profiles (``site_*``) first, then the evaluation chains
    (``random_*``) in numeric order (random_eval_2 before random_eval_10), then anything else."""
    natural: list[str | int] = [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", site)]
    return (0 if site.startswith("site_") else 1 if site.startswith("random_") else 2, natural)


def _sites(evaluation: dict[str, Any]) -> tuple[SiteFigures, ...]:
    out = []
    for key, section in sorted(evaluation.items(), key=lambda item: site_order(item[0].removeprefix("protocol_"))):
        if not key.startswith("protocol_"):
            continue
        mine, truth = section.get("this_generalizer") or {}, section.get("truth") or {}
        if mine.get("auc") is None or truth.get("auc") is None:
            continue  # a real site without labels/truth: nothing to judge
        ssim = (mine.get("ssim_to_input") or {}).get("mean")
        out.append(SiteFigures(str(section.get("site", key[9:])), float(mine["auc"]),
                               float(truth["auc"]), float(mine.get("specificity") or 0.0),
                               None if ssim is None else float(ssim)))
    return tuple(out)


def _lesion_p10(evaluation: dict[str, Any]) -> float | None:
    """The worst 10th-percentile lesion contrast kept over every site and lesion size in
    ``evaluation.lesions`` (written by ``benchmarks/lesions.py --annotate``), or None."""
    lesions = evaluation.get("lesions")
    if not isinstance(lesions, dict):
        return None
    values = [float(size["p10"])
              for site in (lesions.get("sites") or {}).values() if isinstance(site, dict)
              for size in (site.get("contrast_kept") or {}).values()
              if isinstance(size, dict) and isinstance(size.get("p10"), (int, float))]
    return min(values) if values else None


def judge(fitted_to: str, sites: tuple[SiteFigures, ...], lesion: float | None,
          bar: Bar = BAR, baseline: bool = False) -> Evidence:
    failures = []
    if not sites:
        failures.append("no figures on simulated sites")
    for s in sites:
        if s.truth_auc - s.auc > bar.max_auc_gap:
            failures.append(f"AUC {s.auc:.3f} on {s.site} is {s.truth_auc - s.auc:.3f} below "
                            f"the truth")
        if s.specificity < bar.min_specificity:
            failures.append(f"specificity {s.specificity:.2f} on {s.site}")
    if lesion is not None and lesion < bar.min_lesion_contrast:
        failures.append(f"keeps only {lesion:.0%} of lesion contrast (10th percentile)")
    return Evidence(fitted_to, sites, lesion, tuple(failures), baseline)


def manifest_evidence(manifest: dict[str, Any], bar: Bar = BAR) -> Evidence:
    evaluation = manifest.get("evaluation") or {}
    return judge(_fitted_to(manifest), _sites(evaluation), _lesion_p10(evaluation), bar)


def histogram_evidence(results_dir: Path = RESULTS_DIR, bar: Bar = BAR) -> Evidence:
    """Histogram matching's figures from the protocol results (one ``results.json`` per site)."""
    sites = []
    seen: set[str] = set()
    # Sorted, so "protocol-site_mild" comes before a later run of the same site
    # ("protocol-site_mild-universal"): each site is listed once, from its main run.
    for path in sorted(results_dir.glob("protocol-site_*/results.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if str(result.get("site")) in seen:
            continue
        rows = {r.get("row"): r for r in result.get("rows", [])}
        mine, truth = rows.get("Histogram matching"), rows.get("truth (upper bound)")
        if not mine or not truth or mine.get("auc") is None:
            continue
        ssim = (mine.get("ssim_to_input") or {}).get("mean")
        seen.add(str(result.get("site")))
        sites.append(SiteFigures(str(result.get("site")), float(mine["auc"]),
                                 float(truth["auc"]), float(mine.get("specificity") or 0.0),
                                 None if ssim is None else float(ssim)))
    return judge("the reference profile (a lookup table, no training)", tuple(sites), None, bar,
                 baseline=True)


def evidence_for(generalizer: Generalizer) -> Evidence:
    package = getattr(generalizer, "package", None)
    if package is not None:
        return manifest_evidence(package.manifest)
    if generalizer.kind == "histogram":
        return histogram_evidence()
    return judge("not recorded (no model package)", (), None)


def passes_bar(package: Any) -> bool:
    """True when a model package's manifest figures meet :data:`BAR`."""
    return manifest_evidence(package.manifest).meets_bar


def recommend(generalizers: list[Generalizer],
              evidence: dict[str, Evidence] | None = None) -> Generalizer | None:
    """The default: among generalizers that meet the bar, a ``universal`` one first, then the
    smallest worst-site AUC gap; histogram matching when no package meets it."""
    if not generalizers:
        return None
    evidence = evidence or {g.name: evidence_for(g) for g in generalizers}
    passing = [g for g in generalizers
               if evidence[g.name].meets_bar and not evidence[g.name].baseline]
    if passing:
        return min(passing, key=lambda g: (g.kind != "universal",
                                           evidence[g.name].worst_auc_gap))
    histogram = [g for g in generalizers if g.kind == "histogram"]
    return histogram[0] if histogram else None
