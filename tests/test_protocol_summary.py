"""benchmarks/protocol_summary.py: the method x site tables (AUC, specificity, SSIM to truth)."""

from __future__ import annotations

import json

from benchmarks.protocol_summary import matrix_summary


def _write(root, folder, site, rows, labelled=True):
    d = root / folder
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps({"site": site, "labelled": labelled, "rows": rows}))


def test_specificity_table_per_method_and_site_with_merged_runs(tmp_path):
    """Catches specificity missing from the summary, a second run of a site (one more package)
    becoming a separate column or overwriting the first run's rows, and unlabelled sites in it."""
    truth = {"row": "truth (upper bound)", "auc": 0.991, "specificity": 0.98, "ssim_to_truth": {"mean": 1.0}}
    _write(tmp_path, "protocol-site_a", "site_a",
           [truth, {"row": "Histogram matching", "auc": 0.93, "specificity": 0.71, "ssim_to_truth": {"mean": 0.6}}])
    _write(tmp_path, "protocol-site_a-universal", "site_a",
           [{**truth, "specificity": 0.5}, {"row": "Universal", "auc": 0.98, "specificity": 0.88,
                                            "ssim_to_truth": {"mean": 0.9}}])
    _write(tmp_path, "protocol-random_eval_1", "random_eval_1",
           [truth, {"row": "Universal", "auc": 0.97, "specificity": 0.9, "ssim_to_truth": {"mean": 0.8}}])
    _write(tmp_path, "protocol-nih", "nih", [{"row": "original"}], labelled=False)
    md = matrix_summary(tmp_path)
    spec = md.split("*Specificity")[1].split("*SSIM")[0]
    assert "| method | site_a | random_eval_1 |" in spec
    assert "| truth (upper bound) | 0.98 | 0.98 |" in spec
    assert "| Histogram matching | 0.71 | – |" in spec
    assert "| Universal | 0.88 | 0.90 |" in spec
    assert "nih" not in md


def test_sites_numbered_past_nine_keep_their_order(tmp_path):
    """Catches random_eval_10 sorted between random_eval_1 and random_eval_2 (a string sort),
    which put the columns of the summary out of order once there were ten evaluation chains."""
    truth = {"row": "truth (upper bound)", "auc": 0.991, "specificity": 0.98, "ssim_to_truth": {"mean": 1.0}}
    for k in (10, 2, 1):
        _write(tmp_path, f"protocol-random_eval_{k}", f"random_eval_{k}", [truth])
    _write(tmp_path, "protocol-site_b", "site_b", [truth])
    md = matrix_summary(tmp_path)
    assert "| method | site_b | random_eval_1 | random_eval_2 | random_eval_10 |" in md


def test_a_later_run_fills_a_figure_the_first_lacks_but_never_overwrites(tmp_path):
    """Catches the informative-field SSIM column staying empty for rows (truth, histogram
    matching) whose first run predates it although a later run of the same site scored it, and
    a later run overwriting a figure the first run already has."""
    hm = {"row": "Histogram matching", "auc": 0.93, "specificity": 0.71, "ssim_to_truth": {"mean": 0.6}}
    _write(tmp_path, "protocol-site_a", "site_a", [hm])
    _write(tmp_path, "protocol-site_a-universal", "site_a",
           [{**hm, "specificity": 0.2, "ssim_to_truth_informative": {"mean": 0.65}}])
    md = matrix_summary(tmp_path)
    assert "| Histogram matching | 0.71 |" in md.split("*Specificity")[1].split("*SSIM")[0]
    assert "| Histogram matching | 0.650 |" in md.split("informative field*")[1]
