"""Classifier: datasets and splits, training + ONNX package on a tiny NLM folder, the bundled package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training.classifier.dataset import discover, split_by_patient
from xray_harmonizer.models.package import PackageError, load_package

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "resources" / "models" / "classifier-kermany-pneumonia"


def _nlm_folder(tmp_path: Path, n: int = 10) -> Path:
    from PIL import Image

    folder = tmp_path / "nlm" / "CXR_png"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        label = i % 2
        img = rng.random((80, 96)) * 0.3 + 0.4 * label  # trivially separable
        name = f"{'CHNCXR' if i < n // 2 else 'MCUCXR'}_{i + 1:04d}_{label}.png"
        Image.fromarray((img * 255).astype(np.uint8), mode="L").save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return folder.parent


def test_nlm_layout_labels(tmp_path):
    root = _nlm_folder(tmp_path)
    samples = discover(root)
    assert len(samples) == 10
    assert all(s.label == int(s.path.stem[-1]) for s in samples)
    assert samples[0].patient == "CHNCXR_0001"


def test_split_by_patient_disjoint_and_seeded(kermany_dir):
    samples = discover(kermany_dir)
    a, b = split_by_patient(samples, 0), split_by_patient(samples, 0)
    assert a == b and a != split_by_patient(samples, 1)
    patient = {s.name: s.patient for s in samples}
    sets = {k: {patient[n] for n in v} for k, v in a.items()}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"])
    assert not (sets["val"] & sets["test"])
    assert sum(len(v) for v in a.values()) == len(samples)


def test_train_tiny_nlm_package(tmp_path):
    from training.classifier.train import main

    root = _nlm_folder(tmp_path, 16)
    out = tmp_path / "pkg"
    rc = main(["--data", str(root), "--out", str(out), "--epochs", "1", "--size", "32",
               "--batch-size", "4", "--label", "Tuberculosis", "--reference-site", "nlm-test"])
    assert rc == 0
    pkg = load_package(out)
    assert pkg.kind == "classifier" and pkg.label == "Tuberculosis"
    m = pkg.manifest
    assert m["training"]["command"].startswith("python -m training.classifier.train")
    assert m["evaluation"]["onnx_torch_max_abs_diff"] < 1e-4
    assert json.loads((out / "splits.json").read_text())["seed"] == 0
    from xray_harmonizer.classifier import ClassifierModel

    clf = ClassifierModel(out)
    p = clf.predict(np.full((50, 70), 0.5, np.float32))
    assert 0.0 <= p <= 1.0 and clf.label == "Tuberculosis"


def test_tampered_package_refused(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(BUNDLED, copy)
    data = bytearray((copy / "classifier.onnx").read_bytes())
    data[-10] ^= 0xFF
    (copy / "classifier.onnx").write_bytes(bytes(data))
    with pytest.raises(PackageError, match="sha256"):
        load_package(copy)
    from xray_harmonizer.classifier import ClassifierModel

    with pytest.raises(PackageError):
        ClassifierModel(copy)


def test_bundled_manifest_figures_are_what_the_package_computes(kermany_dir):
    """The manifest's test AUC, sensitivity and specificity, recomputed here from the ONNX
    package on the 131 test images (about 6 s). Catches figures that the shipped package does
    not reproduce: inference preprocessing drifted from training's, a swapped label polarity,
    a threshold applied as > instead of >=, or a manifest annotated from another run. (The old
    test read the AUC from the manifest and checked it against itself.)"""
    from training.classifier.dataset import load_image
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.metrics.roc import roc_auc

    pkg = load_package(BUNDLED)
    m = pkg.manifest
    assert pkg.kind == "classifier" and pkg.label == "Pneumonia"
    assert pkg.reference_site == "kermany-pediatric"
    assert m["training"]["seed"] == 0 and "command" in m["training"]
    samples = discover(kermany_dir)
    label = {s.name: s.label for s in samples}
    names = split_by_patient(samples, 0)["test"]
    assert len(names) == 131
    clf = ClassifierModel(BUNDLED, use_gpu=False)
    scores = np.asarray(clf.predict_batch([load_image(kermany_dir / n) for n in names]))
    y = np.array([label[n] for n in names])
    recorded = m["evaluation"]["test"]
    assert roc_auc(y, scores, n_bootstrap=0).auc == pytest.approx(recorded["auc"], abs=1e-6)
    assert recorded["auc"] >= 0.95
    positive = scores >= recorded["threshold"]
    assert positive[y == 1].mean() == pytest.approx(recorded["sensitivity"], abs=1e-9)
    assert (~positive[y == 0]).mean() == pytest.approx(recorded["specificity"], abs=1e-9)


def test_bundled_onnx_matches_torch():
    from training.classifier.export import config_from_manifest, load_weights, parity

    pkg = load_package(BUNDLED)
    net = load_weights(BUNDLED / pkg.manifest["weights"], config_from_manifest(pkg.manifest["architecture"]))
    assert parity(net, pkg.entrypoint, int(pkg.input_spec["size"]), n=2) < 1e-4


def test_bundled_predicts_real_image(kermany_dir):
    from training.classifier.dataset import load_image
    from xray_harmonizer.classifier import ClassifierModel

    clf = ClassifierModel(BUNDLED, use_gpu=False)
    img = load_image(kermany_dir / "IM-0129-0001.png")
    p = clf.predict(img)
    assert 0.0 <= p <= 1.0  # a probability, not a logit (polarity: the AUC test above)
    assert clf.provider == "CPUExecutionProvider"
    assert np.allclose(clf.predict_batch([img, img]), p, atol=1e-6)
