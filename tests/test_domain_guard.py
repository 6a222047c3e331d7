"""The classifier's probability only for images in its domain (issue 10), on real files."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from xray_harmonizer.classifier import bundled_classifier
from xray_harmonizer.classifier.domain import tag_reason
from xray_harmonizer.io import open_image


@pytest.fixture(scope="module")
def classifier():
    return bundled_classifier(use_gpu=False)


def test_hip_and_lower_leg_get_a_reason_not_a_probability(classifier, dicom_dir):
    """Catches the hip (RG2) and lower leg (RG3) getting a pneumonia probability."""
    for name, part in (("RG2_UNC.dcm", "HIP"), ("RG2_JPLL.dcm", "HIP"),
                       ("RG3_UNC.dcm", "EXTREMITY")):
        image = open_image(dicom_dir / name)
        result = classifier.assess(image.pixels, image.meta.dataset)
        assert result.probability is None
        assert result.verdict.reason == f"not a chest radiograph (BodyPartExamined {part})"


def test_hip_and_leg_pixels_alone_are_refused(classifier, dicom_dir):
    """Catches the image score letting a hip or a leg through when the tags are gone
    (exported as PNG, anonymised)."""
    for name in ("RG2_UNC.dcm", "RG3_UNC.dcm"):
        result = classifier.assess(open_image(dicom_dir / name).pixels)
        assert result.probability is None and "chest radiograph" in result.verdict.reason


def test_chests_from_kermany_nih_and_new_sites_are_in_domain(classifier, nih_dir, kermany_dir,
                                                             dicom_dir):
    """Catches a guard so strict that adult NIH chests, the RG1 CR chest or the simulated
    new-site samples lose their probability."""
    from xray_harmonizer.resources import resources_dir

    files = (sorted(nih_dir.glob("*.png"))[:40] + sorted(kermany_dir.glob("*.png"))[:20]
             + sorted((resources_dir() / "samples").glob("*.dcm")) + [dicom_dir / "RG1_J2KI.dcm"])
    for path in files:
        image = open_image(path)
        result = classifier.assess(image.pixels, image.meta.dataset)
        assert result.verdict.in_domain, (path.name, result.verdict)
        assert result.probability == pytest.approx(classifier.predict(image.pixels), abs=1e-6)


def test_non_radiographs_are_refused(classifier):
    """Catches a photo, random noise or a blank frame getting a probability."""
    import skimage.data

    photo = skimage.data.camera().astype(np.float32) / 255.0
    noise = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    blank = np.zeros((512, 512), np.float32)
    for image in (photo, noise, blank):
        result = classifier.assess(image)
        assert result.probability is None and result.verdict.reason


def test_tags_decide_modality_body_part_and_view():
    """Catches CT/MR slices or lateral views passing the tag check."""
    assert tag_reason(SimpleNamespace(Modality="CT")) == "not a radiograph (Modality CT)"
    assert tag_reason(SimpleNamespace(Modality="DX", BodyPartExamined="CHEST",
                                      ViewPosition="LL")) == \
        "not a frontal chest view (ViewPosition LL)"
    assert tag_reason(SimpleNamespace(Modality="CR", BodyPartExamined="chest",
                                      ViewPosition="AP")) is None
    assert tag_reason(None) is None


def test_cli_json_gives_the_reason_instead_of_a_number(tmp_path, dicom_dir, nih_dir, capsys):
    """Catches the CLI printing a probability for a hip, or none for an adult chest."""
    import json

    from xray_harmonizer.cli import main

    rc = main(["harmonize", str(dicom_dir / "RG2_UNC.dcm"), str(nih_dir / "00000075_000.png"),
               "--method", "histogram", "-o", str(tmp_path), "--json"])
    assert rc == 0
    hip, chest = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hip["p_original"] is None and hip["p_harmonized"] is None
    assert hip["not_in_domain"] == "not a chest radiograph (BodyPartExamined HIP)"
    assert chest["not_in_domain"] is None and 0.0 <= chest["p_original"] <= 1.0


def test_unhashed_domain_reference_is_refused(tmp_path):
    """Catches the domain reference being loaded without its sha256 check (a manifest rewritten
    by write_manifest lists only the ONNX files)."""
    import json
    import shutil

    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.models.discovery import bundled_models_dir
    from xray_harmonizer.models.package import PackageError

    root = tmp_path / "clf"
    shutil.copytree(bundled_models_dir() / "classifier-kermany-pneumonia", root)
    manifest = json.loads((root / "manifest.json").read_text())
    del manifest["files"]["domain_reference.npz"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="not among the hashed files"):
        ClassifierModel(root, use_gpu=False)
