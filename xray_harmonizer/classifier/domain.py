"""Is an image inside the classifier's domain (a frontal chest radiograph)?

The classifier answers for any array it is given: a hip got 4.7 % -> 16.7 % "pneumonia". Its
probability is therefore shown only for images this guard accepts; otherwise the reason is.

Two kinds of evidence:

- DICOM tags, when present: ``Modality`` (CR/DX/DR only), ``BodyPartExamined`` (chest only) and
  ``ViewPosition`` (frontal only). A tag that says otherwise decides.
- The image itself, scored against reference data (Kermany train split + half of the NIH
  patients, so adult chests are in the domain) on the crop the classifier sees:
  ``layout`` - a 16x16 rank-transformed thumbnail (intensity-free, so a new site's contrast does
  not count, only where dark and bright regions are), PCA Mahalanobis + residual;
  ``features`` - Mahalanobis distance of the classifier's penultimate features (texture: catches
  photos, text, noise); ``contrast`` - the crop's standard deviation (a blank image).
  Thresholds and the separation they give are measured by ``benchmarks/domain_calibration.py``
  and stored with the reference in the classifier package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:  # the DICOM header, for the tag checks; only typed here
    from pydicom import Dataset

CHEST_MODALITIES = ("CR", "DX", "DR")
CHEST_BODY_PARTS = ("CHEST", "THORAX", "LUNG", "")
FRONTAL_VIEWS = ("PA", "AP", "")
LAYOUT_SIZE = 16


@dataclass(frozen=True)
class DomainVerdict:
    """``in_domain`` False comes with a one-line ``reason`` the panel shows instead of a number."""

    in_domain: bool
    reason: str | None = None
    scores: dict[str, float] = field(default_factory=dict)


def _tag(dataset: Dataset | None, keyword: str) -> str:
    return str(getattr(dataset, keyword, "") or "").strip().upper()


def tag_reason(dataset: Dataset | None) -> str | None:
    """Why the DICOM tags say the image is not a frontal chest radiograph, or None."""
    if dataset is None:
        return None
    modality = _tag(dataset, "Modality")
    if modality and modality not in CHEST_MODALITIES:
        return f"not a radiograph (Modality {modality})"
    part = _tag(dataset, "BodyPartExamined")
    if part not in CHEST_BODY_PARTS:
        return f"not a chest radiograph (BodyPartExamined {part})"
    view = _tag(dataset, "ViewPosition")
    if view not in FRONTAL_VIEWS:
        return f"not a frontal chest view (ViewPosition {view})"
    return None


def layout_vector(crop: np.ndarray) -> np.ndarray:
    """Rank transform of the crop's 16x16 thumbnail, float64 (256,) in [0, 1]."""
    small = np.asarray(Image.fromarray(np.asarray(crop, dtype=np.float32), mode="F").resize(
        (LAYOUT_SIZE, LAYOUT_SIZE), Image.Resampling.BILINEAR)).ravel()
    ranks = np.argsort(np.argsort(small, kind="stable"), kind="stable")
    return ranks / (small.size - 1.0)


@dataclass(frozen=True)
class DomainReference:
    """Reference statistics and thresholds (``domain_reference.npz`` + the manifest's
    ``domain`` section of a classifier package)."""

    layout_mean: np.ndarray  # (256,)
    layout_axes: np.ndarray  # (k, 256) principal axes
    layout_var: np.ndarray  # (k,) variance along them
    layout_residual_var: float
    feature_mean: np.ndarray  # (F,) of log1p(features)
    feature_precision: np.ndarray  # (F, F) inverse of the shrunk covariance
    layout_threshold: float
    feature_threshold: float
    min_contrast: float

    @classmethod
    def fit(cls, layouts: np.ndarray, features: np.ndarray, *, axes: int = 10,
            shrink: float = 0.1) -> DomainReference:
        """Statistics from in-domain reference rows (thresholds are set by calibration)."""
        mean = layouts.mean(axis=0)
        _, s, vt = np.linalg.svd(layouts - mean, full_matrices=False)
        v = vt[:axes]
        centred = layouts - mean
        residual = centred - centred @ v.T @ v
        logf = np.log1p(features)
        cov = np.cov(logf, rowvar=False)
        cov = (1 - shrink) * cov + shrink * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
        return cls(mean, v, s[:axes] ** 2 / (len(layouts) - 1),
                   float((residual ** 2).sum(axis=1).mean()), logf.mean(axis=0),
                   np.linalg.inv(cov), np.inf, np.inf, 0.0)

    def layout_score(self, layouts: np.ndarray) -> np.ndarray:
        """RMS of the PCA Mahalanobis distance and the normalised residual, per row."""
        z = np.atleast_2d(layouts) - self.layout_mean
        proj = z @ self.layout_axes.T
        maha = (proj ** 2 / self.layout_var).sum(axis=1) / len(self.layout_var)
        res = ((z - proj @ self.layout_axes) ** 2).sum(axis=1) / self.layout_residual_var
        return np.sqrt((maha + res) / 2.0)

    def feature_score(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of log1p(features), divided by sqrt(dimension), per row."""
        z = np.log1p(np.atleast_2d(features)) - self.feature_mean
        d2 = np.einsum("ij,jk,ik->i", z, self.feature_precision, z)
        return np.sqrt(np.maximum(d2, 0.0) / z.shape[1])

    def verdict(self, crop: np.ndarray, features: np.ndarray) -> DomainVerdict:
        """Judge one classifier-input crop (float32 (S, S)) and its penultimate features."""
        contrast = float(np.std(crop))
        layout = float(self.layout_score(layout_vector(crop)[None])[0])
        feature = float(self.feature_score(np.asarray(features, dtype=np.float64)[None])[0])
        scores = {"contrast": round(contrast, 4), "layout": round(layout, 3),
                  "features": round(feature, 3)}
        if contrast < self.min_contrast:
            return DomainVerdict(False, f"blank image (contrast {contrast:.3f})", scores)
        if layout > self.layout_threshold:
            return DomainVerdict(False, f"does not look like a chest radiograph (layout score "
                                 f"{layout:.2f} > {self.layout_threshold:.2f})", scores)
        if feature > self.feature_threshold:
            return DomainVerdict(False, f"unlike the classifier's training images (feature "
                                 f"score {feature:.2f} > {self.feature_threshold:.2f})", scores)
        return DomainVerdict(True, None, scores)

    def save(self, path: Path) -> dict[str, float]:
        """Write the arrays (npz, no pickle); returns the thresholds for the manifest."""
        with open(path, "wb") as fh:
            np.savez(fh, layout_mean=self.layout_mean, layout_axes=self.layout_axes,
                     layout_var=self.layout_var, feature_mean=self.feature_mean,
                     feature_precision=self.feature_precision.astype(np.float32),
                     layout_residual_var=np.float64(self.layout_residual_var))
        return {"layout_threshold": self.layout_threshold,
                "feature_threshold": self.feature_threshold, "min_contrast": self.min_contrast}

    @classmethod
    def load(cls, path: Path, thresholds: dict[str, float]) -> DomainReference:
        """Read arrays saved by :meth:`save` (``allow_pickle=False``: data only, never code)."""
        with np.load(path, allow_pickle=False) as z:
            return cls(z["layout_mean"], z["layout_axes"], z["layout_var"],
                       float(z["layout_residual_var"]), z["feature_mean"],
                       z["feature_precision"].astype(np.float64),
                       float(thresholds["layout_threshold"]),
                       float(thresholds["feature_threshold"]), float(thresholds["min_contrast"]))
