"""The evaluation protocol on a handful of images (simulated site, labelled folder, unlabeled folder)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.protocol import main  # noqa: E402


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
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    assert not res["labelled"]
    assert all("auc" not in r for r in res["rows"])
    assert res["rows"][1]["ssim_to_input"]["mean"] > 0
    assert not (out / "roc.png").exists() and (out / "histograms.png").is_file()


def test_pooled_w1_is_zero_for_the_reference_itself_and_sees_a_site_shift() -> None:
    import numpy as np

    from benchmarks.protocol import pooled_w1
    from xray_harmonizer.reference.profile import ProfileAccumulator

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:200, 0:160]
    body = ((yy - 100) ** 2 / 90 ** 2 + (xx - 80) ** 2 / 70 ** 2) < 1
    images = []
    for k in range(4):  # images that differ from each other: per-image W1 would not be 0
        im = np.where(body, 0.3 + 0.1 * k + 0.05 * rng.standard_normal(body.shape), 0.02)
        images.append(np.clip(im, 0, 1).astype(np.float32))
    acc = ProfileAccumulator()
    for im in images:
        acc.add(im)
    profile = acc.finish("ref")
    assert pooled_w1(images, profile) < 1e-3
    shifted = [np.clip(im + np.float32(0.1) * body, 0, 1).astype(np.float32) for im in images]
    assert pooled_w1(shifted, profile) == pytest.approx(0.1, abs=0.02)


def test_clipped_detail_bound_flattens_only_what_the_chain_clipped_solid() -> None:
    """Catches the bound touching the truth where the site image kept information (it would
    understate what a generalizer can reach: half-clipped areas still carry the anatomy through
    their unclipped pixels, and counting them put the "bound" below a real package) or keeping
    the truth's detail where the chain drove every pixel to an end (it would overstate it)."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    from benchmarks.protocol import clipped_detail_bound

    rng = np.random.default_rng(1)
    truth = np.clip(0.5 + 0.1 * rng.standard_normal((512, 400)), 0, 1).astype(np.float32)
    site = np.clip(truth * 0.9, 0, 1)
    site[:200] = 1.0  # the chain clipped the top to white
    site[300:, :] = np.where(rng.random((212, 400)) < 0.6, 1.0, site[300:, :])  # mostly clipped
    out = clipped_detail_bound(site, truth)
    np.testing.assert_array_equal(out[240:], truth[240:])
    top = out[20:180, 20:380]
    assert np.std(top - gaussian_filter(top, 2)) < 0.1 * np.std(truth - gaussian_filter(truth, 2))
    assert abs(float(top.mean()) - float(truth[20:180].mean())) < 0.01


def test_informative_field_leaves_out_shutters_clipping_and_their_windows() -> None:
    """Catches the informative-field SSIM counting what no method can know: a window that
    touches a shutter pixel or a solidly clipped area (the oracle rows read the truth there),
    or leaving out anatomy the site image still carries (a half-clipped, noisy area)."""
    import numpy as np

    from benchmarks.protocol import informative_field

    rng = np.random.default_rng(0)
    site = np.clip(0.5 + 0.05 * rng.standard_normal((256, 200)), 0.01, 0.99).astype(np.float32)
    replaced = np.zeros(site.shape, bool)
    replaced[:20] = True  # a shutter along the top
    site[200:, :60] = 0.0  # clipped solid black
    site[100:150, 120:] = np.where(rng.random((50, 80)) < 0.5, 1.0, site[100:150, 120:])  # half
    field = informative_field(site, replaced)
    assert not field[:23].any() and field[23:30, 10:190].all()  # 3 px: the 7x7 window
    assert not field[197:, :63].any() and field[120:190, 10:50].all()
    assert field[105:145, 125:195].all()  # half clipped still carries the anatomy
    assert not field[:, :3].any() and not field[-3:].any()  # the metric's own border


def test_informative_ssim_ignores_what_lay_under_a_shutter(tmp_path) -> None:
    """Catches the informative column scoring a method for the content under a shutter: an
    output equal to the truth everywhere except there scores 1 on the field, below 1 overall."""
    import numpy as np

    from benchmarks.protocol import SiteSet, score_row
    from xray_harmonizer.reference.profile import load_profile

    rng = np.random.default_rng(2)
    truth = [np.clip(0.4 + 0.1 * rng.standard_normal((128, 96)), 0.05, 0.95).astype(np.float32)
             for _ in range(2)]
    replaced = [np.zeros((128, 96), bool) for _ in truth]
    for r in replaced:
        r[:, :12] = True
    site_images = [np.where(r, 0.9, t).astype(np.float32) for r, t in zip(replaced, truth)]
    site = SiteSet("s", ["a", "b"], site_images, None, truth, "test", replaced)
    row = score_row("kept shutter", site_images, [(1.0, 0.1)] * 2, site, None, load_profile(None), 0.0)
    assert row["ssim_to_truth_informative"]["mean"] > 0.999
    assert row["ssim_to_truth"]["mean"] < 0.95
