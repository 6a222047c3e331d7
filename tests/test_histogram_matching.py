import numpy as np
import pytest
from PIL import Image

from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.generalizers.histogram import HistogramMatching, matching_lut
from xray_harmonizer.imaging.masks import body_mask
from xray_harmonizer.reference.profile import ProfileAccumulator, FINE_BINS, load_profile


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def _load(path):
    return np.asarray(Image.open(path), dtype=np.float32) / 255.0


def _w1(values, profile, masked=True):
    q = np.quantile(values, profile.levels)
    return float(np.mean(np.abs(q - profile.quantiles(masked))))


def test_is_a_generalizer(profile):
    hm = HistogramMatching(profile)
    assert isinstance(hm, Generalizer)
    assert hm.kind == "histogram" and hm.reference_site == profile.site_id


def test_output_contract_on_real_image(profile, nih_dir):
    image = _load(sorted(nih_dir.glob("*.png"))[0])
    out = HistogramMatching(profile).harmonize(image)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert np.array_equal(out, HistogramMatching(profile).harmonize(image))  # deterministic


def test_moves_a_foreign_image_to_the_reference(profile, nih_dir):
    for path in sorted(nih_dir.glob("*.png"))[:5]:
        image = _load(path)
        out = HistogramMatching(profile).harmonize(image)
        mask = body_mask(image)
        before, after = _w1(image[mask], profile), _w1(out[mask], profile)
        assert after < before and after < 0.02


def test_monotone_mapping_keeps_order(profile, kermany_dir):
    image = _load(sorted(kermany_dir.glob("*.png"))[3])
    lut = HistogramMatching(profile).lut_for(image)
    assert lut.shape == (FINE_BINS,) and np.all(np.diff(lut) >= 0)


def test_whole_image_option_uses_whole_image_quantiles(profile, kermany_dir):
    image = _load(sorted(kermany_dir.glob("*.png"))[5])
    out = HistogramMatching(profile, masked=False).harmonize(image)
    assert _w1(out.ravel(), profile, masked=False) < 0.02


def test_lut_of_matching_distribution_is_near_identity():
    rng = np.random.default_rng(1)
    image = rng.random((256, 256), dtype=np.float32)
    acc = ProfileAccumulator()
    acc.add(image)
    profile = acc.finish("uniform")
    out = HistogramMatching(profile, masked=False).harmonize(image)
    assert np.abs(out - image).max() < 0.01


def test_matching_lut_rejects_empty_histogram(profile):
    with pytest.raises(ValueError):
        matching_lut(np.zeros(FINE_BINS), profile)


def test_rejects_out_of_range_input(profile):
    with pytest.raises(ValueError):
        HistogramMatching(profile).harmonize(np.full((64, 64), 2.0, np.float32))
