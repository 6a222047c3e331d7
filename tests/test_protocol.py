"""The evaluation protocol on a handful of images (simulated site, labelled folder, unlabeled folder)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "resources" / "models" / "classifier-kermany-pneumonia"
sys.path.insert(0, str(REPO))

from benchmarks.protocol import main  # noqa: E402

needs_classifier = pytest.mark.skipif(not (BUNDLED / "manifest.json").is_file(),
                                      reason="bundled classifier not trained yet")


@needs_classifier
def test_simulated_site(tmp_path, kermany_dir):
    out = tmp_path / "out"
    empty = tmp_path / "no_models"
    empty.mkdir()
    assert main(["--site-profile", "site_mild", "--limit", "6", "--out", str(out),
                 "--reference", str(kermany_dir), "--models", str(empty)]) == 0
    res = json.loads((out / "results.json").read_text())
    names = [r["row"] for r in res["rows"]]
    assert names[:2] == ["original", "truth (upper bound)"] and len(names) >= 3
    for r in res["rows"]:
        assert 0 <= r["auc"] <= 1 and r["ci_low"] <= r["auc"] <= r["ci_high"]
        assert "ssim_to_truth" in r and "w1_to_reference" in r
    assert res["n_images"] == 6 and res["n_positive"] == 3
    for f in ("table.md", "roc.png", "histograms.png", "examples.png", "splits.json"):
        assert (out / f).is_file()
    assert "| original |" in (out / "table.md").read_text()


@needs_classifier
def test_labelled_dicom_folder_with_truth(tmp_path, kermany_dir):
    from training.sitesim.__main__ import main as sitesim

    truth = tmp_path / "truth"
    truth.mkdir()
    files = ["IM-0129-0001.png", "IM-0133-0001.png"]
    import csv

    rows = list(csv.DictReader(open(kermany_dir / "manifest.csv")))
    files += [r["file"] for r in rows if r["label"] == "pneumonia"][:2]
    for f in files:
        shutil.copy(kermany_dir / f, truth / f)
    site = tmp_path / "site"
    assert sitesim(["--profile", "site_mono1_dr", "--format", "dcm", "-o", str(site), str(truth)]) == 0
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\n" + "".join(
        f"{Path(f).stem}.dcm,{'pneumonia' if i >= 2 else 'normal'}\n" for i, f in enumerate(files)))
    out = tmp_path / "out"
    empty = tmp_path / "no_models"
    empty.mkdir()
    assert main(["--site", str(site), "--labels", str(labels), "--truth", str(truth), "--out", str(out),
                 "--models", str(empty)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["labelled"] and res["n_positive"] == 2
    assert all("ssim_to_truth" in r for r in res["rows"])


def test_unlabeled_folder(tmp_path, nih_dir):
    site = tmp_path / "nih"
    site.mkdir()
    for f in sorted(nih_dir.glob("*.png"))[:3]:
        shutil.copy(f, site / f.name)
    out = tmp_path / "out"
    empty = tmp_path / "no_models"
    empty.mkdir()
    args = ["--site", str(site), "--name", "nih", "--out", str(out), "--models", str(empty)]
    if not (BUNDLED / "manifest.json").is_file():
        pytest.skip("bundled classifier not trained yet")
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    assert not res["labelled"]
    assert all("auc" not in r for r in res["rows"])
    assert res["rows"][1]["ssim_to_input"]["mean"] > 0
    assert not (out / "roc.png").exists() and (out / "histograms.png").is_file()
