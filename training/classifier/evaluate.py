"""AUC with a bootstrap CI (the app's metrics.roc) and operating points for training reports."""

from __future__ import annotations

from typing import Any

import numpy as np


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half."""
    from scipy.stats import rankdata

    pos = labels == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_ci(labels: np.ndarray, scores: np.ndarray, n_bootstrap: int = 2000,
           seed: int = 0) -> dict[str, float]:
    """AUC and its 95% bootstrap CI as a JSON-able dict."""
    from xray_harmonizer.metrics.roc import roc_auc

    r = roc_auc(np.asarray(labels).astype(int), np.asarray(scores, dtype=np.float64),
                n_bootstrap=n_bootstrap, seed=seed)
    return {"auc": float(r.auc), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high)}


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Threshold maximising sensitivity + specificity (chosen on the validation split)."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    candidates = np.unique(scores)
    best, best_t = -1.0, 0.5
    for t in candidates:
        pred = scores >= t
        j = pred[labels == 1].mean() + (~pred[labels == 0]).mean()
        if j > best:
            best, best_t = j, float(t)
    return best_t


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Sensitivity and specificity at ``threshold`` (score >= threshold is positive)."""
    labels = np.asarray(labels).astype(int)
    pred = np.asarray(scores) >= threshold
    return {"threshold": float(threshold),
            "sensitivity": float(pred[labels == 1].mean()) if (labels == 1).any() else float("nan"),
            "specificity": float((~pred[labels == 0]).mean()) if (labels == 0).any() else float("nan")}
