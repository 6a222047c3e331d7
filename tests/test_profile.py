import json

import numpy as np
import pytest
from PIL import Image

from xray_harmonizer.reference.profile import (
    ProfileAccumulator, ProfileError, ReferenceProfile, load_profile, quantiles_from_histogram,
)


def _profile_of(images, site="s"):
    acc = ProfileAccumulator()
    for im in images:
        acc.add(im)
    return acc.finish(site, content_hash="abc")


def test_quantiles_of_uniform_histogram_are_identity():
    levels = np.linspace(0, 1, 11)
    q = quantiles_from_histogram(np.ones(4096), levels)
    np.testing.assert_allclose(q, levels, atol=1e-9)


def test_profile_of_real_images_is_monotone_and_round_trips(kermany_dir, tmp_path):
    files = sorted(kermany_dir.glob("*.png"))[:12]
    images = [np.asarray(Image.open(f), dtype=np.float32) / 255 for f in files]
    profile = _profile_of(images, "kermany-test")
    assert profile.n_images == 12
    assert np.all(np.diff(profile.body_quantiles) >= 0)
    assert profile.body_histogram.sum() == pytest.approx(1.0)
    # The body region is brighter than the whole image (air and borders are dark).
    assert profile.body_quantiles[500] > profile.image_quantiles[500]
    path = profile.save(tmp_path / "p.json")
    again = load_profile(path)
    assert again.site_id == "kermany-test" and again.n_images == 12
    np.testing.assert_allclose(again.body_quantiles, profile.body_quantiles, atol=1e-6)
    assert not list(tmp_path.glob(".profile-*"))


def test_equal_weight_per_image():
    small = np.zeros((64, 64), np.float32) + 0.2
    big = np.zeros((512, 512), np.float32) + 0.8
    profile = _profile_of([small, big])
    # Half of the pooled mass comes from each image, whatever its size.
    assert profile.image_quantiles[250] == pytest.approx(0.2, abs=1e-3)
    assert profile.image_quantiles[750] == pytest.approx(0.8, abs=1e-3)


def test_bad_profile_files_are_refused(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ProfileError, match="not a reference-site profile"):
        load_profile(tmp_path / "b.json")
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "missing.json")


def test_non_monotone_quantiles_refused():
    profile = _profile_of([np.random.default_rng(0).random((64, 64), dtype=np.float32)])
    data = profile.to_dict()
    data["body_quantiles"] = data["body_quantiles"][::-1]
    with pytest.raises(ProfileError, match="non-decreasing"):
        ReferenceProfile.from_dict(data)


def test_bundled_default_profile_loads():
    profile = load_profile()
    assert profile.site_id == "kermany-pediatric"
    assert profile.n_images >= 800
    assert len(profile.content_hash) == 64


def test_empty_accumulator_refused():
    with pytest.raises(ProfileError):
        ProfileAccumulator().finish("x")
