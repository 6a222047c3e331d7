"""Checks that the classifier does not read the known Kermany shortcuts.

* Compression: pneumonia JPEGs were compressed much harder than normals. Re-encode the test
  images (all of them, or only the normals) at one strong JPEG quality: a network that reads
  compression would lose AUC, most of all when only the normals are recompressed.
* Geometry: aspect ratio and size differ by class. The network sees a square centre crop (no
  letterbox), so the aspect ratio cannot reach it as a border; we report the AUC of the aspect
  ratio alone (the strength of the shortcut), the AUC after cropping every image to one aspect
  ratio (4:3), the AUC over pairs of images from the same aspect-ratio quartile (what is left
  when the aspect ratio cannot separate the pair), and the within-class rank correlation
  between score and aspect ratio.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image
from scipy.stats import spearmanr

from .evaluate import _auc

Predict = Callable[[list[np.ndarray]], np.ndarray]


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.round(image * 255).astype(np.uint8), mode="L").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im, dtype=np.float32) / 255.0


def crop_aspect(image: np.ndarray, aspect: float) -> np.ndarray:
    """Centre crop to width / height = ``aspect``."""
    h, w = image.shape
    if w / h > aspect:
        nw = int(round(h * aspect))
        x0 = (w - nw) // 2
        return np.ascontiguousarray(image[:, x0:x0 + nw])
    nh = int(round(w / aspect))
    y0 = (h - nh) // 2
    return np.ascontiguousarray(image[y0:y0 + nh, :])


def stratified_auc(labels: np.ndarray, scores: np.ndarray, strata: np.ndarray) -> float:
    """AUC over (positive, negative) pairs from the same stratum only (ties count half)."""
    num, den = 0.0, 0
    for s in np.unique(strata):
        sel = strata == s
        pos, neg = scores[sel & (labels == 1)], scores[sel & (labels == 0)]
        if len(pos) and len(neg):
            diff = pos[:, None] - neg[None, :]
            num += float((diff > 0).sum() + 0.5 * (diff == 0).sum())
            den += diff.size
    return num / den if den else float("nan")


def aspect_strata(aspect: np.ndarray, n_bins: int = 4) -> np.ndarray:
    """Quantile bins of the aspect ratio (width / height)."""
    edges = np.quantile(aspect, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.digitize(aspect, edges)


def shortcut_checks(predict: Predict, images: list[np.ndarray], labels: np.ndarray,
                    quality: int = 30) -> dict[str, float | dict[str, float]]:
    """AUCs of the shortcut checks on the test images (see the module docstring)."""
    labels = np.asarray(labels).astype(int)
    base = predict(images)
    all_jpeg = predict([jpeg_roundtrip(im, quality) for im in images])
    normals_jpeg = predict([jpeg_roundtrip(im, quality) if y == 0 else im for im, y in zip(images, labels)])
    common = predict([crop_aspect(im, 4 / 3) for im in images])
    aspect = np.array([im.shape[1] / im.shape[0] for im in images])
    a_auc = _auc(labels, aspect)
    strata = aspect_strata(aspect)
    within = {}
    for y, name in ((0, "normal"), (1, "positive")):
        sel = labels == y
        within[name] = float(spearmanr(base[sel], aspect[sel]).statistic) if sel.sum() > 2 else float("nan")
    return {
        "auc": _auc(labels, base),
        f"auc_all_jpeg_q{quality}": _auc(labels, all_jpeg),
        f"auc_normals_only_jpeg_q{quality}": _auc(labels, normals_jpeg),
        "auc_common_aspect_4x3": _auc(labels, common),
        "auc_aspect_ratio_alone": float(max(a_auc, 1 - a_auc)),
        "auc_within_aspect_quartiles": stratified_auc(labels, base, strata),
        "auc_aspect_ratio_alone_within_aspect_quartiles": float(
            max(stratified_auc(labels, aspect, strata), 1 - stratified_auc(labels, aspect, strata))),
        "spearman_score_vs_aspect_within_class": within,
    }
