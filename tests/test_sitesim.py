"""Site-shift simulator: determinism, geometry, bit depth, profiles, CLI and DICOM round trip."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from training.sitesim import (SiteProfile, apply_site, available_profiles, load_site_profile,
                              profile_from_dict, random_profile)
from training.sitesim.__main__ import main as sitesim_main
from training.sitesim.output import to_stored


def _phantom(h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = 0.2 + 0.5 * np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (h / 4) ** 2))
    img += 0.1 * (np.sin(xx / 3.0) > 0)
    return np.clip(img, 0, 1).astype(np.float32)


def test_bundled_profiles_load():
    names = available_profiles()
    assert {"site_mild", "site_moderate", "site_severe", "site_mono1_dr"} <= set(names)
    for n in names:
        p = load_site_profile(n)
        assert p.name == n
        assert profile_from_dict(p.to_dict()) == p


def test_profile_rejects_unknown_and_bad_values(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        profile_from_dict({"exposre": 1.0})
    with pytest.raises(ValueError):
        SiteProfile(tone_curve="cubic")
    with pytest.raises(ValueError):
        SiteProfile(bits=17)
    f = tmp_path / "custom.json"
    f.write_text(json.dumps({"gamma": 0.7, "tone_curve": "gamma"}))
    assert load_site_profile(f).name == "custom"
    with pytest.raises(FileNotFoundError):
        load_site_profile("no_such_profile")


@pytest.mark.parametrize("name", ["site_mild", "site_moderate", "site_severe", "site_mono1_dr"])
def test_deterministic_same_shape(name):
    img = _phantom()
    p = load_site_profile(name)
    a, b = apply_site(img, p, seed=3), apply_site(img, p, seed=3)
    assert a.dtype == np.float32 and a.shape == img.shape
    assert np.array_equal(a, b)
    assert 0.0 <= a.min() and a.max() <= 1.0
    if p.quantum_noise or p.electronic_noise:
        assert not np.array_equal(a, apply_site(img, p, seed=4))


def test_identity_profile_is_identity_up_to_quantisation():
    img = _phantom()
    out = apply_site(img, SiteProfile(bits=16), seed=0)
    assert np.abs(out - img).max() < 1e-4


@pytest.mark.parametrize("bits", [6, 8, 10])
def test_bit_depth(bits):
    out = apply_site(_phantom(), SiteProfile(bits=bits, quantum_noise=1e-4), seed=0)
    levels = out * (2 ** bits - 1)
    assert np.allclose(levels, np.round(levels), atol=1e-3)
    assert len(np.unique(out)) <= 2 ** bits


def test_geometry_kept_outside_collimation():
    img = _phantom()
    p = SiteProfile(collimation=(0.1, 0.1), collimation_value=1.0, bits=16)
    out = apply_site(img, p, seed=0)
    assert np.all(out[:9] == 1.0) and np.all(out[:, -12:] == 1.0)
    assert np.abs(out[20:-20, 20:-20] - img[20:-20, 20:-20]).max() < 1e-4


def test_random_profile_valid():
    rng = np.random.default_rng(0)
    for _ in range(10):
        p = random_profile(rng)
        out = apply_site(_phantom(), p, rng)
        assert out.shape == (96, 128) and np.isfinite(out).all()


def test_mono1_stored_inverted():
    y = np.array([[0.0, 1.0]], dtype=np.float32)
    assert to_stored(y, 12, "MONOCHROME1").tolist() == [[4095, 0]]
    assert to_stored(y, 12, "MONOCHROME2").tolist() == [[0, 4095]]


def _write_input(tmp_path: Path) -> Path:
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray((_phantom() * 255).astype(np.uint8), mode="L").save(src / "case_1.png")
    return src


def test_cli_png16(tmp_path):
    src = _write_input(tmp_path)
    out = tmp_path / "out"
    assert sitesim_main(["--profile", "site_mild", "--seed", "0", "-o", str(out), str(src)]) == 0
    rec = json.loads((out / "sitesim.json").read_text())
    assert rec["images"][0]["output"] == "case_1.png"
    from PIL import Image

    a = np.asarray(Image.open(out / "case_1.png"))
    assert a.dtype == np.uint16 and a.shape == (96, 128)


def test_cli_mono1_dicom_round_trip(tmp_path):
    src = _write_input(tmp_path)
    out = tmp_path / "out"
    rc = sitesim_main(["--profile", "site_moderate", "--seed", "1", "-o", str(out), "--format", "dcm",
                       "--photometric", "MONOCHROME1", "--bits", "12", str(src / "case_1.png")])
    assert rc == 0
    ds = pydicom.dcmread(out / "case_1.dcm")
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.BitsStored == 12
    assert ds.Modality == "CR"
    img = np.asarray(__import__("PIL.Image").Image.open(src / "case_1.png"), dtype=np.float32) / 255
    prof = dataclasses.replace(load_site_profile("site_moderate"), photometric="MONOCHROME1", bits=12)
    from training.sitesim import seed_for

    expected = apply_site(img, prof, seed_for("case_1.png", 1))
    stored = ds.pixel_array.astype(np.float64)
    assert np.allclose((4095 - stored) / 4095, expected, atol=1e-6)
    from xray_harmonizer.io import open_image

    loaded = open_image(out / "case_1.dcm")
    assert loaded.meta.photometric == "MONOCHROME1"
    # The loader inverts MONOCHROME1 and applies the VOI window: the presentation image comes back.
    assert np.abs(loaded.pixels - expected).max() < 2.0 / 4095


def test_site_pairs_order_independent():
    from training.sitesim import site_pairs

    img = _phantom()
    p = load_site_profile("site_moderate")
    a = {x.name: x for x in site_pairs([("a.png", img), ("b.png", img)], p, seed=5)}
    b = {x.name: x for x in site_pairs([("b.png", img)], p, seed=5)}
    assert np.array_equal(a["b.png"].shifted, b["b.png"].shifted)
    assert a["a.png"].truth is img and a["a.png"].shifted.shape == img.shape


def test_replaced_mask_is_exactly_what_the_chain_replaced():
    """Catches the mask of replaced pixels (the universal kind's training targets and the
    protocol's informative field read it) drifting from what apply_site really paints: a mask
    one row short leaves a shutter row in the target as anatomy, one row long hides anatomy."""
    from training.sitesim import apply_site_with_draws, replaced_mask

    img = _phantom(200, 160)
    p = SiteProfile(collimation=(0.03, 0.12), collimation_value=0.37, text_labels=3,
                    text_value=0.81, bits=16)
    for seed in range(4):
        out, draws = apply_site_with_draws(img, p, seed)
        mask = replaced_mask(img.shape, draws)
        painted = np.isclose(out, 0.37, atol=1e-4) | np.isclose(out, 0.81, atol=1e-4)
        assert mask.any() and np.all(painted[mask])
        # Outside the mask the phantom (values 0.2-0.7, never exactly these) is re-imaged.
        assert painted[~mask].mean() < 0.01
