"""Judge a fitted generalizer on the site's held-out images, in plain words with the figures.

Runs on the exported package through the app's own inference (onnxruntime), so what is judged
is what the app will run. Per image: SSIM(output, input), the app's structure guard
(xray_harmonizer/metrics/structure.py: local correlation, blind to intensity changes, flags a
study whose anatomy changed) and the Wasserstein-1 distance of the body region to the reference
profile before and after; with labels, the installed classifier's AUC and specificity (at its
operating threshold) before and after.

Why the verdict reads the structure guard and not SSIM: SSIM also scores the intensity change
that harmonization is for. On the simulated unseen site of benchmarks/wizard_train.py the
*truth* (the image before the simulated chain) has SSIM 0.39 to the site image, and the quick
CycleGAN 0.43 (0.83 to the truth): an SSIM bar would have called it "structure changed".
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

POSITIVE_WORDS = {"1", "true", "yes", "positive", "abnormal", "pneumonia", "tuberculosis", "tb"}


class Harmonizer(Protocol):
    name: str

    def harmonize(self, image: np.ndarray) -> np.ndarray: ...


class Classifier(Protocol):
    label: str
    threshold: float

    def predict_batch(self, images: list[np.ndarray]) -> np.ndarray: ...


@dataclass
class Evaluation:
    images: int
    ssim: float  # mean SSIM(output, input)
    ssim_min: float
    structure_flagged: int  # held-out images the app's structure guard flags (anatomy changed)
    structure_worst: float  # the guard's largest score (its threshold: metrics/structure.py)
    w1_before: float  # mean per-image W1 of the body region to the reference profile
    w1_after: float
    auc_before: float | None = None
    auc_after: float | None = None
    specificity_before: float | None = None
    specificity_after: float | None = None
    sensitivity_before: float | None = None
    sensitivity_after: float | None = None
    labelled: int = 0
    examples: list[str] = field(default_factory=list)  # held-out files shown side by side

    @property
    def w1_change(self) -> float:
        """Relative change of the distance to the reference (-0.78 = down 78 %)."""
        return (self.w1_after - self.w1_before) / self.w1_before if self.w1_before > 0 else 0.0

    @property
    def structure_kept(self) -> bool:
        return self.structure_flagged == 0

    def verdict(self) -> str:
        """One or two plain sentences with the figures."""
        change = self.w1_change
        moved = (f"distance to the reference down {-change:.0%}" if change < 0
                 else f"distance to the reference up {change:.0%}")
        structure = (f"structure kept in all {self.images} images (SSIM {self.ssim:.2f})"
                     if self.structure_kept else
                     f"WARNING: the model changes structure in {self.structure_flagged} of "
                     f"{self.images} images (SSIM {self.ssim:.2f}); do not use it for reading")
        text = f"{structure}; {moved}"
        if self.auc_before is not None and self.auc_after is not None:
            text += (f"; classifier AUC {self.auc_before:.3f} -> {self.auc_after:.3f}, "
                     f"specificity {self.specificity_before:.2f} -> "
                     f"{self.specificity_after:.2f} ({self.labelled} labelled images)")
        good = self.structure_kept and change < -0.1 and (
            self.auc_after is None or self.auc_after >= (self.auc_before or 0) - 0.01)
        return ("Good enough to use: " if good else "Not recommended: ") + text + "."

    def figures(self) -> dict[str, object]:
        """JSON-able figures for the manifest's ``evaluation`` section."""
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()
               if k != "examples" and v is not None}
        out["w1_change"] = round(self.w1_change, 4)
        out["verdict"] = self.verdict()
        return out


def read_labels(spec: str | Path, files: list[Path], positive: str = "") -> dict[Path, int]:
    """Labels of ``files`` (1 = the classifier's finding) from a CSV with ``file`` and ``label``
    columns, or ``nlm`` for the NLM naming (``CHNCXR_0001_0.png``: the last digit is the label).
    Files the source does not name stay unlabelled."""
    if str(spec).lower() == "nlm":
        out = {}
        for f in files:
            tail = f.stem.rpartition("_")[2]
            if tail in ("0", "1"):
                out[f] = int(tail)
        return out
    words = POSITIVE_WORDS | ({positive.lower()} if positive else set())
    by_name: dict[str, int] = {}
    with open(spec, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "file" not in reader.fieldnames \
                or "label" not in reader.fieldnames:
            raise ValueError(f"{spec}: a labels CSV needs 'file' and 'label' columns")
        for row in reader:
            by_name[Path(row["file"]).name] = int(row["label"].strip().lower() in words)
    return {f: by_name[f.name] for f in files if f.name in by_name}


def evaluate(generalizer: Harmonizer, files: list[Path], profile: object, *,
             labels: dict[Path, int] | None = None, classifier: Classifier | None = None,
             max_images: int = 200, examples: int = 3,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> Evaluation:
    """Harmonize up to ``max_images`` held-out ``files`` and measure (see the module doc)."""
    from xray_harmonizer.analysis import prepare
    from xray_harmonizer.analysis.measure import measure_output
    from xray_harmonizer.io import open_image
    from xray_harmonizer.metrics.structure import structure_check

    files = list(files)[:max_images]
    ssims, checks, before, after, scores_in, scores_out, y = [], [], [], [], [], [], []
    for k, path in enumerate(files, 1):
        if cancelled is not None and cancelled():
            raise InterruptedError("evaluation cancelled")
        image = open_image(path).pixels
        out = generalizer.harmonize(image)
        # The app's measurement (xray_harmonizer.analysis): W1 before and after on the input's
        # body mask, SSIM as the app shows it.
        fig = measure_output(prepare(image), out, profile)  # type: ignore[arg-type]
        ssims.append(fig.ssim)
        checks.append(structure_check(image, out))
        before.append(fig.w1_input)
        after.append(fig.w1_output)
        if labels is not None and classifier is not None and path in labels:
            p = classifier.predict_batch([image, out])
            scores_in.append(float(p[0]))
            scores_out.append(float(p[1]))
            y.append(labels[path])
        if progress is not None:
            progress(k, len(files))
    if not files:
        raise ValueError("no held-out images to evaluate on")
    ev = Evaluation(images=len(files), ssim=float(np.mean(ssims)), ssim_min=float(np.min(ssims)),
                    structure_flagged=sum(not c.kept for c in checks),
                    structure_worst=max(c.score for c in checks),
                    w1_before=float(np.mean(before)), w1_after=float(np.mean(after)),
                    examples=[str(f) for f in files[:examples]])
    if y and 0 < sum(y) < len(y):
        from xray_harmonizer.metrics.roc import operating_point, roc_auc

        lab = np.asarray(y)
        thr = float(classifier.threshold)  # type: ignore[union-attr]
        ev.labelled = len(y)
        ev.auc_before = float(roc_auc(lab, np.asarray(scores_in)).auc)
        ev.auc_after = float(roc_auc(lab, np.asarray(scores_out)).auc)
        ev.sensitivity_before, ev.specificity_before = operating_point(
            lab, np.asarray(scores_in), thr)
        ev.sensitivity_after, ev.specificity_after = operating_point(
            lab, np.asarray(scores_out), thr)
    return ev
