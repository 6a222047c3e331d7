"""ROC curve and AUC with a stratified bootstrap 95% confidence interval.

The AUC is the Mann-Whitney statistic ``P(score_pos > score_neg) + 0.5 P(equal)``, which is
the area under the full (trapezoidal) ROC curve, as ``sklearn.metrics.roc_auc_score``.

The bootstrap resamples positives and negatives separately (stratified: each replicate keeps
the class counts, so every replicate has an AUC) with a seeded ``np.random.Generator``. It is
vectorised: negatives are sorted once, each replicate's negative multiplicities are counted and
cumulated, and every sampled positive looks up how many sampled negatives lie below / at its
score, so 2000 replicates of a few hundred cases take milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AucResult", "operating_point", "roc_auc", "roc_curve", "threshold_at_youden"]

# Bootstrap replicates are processed in blocks of about this many sampled cases (memory bound).
_BLOCK_CASES = 4_000_000


@dataclass(frozen=True, eq=False)
class AucResult:
    """AUC, its 95% percentile-bootstrap interval and the ROC points.

    ``fpr``, ``tpr`` and ``thresholds`` (float64, read-only, same length) are the ROC curve's
    points from (0, 0) at threshold +inf to (1, 1); a case is called positive when its score
    is >= the threshold. ``ci_low``/``ci_high`` are NaN when ``n_bootstrap`` was 0.
    """

    auc: float
    ci_low: float
    ci_high: float
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_pos: int
    n_neg: int
    n_bootstrap: int = 0
    seed: int = 0

    def to_dict(self) -> dict:
        """JSON-able summary (ROC points as lists)."""
        return {
            "auc": self.auc, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "n_pos": self.n_pos, "n_neg": self.n_neg,
            "n_bootstrap": self.n_bootstrap, "seed": self.seed,
            "fpr": self.fpr.tolist(), "tpr": self.tpr.tolist(),
            # JSON has no infinity: the first threshold (+inf) is written as null.
            "thresholds": [None if not np.isfinite(t) else float(t) for t in self.thresholds],
        }


def roc_auc(
    labels: np.ndarray, scores: np.ndarray, n_bootstrap: int = 2000, seed: int = 0
) -> AucResult:
    """AUC with a 95% stratified percentile-bootstrap confidence interval, and the ROC curve.

    Parameters
    ----------
    labels : array-like
        Shape (n,), bool or 0/1: 1 = positive class.
    scores : array-like
        Shape (n,), finite floats; higher = more likely positive.
    n_bootstrap : int
        Bootstrap replicates (0: no interval).
    seed : int
        Seed of the ``np.random.Generator`` drawing the replicates.

    Returns
    -------
    AucResult

    Raises
    ------
    ValueError
        On mismatched lengths, labels other than 0/1, non-finite scores, or a missing class.
    """
    y, s = _check(labels, scores)
    pos, neg = s[y], s[~y]
    auc = _auc_point(pos, neg)
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    if n_bootstrap:
        boot = _bootstrap(pos, neg, n_bootstrap, np.random.default_rng(seed))
        low, high = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    else:
        low = high = float("nan")
    fpr, tpr, thresholds = roc_curve(y, s)
    return AucResult(auc, low, high, fpr, tpr, thresholds, int(pos.size), int(neg.size),
                     int(n_bootstrap), int(seed))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points at every distinct score (no points dropped).

    Returns
    -------
    fpr, tpr, thresholds : np.ndarray
        float64, shape (k + 1,) for k distinct scores; thresholds decrease from +inf.
    """
    y, s = _check(labels, scores)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    # The last index of each run of equal scores: all tied cases switch at once.
    last = np.flatnonzero(np.diff(s_sorted) != 0)
    last = np.append(last, s.size - 1)
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    fpr = np.concatenate([[0.0], fp / (s.size - y.sum())])
    tpr = np.concatenate([[0.0], tp / y.sum()])
    thresholds = np.concatenate([[np.inf], s_sorted[last]])
    for a in (fpr, tpr, thresholds):
        a.setflags(write=False)
    return fpr, tpr, thresholds


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    """Sensitivity and specificity when ``score >= threshold`` is called positive.

    Returns
    -------
    sensitivity, specificity : float
        In [0, 1].
    """
    y, s = _check(labels, scores)
    called = s >= threshold
    sensitivity = float(np.count_nonzero(called & y) / np.count_nonzero(y))
    specificity = float(np.count_nonzero(~called & ~y) / np.count_nonzero(~y))
    return sensitivity, specificity


def threshold_at_youden(labels: np.ndarray, scores: np.ndarray) -> float:
    """Score threshold maximising Youden's J = sensitivity + specificity - 1.

    Ties go to the highest such threshold (fewest positive calls). The threshold is one of
    the observed scores, used as ``score >= threshold``.
    """
    fpr, tpr, thresholds = roc_curve(labels, scores)
    j = tpr[1:] - fpr[1:]  # skip the +inf point (J = 0, no case called positive)
    # Equal J values can differ in the last bit (1 - 1/3 vs 2/3): compare with a tolerance.
    best = int(np.flatnonzero(j >= j.max() - 1e-12)[0])
    return float(thresholds[1:][best])


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"labels and scores must be 1-D of equal length: {y.shape}, {s.shape}")
    if y.dtype != np.bool_:
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("labels must be 0/1 or bool")
        y = y.astype(bool)
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    n_pos = int(np.count_nonzero(y))
    if n_pos == 0 or n_pos == y.size:
        raise ValueError(f"need both classes, got {n_pos} positives of {y.size}")
    return y, s


def _auc_point(pos: np.ndarray, neg: np.ndarray) -> float:
    neg_sorted = np.sort(neg)
    below = np.searchsorted(neg_sorted, pos, side="left")
    at_or_below = np.searchsorted(neg_sorted, pos, side="right")
    return float((below + at_or_below).sum() / (2.0 * pos.size * neg.size))


def _bootstrap(pos: np.ndarray, neg: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """AUC of ``n`` stratified bootstrap replicates, float64 shape (n,)."""
    n_pos, n_neg = pos.size, neg.size
    neg_sorted = np.sort(neg)
    # For each original positive, how many (sorted) negatives lie strictly below / at or below it.
    below = np.searchsorted(neg_sorted, pos, side="left")
    at_or_below = np.searchsorted(neg_sorted, pos, side="right")
    out = np.empty(n, np.float64)
    block = max(1, _BLOCK_CASES // (n_pos + n_neg))
    for start in range(0, n, block):
        b = min(block, n - start)
        # Draw order fixed (positives, then negatives, per block) so a seed gives one answer.
        pos_idx = rng.integers(0, n_pos, size=(b, n_pos))
        neg_idx = rng.integers(0, n_neg, size=(b, n_neg))
        # counts[r, j]: how often replicate r drew the j-th smallest negative.
        flat = (np.arange(b)[:, None] * n_neg + neg_idx).ravel()
        counts = np.bincount(flat, minlength=b * n_neg).reshape(b, n_neg)
        cum = np.zeros((b, n_neg + 1), np.int64)
        np.cumsum(counts, axis=1, out=cum[:, 1:])
        rows = np.arange(b)[:, None]
        wins2 = cum[rows, below[pos_idx]] + cum[rows, at_or_below[pos_idx]]  # 2*(less + tie/2)
        out[start : start + b] = wins2.sum(axis=1) / (2.0 * n_pos * n_neg)
    return out
