"""Full-resolution local affine transfer (xray_harmonizer.imaging.transfer)."""

from __future__ import annotations

import numpy as np
import pytest

from xray_harmonizer.imaging.transfer import (TransferConfig, apply_local_affine, fit_local_affine,
                                              pixel_noise_variance, resize, transfer, working_shape)


AFFINE = TransferConfig(noise_gate=(0, 0))  # the affine part alone; the gate is tested on its own


def _image(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    smooth = 0.5 + 0.3 * np.sin(6 * xx) * np.cos(4 * yy)
    return np.clip(smooth + 0.05 * rng.standard_normal(shape), 0, 1).astype(np.float32)


def test_working_shape_keeps_aspect_and_never_upscales() -> None:
    assert working_shape((2000, 1000), 256) == (256, 128)
    assert working_shape((777, 1001), 256) == (199, 256)
    assert working_shape((100, 80), 256) == (100, 80)


def test_resize_dtype_shape() -> None:
    out = resize(_image((101, 77)), (33, 21))
    assert out.shape == (33, 21) and out.dtype == np.float32
    assert out.flags.writeable


def test_global_affine_is_reproduced_at_full_resolution() -> None:
    img = _image((640, 480))
    low = resize(img, working_shape(img.shape, 128))
    out = transfer(img, low, 0.6 * low + 0.2, AFFINE)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.6 * img + 0.2, atol=2e-3)


def test_identity_mapping_keeps_the_image() -> None:
    img = _image((300, 257), seed=1)
    low = resize(img, working_shape(img.shape, 64))
    np.testing.assert_allclose(transfer(img, low, low.copy(), AFFINE), img, atol=2e-3)


def test_spatially_varying_gain_is_followed() -> None:
    img = _image((512, 512), seed=2)
    low = resize(img, (128, 128))
    gain = np.linspace(0.5, 1.5, 128, dtype=np.float32)[None, :]
    out = transfer(img, low, np.clip(low * gain, 0, 1), TransferConfig(radius=4, noise_gate=(0, 0)))
    full_gain = np.linspace(0.5, 1.5, 512, dtype=np.float32)[None, :]
    err = np.abs(out - np.clip(img * full_gain, 0, 1))[16:-16, 16:-16]
    assert err.mean() < 0.01


def test_detail_survives_in_flat_regions() -> None:
    # Fine texture invisible at low resolution: the plain guided filter (slope -> 0) would
    # erase it; regularising towards the global slope keeps it.
    rng = np.random.default_rng(3)
    img = (0.5 + 0.05 * rng.standard_normal((512, 512))).astype(np.float32).clip(0, 1)
    low = resize(img, (64, 64))
    out = transfer(img, low, 0.8 * low + 0.1, TransferConfig(noise_gate=(0, 0)))
    assert np.std(out) == pytest.approx(0.8 * np.std(img), rel=0.1)


def _gated(image: np.ndarray, low_shape: tuple[int, int], gate: float) -> np.ndarray:
    """The noise gate alone: the transfer with an identity mapping at the working size."""
    low = resize(image, low_shape)
    return transfer(image, low, low.copy(), TransferConfig(noise_gate=(gate, gate), keep_annotations=False))


def test_noise_gate_drops_noise_and_keeps_edges() -> None:
    rng = np.random.default_rng(4)
    clean = np.full((512, 512), 0.3, np.float32)
    clean[:, 256:] = 0.7  # one strong edge
    clean[200:210, 100:400] += 0.2  # a thin bright structure
    noisy = np.clip(clean + 0.03 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    out = _gated(noisy, (256, 256), gate=2.0)
    flat = (slice(50, 150), slice(50, 200))
    assert np.std(out[flat]) < 0.6 * np.std(noisy[flat])
    assert out[205, 150] - out[100, 150] > 0.15  # the structure survives
    assert abs(out[300, 260] - out[300, 250] - 0.4) < 0.1  # and the edge
    low = resize(noisy, (128, 128))
    gated = transfer(noisy, low, low.copy())
    assert np.abs(gated - clean).mean() < np.abs(noisy - clean).mean()


def test_pixel_noise_variance_reads_noise_not_anatomy() -> None:
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:600, 0:500].astype(np.float32)
    # Smooth "anatomy" with strong structure at rib scale (period 40 px) and no pixel noise.
    clean = (0.5 + 0.3 * np.sin(yy / 6.4) * np.cos(xx / 9.0)).astype(np.float32)
    assert pixel_noise_variance(clean) < 1e-5
    noisy = (clean + 0.02 * rng.standard_normal(clean.shape)).astype(np.float32)
    assert pixel_noise_variance(noisy) == pytest.approx(0.02 ** 2, rel=0.1)
    # So the gate leaves a clean image's detail band alone: less than one 8-bit grey level
    # anywhere (the fine octave of smooth anatomy is a curvature term of a few 1e-3; the
    # estimate's rounding noise trims a part of it).
    low = resize(clean, (150, 125))
    kept = _gated(clean, low.shape, gate=3.0)
    assert np.abs(kept - clean).max() < 1 / 255
    assert pixel_noise_variance(np.zeros((1, 5), np.float32)) == 0.0


def test_output_is_clipped_and_checked() -> None:
    img = _image((64, 64))
    low = resize(img, (32, 32))
    a, b = fit_local_affine(low, low)
    out = apply_local_affine(img, a * 5, b)
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError):
        fit_local_affine(low, low[:-1])
    with pytest.raises(TypeError):
        transfer(img.astype(np.float64), low, low)
    with pytest.raises(ValueError):
        TransferConfig(radius=0)
    with pytest.raises(ValueError):
        TransferConfig(noise_gate=(-1, 0))


def _marked_image() -> tuple[np.ndarray, tuple[slice, slice]]:
    """Dark air on the left third, anatomy-like texture elsewhere, a burned-in saturated
    marker (a 40 x 30 px block) in the air."""
    img = _image((960, 1024))
    img[:, :300] = 0.03
    marker = (slice(460, 500), slice(40, 70))
    img[marker] = 1.0
    return img, marker


def _network_that_erases_the_marker(low_in: np.ndarray) -> np.ndarray:
    out = 0.7 * low_in + 0.1
    cols = low_in.shape[1] * 300 // 1024
    out[:, :cols] = 0.1  # the whole air band drawn flat: the marker is gone
    return out


def test_burned_in_marker_keeps_its_contrast_when_the_network_erases_it() -> None:
    img, marker = _marked_image()
    low = resize(img, working_shape(img.shape, 128))
    low_out = _network_that_erases_the_marker(low)
    kept = transfer(img, low, low_out, AFFINE)
    faded = transfer(img, low, low_out, TransferConfig(noise_gate=(0, 0), keep_annotations=False))
    background = float(np.median(kept[300:400, 40:70]))
    assert float(kept[marker].mean()) > 0.95 and background < 0.15
    assert float(faded[marker].mean()) < 0.5  # what happened before the guard
    # Away from the marker the guard changes nothing.
    np.testing.assert_allclose(kept[:, 400:], faded[:, 400:], atol=1e-6)
    np.testing.assert_allclose(kept[:300], faded[:300], atol=1e-6)


def test_fit_weights_leave_weighted_out_pixels_to_their_neighbours() -> None:
    low = _image((64, 64))
    low_out = 0.5 * low + 0.2
    weight = np.ones_like(low)
    weight[20:30, 20:30] = 0.0
    corrupted = low_out.copy()
    corrupted[20:30, 20:30] = 0.0  # what the weighted fit must not see
    a, b = fit_local_affine(low, corrupted, TransferConfig(radius=4), weight)
    a0, b0 = fit_local_affine(low, low_out, TransferConfig(radius=4))
    naive, _ = fit_local_affine(low, corrupted, TransferConfig(radius=4))
    # Next to the hidden block the weighted fit still finds the true slope (only the global
    # slope it shrinks towards moved); the unweighted one follows the corruption.
    near = (slice(30, 38), slice(20, 30))
    assert np.abs(a[near] - a0[near]).max() < 0.01
    assert np.abs(naive[near] - a0[near]).max() > 0.1
    inside = (slice(22, 28), slice(22, 28))
    np.testing.assert_allclose(a[inside] + b[inside], 1.0, atol=1e-5)  # max stays max
    with pytest.raises(ValueError):
        fit_local_affine(low, low_out, TransferConfig(), weight[:-1])


def test_saturated_anatomy_is_not_taken_for_an_annotation() -> None:
    """Processed images clip bone at the maximum (site_severe: up to 8% of the pixels); the
    network's map must still apply there. Only the marker in the air is left out of the fit."""
    from xray_harmonizer.imaging.transfer import annotation_weight

    img, marker = _marked_image()
    img[300:700, 600:640] = 1.0  # a clipped "spine" inside the body
    img[200:230, 450:470] = 1.0  # a small clipped fragment, also inside
    low = resize(img, working_shape(img.shape, 128))
    weight = annotation_weight(img, low)
    assert weight is not None
    scale = low.shape[0] / img.shape[0]
    r0, c0 = int(480 * scale), int(55 * scale)
    assert weight[r0, c0] == 0.0  # the marker
    assert weight[:, int(400 * scale):].min() == 1.0  # nothing inside the body
    assert annotation_weight(_image((200, 200)) * 0.9, resize(_image((200, 200)), (50, 50))) is None


RESIDUAL = TransferConfig(noise_gate=(0, 0), residual=True)


def _unsharpened(low: np.ndarray) -> np.ndarray:
    """What a network that undoes a vendor's unsharp masking draws: its input minus a band-pass
    at 2-3 working pixels, a change no affine map smooth over 4 * radius pixels can express."""
    from scipy.ndimage import gaussian_filter

    return np.clip(low - 0.8 * (low - gaussian_filter(low, 2.5)), 0, 1).astype(np.float32)


def _ribbed(shape: tuple[int, int]) -> np.ndarray:
    """Rib-like stripes (period ~9 working pixels at 256 px) on a smooth shading, plus noise."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    img = 0.45 + 0.2 * np.sin(6 * xx) + 0.12 * np.sin(2 * np.pi * 28 * yy + 3 * xx)
    rng = np.random.default_rng(5)
    return np.clip(img + 0.02 * rng.standard_normal(shape), 0, 1).astype(np.float32)


def test_residual_transfer_gives_back_the_network_band() -> None:
    """Catches the residual being dropped, added with the wrong sign, or enlarged misaligned:
    with ``residual`` the working-resolution band of the output is the network's output (what a
    network trained against pixel-aligned truth drew), where the local map alone leaves most of
    the band-pass change undone."""
    img = _ribbed((1024, 768))
    low = resize(img, working_shape(img.shape, 256))
    low_out = _unsharpened(low)
    inner = (slice(8, -8), slice(8, -8))
    err_res = np.abs(resize(transfer(img, low, low_out, RESIDUAL), low.shape) - low_out)[inner].mean()
    err_map = np.abs(resize(transfer(img, low, low_out, AFFINE), low.shape) - low_out)[inner].mean()
    assert err_res < 0.001 and err_res < 0.2 * err_map, (err_res, err_map)


def test_residual_transfer_keeps_the_fine_band_and_reduces_to_the_map_when_affine() -> None:
    """Catches the residual replacing the input's fine band (what the network cannot see must
    still come from the input) and a residual that is not ~0 when the network *is* affine."""
    img = _image((1024, 768), seed=4)
    low = resize(img, working_shape(img.shape, 256))
    out = transfer(img, low, _unsharpened(low), RESIDUAL)
    fine_in, fine_out = img - resize(low, img.shape), out - resize(resize(out, low.shape), img.shape)
    assert np.corrcoef(fine_in.ravel(), fine_out.ravel())[0, 1] > 0.8
    affine = 0.6 * low + 0.2
    np.testing.assert_allclose(transfer(img, low, affine, RESIDUAL), transfer(img, low, affine, AFFINE),
                               atol=2e-3)


def test_residual_transfer_keeps_burned_in_markers() -> None:
    """Catches the residual bringing back the network's erasure of a burned-in marker, which
    the annotation weight keeps out of the map."""
    img, marker = _marked_image()
    low = resize(img, working_shape(img.shape, 128))
    kept = transfer(img, low, _network_that_erases_the_marker(low), RESIDUAL)
    assert float(kept[marker].mean()) > 0.95


def test_enlargement_and_transfer_are_c_ordered() -> None:
    """Catches the enlargement returning Fortran-ordered arrays (numpy orders ``rows[:, idx]``
    that way): every full-resolution pass after it then ran across cache lines, and the
    2048x2048 harmonize took 0.31 s instead of 0.16 s (benchmarks/bench_universal_speed.py)."""
    img = _image((300, 257))
    assert resize(img, (900, 771)).flags["C_CONTIGUOUS"]
    low = resize(img, working_shape(img.shape, 64))
    assert transfer(img, low, low * 0.9 + 0.05, RESIDUAL).flags["C_CONTIGUOUS"]


def test_noise_gate_keeps_small_faint_nodules() -> None:
    """Catches the one-band gate: it compared the pixel noise with the variance of the whole
    detail band, so a faint nodule smaller than a working pixel, among noise, was gated with the
    noise (the lesion benchmark, site_severe, perfect network: 0.60 of a 3 px nodule's contrast
    kept, p10 0.40; here 0.36). The fine octave holds most of a white noise and little of a
    nodule, so gating it harder than the coarse band keeps about twice the nodule."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    noise = (0.015 * rng.standard_normal((512, 512))).astype(np.float32)
    clean = 0.45 + 0.1 * np.sin(yy / 40.0) * np.cos(xx / 55.0)
    centres = [(64 + 96 * i, 64 + 96 * j) for i in range(4) for j in range(4)]
    nodules = np.zeros((512, 512), np.float32)
    for cy, cx in centres:  # the projection of a sphere of radius 3 px, contrast 0.05
        r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / 9.0
        nodules += 0.05 * np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    without = np.clip(clean + noise, 0, 1).astype(np.float32)
    with_ = np.clip(clean + nodules + noise, 0, 1).astype(np.float32)
    out0, out1 = (transfer(x, resize(x, (128, 128)), resize(x, (128, 128))) for x in (without, with_))
    kept = []
    for cy, cx in centres:
        win = (slice(cy - 4, cy + 5), slice(cx - 4, cx + 5))
        wgt = nodules[win] / nodules[win].max()
        kept.append(float((wgt * (out1 - out0)[win]).sum() / (wgt * nodules[win]).sum()))
    assert np.mean(kept) > 0.6 and np.percentile(kept, 10) > 0.55, kept
    flat = (slice(20, 50), slice(20, 50))
    assert np.std(out0[flat] - clean[flat]) < 0.3 * np.std(noise[flat])  # and the noise goes


@pytest.mark.parametrize("shape, low_shape", [((455, 512), (228, 256)), ((456, 512), (228, 256)),
                                              ((300, 200), (192, 128))])
def test_noise_gate_holds_just_below_twice_the_working_size(shape, low_shape) -> None:
    """Catches a cut-off at exactly twice the working size: a first version of the two-band
    gate left images ungated below it, so one pixel of rounding (455 vs 456 rows at a 256 px
    working size) switched the denoising off and SSIM to truth fell by 0.2 on those images."""
    rng = np.random.default_rng(12)
    clean = np.full(shape, 0.5, np.float32)
    noisy = np.clip(clean + 0.03 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    low = resize(noisy, low_shape)
    out = transfer(noisy, low, low.copy())
    assert np.std(out - clean) < 0.7 * np.std(noisy - clean)
