"""Chooser with evidence (issue 10): one recommended default, experimental packages never it."""

from __future__ import annotations

import json
import shutil

import pytest

from xray_harmonizer.cli import main
from xray_harmonizer.generalizers.evidence import BAR, manifest_evidence
from xray_harmonizer.generalizers.registry import (chooser_entries, discover_generalizers,
                                                   package_name, select_generalizer)
from xray_harmonizer.models.discovery import bundled_models_dir


def _fake_universal(tmp_path, *, specificity: float | None = None):
    """A copy of the multi-site UNIT package relabelled as a ``universal`` generalizer."""
    root = tmp_path / "packages" / "universal-test"
    shutil.copytree(bundled_models_dir() / "unit-kermany-multisite-quick", root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.update(name="universal-test", display_name="Universal (test)",
                    generalizer_kind="universal")
    manifest["evaluation"].pop("lesions", None)  # the real package's lesion figures fail the bar
    if specificity is not None:
        for key, section in manifest["evaluation"].items():
            if key.startswith("protocol_site"):
                section["this_generalizer"]["specificity"] = specificity
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root.parent


def test_installed_universal_package_is_the_default(tmp_path):
    """Catches the chooser ignoring a universal generalizer that meets the bar."""
    folder = _fake_universal(tmp_path)
    gens, _ = discover_generalizers(folders=[bundled_models_dir(), folder], use_gpu=False)
    entries = chooser_entries(gens)
    assert package_name(entries[0].generalizer) == "universal-test" and entries[0].recommended
    assert select_generalizer(gens, None).name == "Universal (test)"


def test_universal_package_failing_the_bar_is_experimental_never_default(tmp_path):
    """Catches a package whose figures fail the bar (specificity near 0) being recommended."""
    folder = _fake_universal(tmp_path, specificity=0.02)
    gens, _ = discover_generalizers(folders=[bundled_models_dir(), folder], use_gpu=False)
    entries = chooser_entries(gens)
    fake = next(e for e in entries if package_name(e.generalizer) == "universal-test")
    assert fake.experimental and not fake.recommended
    assert fake.group == "Universal: experimental"
    assert package_name(entries[0].generalizer) != "universal-test"


def test_bundled_packages_judged_by_their_manifest_figures():
    """Catches the two packages with specificity near 0 on simulated sites (README) being
    offered as equals: they must be experimental, with the failing figure named."""
    gens, _ = discover_generalizers(use_gpu=False)
    by_name = {package_name(e.generalizer): e for e in chooser_entries(gens)}
    for name in ("unit-kermany-quick", "unit-nih-quick"):
        assert by_name[name].experimental
        assert any("specificity" in f for f in by_name[name].evidence.failures)
    best = chooser_entries(gens)[0]
    assert best.recommended and not best.experimental
    text = best.evidence.summary()
    assert "Fitted to:" in text and "AUC" in text and "specificity" in text and "SSIM" in text


def test_lesion_contrast_below_the_bar_fails():
    """Catches the lesion figure (added by the lesion benchmark) being ignored by the bar."""
    manifest = json.loads((bundled_models_dir() / "unit-kermany-multisite-quick"
                           / "manifest.json").read_text())
    manifest["evaluation"].pop("lesions", None)  # its measured lesion figures fail the bar
    assert not manifest_evidence(manifest).experimental
    # The layout benchmarks/lesions.py --annotate writes.
    kept = {"4": {"mean": 1.0, "p10": 0.95, "n": 20},
            "8": {"mean": 0.5, "p10": BAR.min_lesion_contrast - 0.1, "n": 20}}
    manifest["evaluation"]["lesions"] = {"sites": {"site_moderate": {"contrast_kept": kept}}}
    evidence = manifest_evidence(manifest)
    assert evidence.experimental and evidence.lesion_contrast_p10 == BAR.min_lesion_contrast - 0.1
    kept["8"]["p10"] = 0.9
    assert not manifest_evidence(manifest).experimental


@pytest.mark.parametrize("method", ["unit-kermany-multisite-quick",
                                    "unit (QUICK, 4 site profiles)"])
def test_cli_method_accepts_package_and_display_names(tmp_path, kermany_dir, capsys, method):
    """Catches --method refusing README package names, hiding which package ran, and two UNIT
    packages writing the same output name."""
    src = kermany_dir / "IM-0129-0001.png"
    assert main(["harmonize", str(src), "--method", method, "-o", str(tmp_path)]) == 0
    assert "generalizer: unit-kermany-multisite-quick" in capsys.readouterr().err
    assert (tmp_path / "IM-0129-0001_harmonized_unit-kermany-multisite-quick.png").is_file()


def test_cli_default_is_the_recommended_generalizer(tmp_path, kermany_dir, capsys):
    """Catches the CLI default drifting from the GUI's recommended generalizer."""
    gens, _ = discover_generalizers(use_gpu=False)
    expected = package_name(select_generalizer(gens, None))
    assert main(["harmonize", str(kermany_dir / "IM-0129-0001.png"), "-o", str(tmp_path)]) == 0
    assert f"generalizer: {expected} " in capsys.readouterr().err


def test_histogram_evidence_lists_each_site_once(tmp_path):
    """Catches a site listed twice in histogram matching's evidence when a second protocol run
    of that site exists (``protocol-site_mild-universal`` beside ``protocol-site_mild``): the
    panel showed every figure twice."""
    from xray_harmonizer.generalizers.evidence import histogram_evidence

    rows = [{"row": "Histogram matching", "auc": 0.95, "specificity": 0.9,
             "ssim_to_input": {"mean": 0.9}}, {"row": "truth (upper bound)", "auc": 0.99}]
    for folder, auc in (("protocol-site_mild", 0.95), ("protocol-site_mild-universal", 0.90)):
        (tmp_path / folder).mkdir()
        rows[0]["auc"] = auc
        (tmp_path / folder / "results.json").write_text(
            json.dumps({"site": "site_mild", "rows": rows}))
    evidence = histogram_evidence(tmp_path)
    assert [s.site for s in evidence.sites] == ["site_mild"]
    assert evidence.sites[0].auc == 0.95  # the main run, not the later one


@pytest.mark.parametrize("extra, expected", [
    ({"generalizer_kind": "universal"}, "randomized simulated imaging chains"),
    ({"site": {"site": "st-marys-cr"}}, "the site's own images (st-marys-cr)"),
    ({"generalizer_kind": "universal", "site": {"site": "st-marys-cr"}},
     "the site's own images (st-marys-cr), fine-tuned from the universal generalizer"),
])
def test_fitted_to_reads_universal_and_site_fit_manifests(extra, expected):
    """Catches a wizard-made (``train site``) or universal package showing "Fitted to: not
    recorded in its manifest" although its manifest says what it was fitted to, and a universal
    package fitted to one site by the fast path claiming "no site of its own"."""
    manifest = {"kind": "generalizer", "generalizer_kind": "cyclegan", "training": {}, **extra}
    assert expected in manifest_evidence(manifest).summary()


def test_evidence_lists_bundled_profiles_first_and_chains_in_numeric_order():
    """Catches the evidence panel listing random_eval_10 between random_eval_1 and _2 and the
    evaluation chains before the bundled profiles (a string sort of the manifest keys), and an
    SSIM that does not say it is measured against the input (not the truth)."""
    manifest = json.loads((bundled_models_dir() / "unit-kermany-multisite-quick"
                           / "manifest.json").read_text())
    evaluation = manifest["evaluation"]
    section = next(v for k, v in evaluation.items() if k.startswith("protocol_site_"))
    for k in (10, 2, 1):
        evaluation[f"protocol_random_eval_{k}"] = {**section, "site": f"random_eval_{k}"}
    names = [s.site for s in manifest_evidence(manifest).sites]
    shipped = [n for n in names if n.startswith("site_")]
    assert names == shipped + ["random_eval_1", "random_eval_2", "random_eval_10"]
    assert "SSIM to its input" in manifest_evidence(manifest).summary()
