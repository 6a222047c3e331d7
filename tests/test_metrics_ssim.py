"""SSIM equals scikit-image's default (data_range=1) on real chest X-rays and edge cases."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from xray_harmonizer.metrics.ssim import ssim, ssim_map

TOL = 1e-4


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / np.float32(255)


def _sk(a: np.ndarray, b: np.ndarray, full: bool = False):
    return structural_similarity(a, b, data_range=1.0, full=full)


@pytest.fixture(scope="module")
def kermany_images(kermany_dir: Path) -> list[np.ndarray]:
    files = sorted(kermany_dir.glob("*.png"))[:6]
    return [_load(f) for f in files]


@pytest.fixture(scope="module")
def fullres_image(fullres_dir: Path) -> np.ndarray:
    return _load(sorted(fullres_dir.glob("IM-*.png"))[0])


def _variants(a: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    noise = a + np.float32(0.03) * rng.standard_normal(a.shape, dtype=np.float32)
    return {
        "gamma": np.power(a, np.float32(0.7)),
        "noise": np.clip(noise, 0, 1),
        "bright": np.clip(a * np.float32(1.25), 0, 1),
        "inverted": 1 - a,
    }


def test_matches_skimage_on_real_images(kermany_images):
    rng = np.random.default_rng(0)
    for a in kermany_images[:3]:
        for name, b in _variants(a, rng).items():
            assert b.dtype == np.float32
            assert abs(ssim(a, b) - _sk(a, b)) < TOL, name


def test_matches_skimage_on_pairs_of_different_patients(kermany_images):
    for a, b in zip(kermany_images[:-1], kermany_images[1:]):
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        a, b = np.ascontiguousarray(a[:h, :w]), np.ascontiguousarray(b[:h, :w])
        assert abs(ssim(a, b) - _sk(a, b)) < TOL


def test_map_matches_skimage_including_borders(kermany_images):
    a = kermany_images[0]
    b = np.power(a, np.float32(0.8))
    mean, smap = ssim_map(a, b)
    ref_mean, ref_map = _sk(a, b, full=True)
    assert smap.dtype == np.float32 and smap.shape == a.shape
    assert abs(mean - ref_mean) < TOL
    # skimage's float32 map carries its own rounding (~2e-4 here); the float64 map is the truth.
    _, ref64 = _sk(a.astype(np.float64), b.astype(np.float64), full=True)
    assert np.abs(smap - ref64).max() < TOL
    assert np.abs(smap - ref_map).mean() < 5e-5
    # The mean is that of the map cropped by (7 - 1) // 2 = 3 pixels, as skimage crops.
    assert mean == pytest.approx(float(smap[3:-3, 3:-3].mean(dtype=np.float64)), abs=1e-9)
    assert mean == pytest.approx(ssim(a, b), abs=1e-9)


def test_odd_sized_crop_of_a_full_resolution_image(fullres_image):
    a = np.ascontiguousarray(fullres_image[100:611, 200:577])  # 511 x 377
    assert a.shape == (511, 377)
    b = np.clip(a * np.float32(0.9) + np.float32(0.05), 0, 1)
    mean, smap = ssim_map(a, b)
    ref_mean, ref_map = _sk(a, b, full=True)
    assert abs(mean - ref_mean) < TOL
    assert smap.shape == (511, 377)
    assert np.abs(smap - ref_map).max() < 1e-3


def test_full_resolution_image(fullres_image):
    a = fullres_image
    b = np.power(a, np.float32(1.3))
    assert abs(ssim(a, b) - _sk(a, b)) < TOL


@pytest.mark.parametrize("shape", [(7, 7), (7, 30), (30, 7), (8, 9), (64, 300)])
def test_tiny_and_thin_images(shape):
    rng = np.random.default_rng(1)
    a = rng.random(shape, dtype=np.float32)
    b = np.clip(a + np.float32(0.1) * rng.standard_normal(shape, dtype=np.float32), 0, 1)
    mean, smap = ssim_map(a, b)
    ref_mean, ref_map = _sk(a, b, full=True)
    assert abs(mean - ref_mean) < TOL
    assert abs(ssim(a, b) - ref_mean) < TOL
    assert np.abs(smap - ref_map).max() < 1e-3


def test_identical_images_give_one(kermany_images):
    a = kermany_images[1]
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-7)
    _, smap = ssim_map(a, a)
    assert np.allclose(smap, 1.0, atol=1e-6)


def test_constant_images():
    a = np.full((32, 40), 0.25, np.float32)
    b = np.full((32, 40), 0.75, np.float32)
    assert abs(ssim(a, b) - _sk(a, b)) < TOL


def test_threads_do_not_change_the_result(fullres_image):
    a = fullres_image
    b = np.clip(a * np.float32(1.1), 0, 1)
    assert ssim(a, b, threads=1) == pytest.approx(ssim(a, b, threads=2), abs=1e-12)
    m1, s1 = ssim_map(a, b, threads=1)
    m3, s3 = ssim_map(a, b, threads=3)
    assert np.array_equal(s1, s3) and m1 == pytest.approx(m3, abs=1e-12)


def test_concurrent_callers_get_their_own_answers(kermany_images):
    pairs = [(a, np.power(a, np.float32(g))) for a, g in zip(kermany_images[:4], (0.5, 0.8, 1.2, 2))]
    expected = [ssim(a, b) for a, b in pairs]
    results: dict[int, list[float]] = {}

    def run(i: int) -> None:
        results[i] = [ssim(a, b) for a, b in pairs for _ in range(2)][::2]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        assert got == pytest.approx(expected, abs=1e-12)


def test_non_contiguous_input(kermany_images):
    a = kermany_images[0][::2, ::2]
    b = np.power(a, np.float32(0.9))
    assert abs(ssim(a, b) - _sk(a, b)) < TOL


def test_smaller_than_window_is_refused():
    a = np.zeros((6, 20), np.float32)
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(a, a)
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim_map(a.T.copy(), a.T.copy())


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="shape"):
        ssim(np.zeros((10, 10), np.float32), np.zeros((10, 11), np.float32))


@pytest.mark.parametrize(
    "bad, error",
    [
        (np.zeros((10, 10), np.float64), TypeError),
        (np.zeros((10, 10), np.uint8), TypeError),
        (np.zeros((10, 10, 3), np.float32), TypeError),
        ([[0.0] * 10] * 10, TypeError),
        (np.full((10, 10), 1.5, np.float32), ValueError),
        (np.full((10, 10), np.nan, np.float32), ValueError),
    ],
)
def test_bad_inputs_are_refused(bad, error):
    good = np.zeros((10, 10), np.float32)
    with pytest.raises(error):
        ssim(bad, good)
    with pytest.raises(error):
        ssim_map(good, bad)
