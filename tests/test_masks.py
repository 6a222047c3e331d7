import numpy as np
import pytest
from PIL import Image

from xray_harmonizer.imaging.masks import body_mask, mask_thumbnail


def _load(path):
    return np.asarray(Image.open(path), dtype=np.float32) / 255.0


def test_mask_covers_chest_not_background(kermany_dir):
    image = _load(kermany_dir / "IM-0129-0001.png")
    mask = body_mask(image)
    assert mask.shape == image.shape and mask.dtype == bool
    assert 0.3 < mask.mean() < 0.98
    # The border band is always excluded; the image centre (mediastinum) is always included.
    assert not mask[0].any() and not mask[:, 0].any()
    h, w = image.shape
    assert mask[h // 2, w // 2]
    # Inside the mask the mean is brighter than outside (air and collimation are dark).
    assert image[mask].mean() > image[~mask].mean()


def test_mask_excludes_saturated_labels():
    image = np.full((300, 300), 0.5, np.float32)
    image[140:160, 140:160] = 1.0  # a burned-in marker
    mask = body_mask(image)
    assert not mask[140:160, 140:160].any()
    assert mask.mean() > 0.5


def test_mask_falls_back_on_flat_image():
    mask = body_mask(np.zeros((64, 80), np.float32))
    assert mask.any() and mask.shape == (64, 80)


def test_mask_thumbnail_long_side_near_128_and_averages_its_blocks():
    """Catches a thumbnail of the wrong size or one whose pixels are not their block's mean
    (e.g. a misplaced block or decimation instead of averaging)."""
    img = np.random.default_rng(0).random((2000, 1500), dtype=np.float32)
    small, block = mask_thumbnail(img)
    assert 100 <= max(small.shape) <= 128 and block == 16
    step = block // 4  # the block is averaged over a 4x4 sub-grid
    expected = img[:block, :block][::step, ::step].mean()
    assert small[0, 0] == pytest.approx(expected, abs=1e-6)
    r, c = 37, 51
    expected = img[r * block:(r + 1) * block:step, c * block:(c + 1) * block:step].mean()
    assert small[r, c] == pytest.approx(expected, abs=1e-6)


def test_mask_rejects_wrong_dtype():
    with pytest.raises(TypeError):
        body_mask(np.zeros((64, 64), np.float64))
