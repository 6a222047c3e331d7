"""AUC (Mann-Whitney with ties), ROC points, stratified bootstrap CI, operating points."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from xray_harmonizer.metrics.roc import (
    AucResult,
    operating_point,
    roc_auc,
    roc_curve,
    threshold_at_youden,
)


def _data(n: int = 300, seed: int = 3, shift: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(int)
    s = np.round(rng.normal(y * shift, 1.0), 1)  # rounded: plenty of ties
    return y, s


def test_hand_computed_cases():
    # Pairs (pos, neg): (.9,.5) (.9,.1) (.4,.5) (.4,.1) -> 3 of 4 won.
    assert roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1], n_bootstrap=0).auc == 0.75
    # A tie counts one half: (.5,.5) tie, (.5,.1) win, (.4,.5) loss, (.4,.1) win -> 2.5 / 4.
    assert roc_auc([1, 1, 0, 0], [0.5, 0.4, 0.5, 0.1], n_bootstrap=0).auc == 0.625


def test_perfect_inverted_and_tied():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.arange(6, dtype=float)
    perfect = roc_auc(y, s, n_bootstrap=200)
    assert perfect.auc == 1.0 and perfect.ci_low == 1.0 and perfect.ci_high == 1.0
    assert roc_auc(y, -s, n_bootstrap=200).auc == 0.0
    tied = roc_auc(y, np.zeros(6), n_bootstrap=200)
    assert tied.auc == 0.5 and tied.ci_low == 0.5 and tied.ci_high == 0.5
    assert tied.fpr.tolist() == [0.0, 1.0] and tied.tpr.tolist() == [0.0, 1.0]


def test_equals_mann_whitney_and_roc_area():
    y, s = _data()
    r = roc_auc(y, s, n_bootstrap=0)
    u = mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert r.auc == pytest.approx(u / (r.n_pos * r.n_neg), abs=1e-12)
    assert r.auc == pytest.approx(np.trapezoid(r.tpr, r.fpr), abs=1e-12)
    assert (r.n_pos, r.n_neg) == (150, 150)
    assert np.isnan(r.ci_low) and np.isnan(r.ci_high)


def test_bootstrap_replicates_are_exact_mann_whitney():
    """Rebuild the first replicates from the same draws and score them with scipy."""
    y, s = _data(60)
    pos, neg = s[y == 1], np.sort(s[y == 0])
    n = 5
    rng = np.random.default_rng(11)
    pos_idx = rng.integers(0, pos.size, size=(n, pos.size))
    neg_idx = rng.integers(0, neg.size, size=(n, neg.size))
    expected = [mannwhitneyu(pos[pi], neg[ni]).statistic / (pos.size * neg.size)
                for pi, ni in zip(pos_idx, neg_idx)]
    from xray_harmonizer.metrics.roc import _bootstrap

    got = _bootstrap(pos, s[y == 0], n, np.random.default_rng(11))
    assert got == pytest.approx(expected, abs=1e-12)


def test_ci_is_the_central_95_percent_of_the_replicates():
    """Catches other percentiles than 2.5 / 97.5 (a 93 % or 96 % interval reported as 95 %)
    and defaults other than the documented 2000 replicates with seed 0."""
    from xray_harmonizer.metrics.roc import _bootstrap

    y, s = _data(80)
    r = roc_auc(y, s)
    assert (r.n_bootstrap, r.seed) == (2000, 0)
    boot = _bootstrap(s[y == 1], s[y == 0], 2000, np.random.default_rng(0))
    assert (r.ci_low, r.ci_high) == (np.percentile(boot, 2.5), np.percentile(boot, 97.5))


def test_ci_contains_auc_and_is_deterministic():
    y, s = _data()
    a = roc_auc(y, s, n_bootstrap=2000, seed=5)
    b = roc_auc(y, s, n_bootstrap=2000, seed=5)
    c = roc_auc(y, s, n_bootstrap=2000, seed=6)
    assert a.ci_low < a.auc < a.ci_high
    assert 0.55 < a.ci_low and a.ci_high < 0.85
    assert (a.auc, a.ci_low, a.ci_high) == (b.auc, b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.auc == c.auc


def test_random_scores_give_about_half():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    r = roc_auc(y, rng.random(400), n_bootstrap=1000, seed=1)
    assert r.ci_low < 0.5 < r.ci_high


def test_roc_curve_points_and_thresholds():
    fpr, tpr, thr = roc_curve([1, 1, 0, 0, 1], [0.9, 0.5, 0.5, 0.1, 0.2])
    assert thr[0] == np.inf and thr[1:].tolist() == [0.9, 0.5, 0.2, 0.1]
    assert tpr.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1, 1])
    assert fpr.tolist() == pytest.approx([0, 0, 0.5, 0.5, 1])
    assert not fpr.flags.writeable


def test_operating_point_and_youden():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.4, 0.7, 0.9])
    assert operating_point(y, s, 0.5) == pytest.approx((2 / 3, 2 / 3))
    assert operating_point(y, s, 0.0) == (1.0, 0.0)
    # J: t=.9 -> 1/3, .7 -> 2/3, .6 -> 1/3, .4 -> 2/3, ...: highest threshold among the best.
    t = threshold_at_youden(y, s)
    assert t == 0.7
    sens, spec = operating_point(y, s, t)
    assert sens + spec - 1 == pytest.approx(2 / 3)


def test_operating_point_with_unequal_classes():
    """Catches sensitivity or specificity divided by the other class's count (invisible with
    equal class sizes, as in the test above): 2 positives, 5 negatives."""
    y = np.array([1, 1, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.3, 0.8, 0.2, 0.1, 0.1, 0.0])
    assert operating_point(y, s, 0.5) == pytest.approx((1 / 2, 4 / 5))


def test_result_is_frozen_and_json_able():
    y, s = _data(40)
    r = roc_auc(y, s, n_bootstrap=50)
    assert isinstance(r, AucResult)
    with pytest.raises(AttributeError):
        r.auc = 0.1  # type: ignore[misc]
    d = json.loads(json.dumps(r.to_dict()))
    # Catches a summary that renames or drops a field (reports and manifests read them by
    # name) or writes every threshold as null instead of only the +inf one.
    assert d == {"auc": r.auc, "ci_low": r.ci_low, "ci_high": r.ci_high, "n_pos": r.n_pos,
                 "n_neg": r.n_neg, "n_bootstrap": 50, "seed": 0, "fpr": r.fpr.tolist(),
                 "tpr": r.tpr.tolist(), "thresholds": [None, *r.thresholds[1:].tolist()]}


@pytest.mark.parametrize(
    "labels, scores, message",
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "need both classes, got 3 positives of 3"),
        ([0, 0], [0.1, 0.2], "need both classes, got 0 positives of 2"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "labels must be 0/1 or bool"),
        ([0, 1], [0.1, np.nan], "scores must be finite"),
        ([0, 1, 1], [0.1, 0.2], "labels and scores must be 1-D of equal length: (3,), (2,)"),
    ],
)
def test_bad_inputs(labels, scores, message):
    """Catches a bad input refused with a message that does not say what is wrong."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        roc_auc(labels, scores)


def test_bootstrap_in_several_blocks(monkeypatch):
    """Catches block bookkeeping errors that only show when the replicates do not fit in one
    block (large studies): 7 replicates in blocks of 3 must all be filled, valid and seeded."""
    from xray_harmonizer.metrics import roc

    y, s = _data(40)
    monkeypatch.setattr(roc, "_BLOCK_CASES", 3 * 40)  # blocks of 3 replicates
    a = roc._bootstrap(s[y == 1], s[y == 0], 7, np.random.default_rng(4))
    b = roc._bootstrap(s[y == 1], s[y == 0], 7, np.random.default_rng(4))
    assert a.shape == (7,) and np.all((a > 0) & (a < 1)) and np.array_equal(a, b)
    assert len(set(a.tolist())) > 3  # seven replicates, not one repeated


def test_bool_labels_and_negative_bootstrap():
    r = roc_auc(np.array([True, False, True, False]), [0.9, 0.1, 0.8, 0.2], n_bootstrap=10)
    assert r.auc == 1.0
    with pytest.raises(ValueError, match="n_bootstrap must be >= 0, got -1"):
        roc_auc([0, 1], [0.1, 0.2], n_bootstrap=-1)
