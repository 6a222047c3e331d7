"""Carry a low-resolution intensity mapping to the full-resolution image without losing detail.

A neural generalizer runs at a working resolution (long side ~256). Its output is a smooth,
spatially varying intensity mapping of its input. We fit that mapping as a local affine
transform ``out ~ a(x) * in + b(x)`` between the low-resolution input and output (guided-filter
style, He et al. 2013 and its "fast guided filter" upsampling), smooth ``a`` and ``b`` with a box
filter, upsample them bilinearly and apply them to the full-resolution input. Fine structure
(vessels, trabeculae, edges, noise texture) comes from the full-resolution input; only the
intensity mapping comes from the network.

Unlike the plain guided filter, ``a`` is regularised towards the image's *global* slope rather
than towards 0: where the low-resolution input is flat, the plain filter sets ``a ~ 0`` and so
erases exactly the full-resolution detail that the low-resolution image cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy.ndimage import binary_dilation, find_objects, label, maximum_filter, uniform_filter

from xray_harmonizer.imaging.masks import SATURATION_MARGIN, body_hull
from xray_harmonizer.imaging.validation import check_image


# What counts as a burned-in annotation at the working resolution (see annotation_weight).
ANNOTATION_SHARE = 0.2  # share of saturated full-resolution pixels in a working pixel
ANNOTATION_MAX_AREA = 0.01  # a marker or label covers at most 1% of the image
ANNOTATION_MAX_SURROUND = 0.7  # mean level around it; saturated anatomy sits among bright pixels


@dataclass(frozen=True)
class TransferConfig:
    """Settings of the local affine transfer.

    Attributes
    ----------
    radius : int
        Box radius in *working-resolution* pixels of the local fit; ``a`` and ``b`` are boxed
        twice, so the map varies over about ``4 * radius`` pixels (16 px at a 128 px long side,
        ~12% of the image). Chosen on the classifier's validation split with a "perfect network"
        (the truth at the working size): at radius 8 the fit cannot follow vendor multi-scale
        enhancement and dynamic-range compression at rib scale, and on site_severe the
        classifier called 80% of the normals pneumonia (specificity 0.20); radius 4 gave 0.66,
        radius 2 0.86. With the trained packages radius 4 kept most of that gain (UNIT, site_mono1_dr
        package on site_severe: AUC 0.892 -> 0.975) while carrying less GAN texture than 2.
        Reproduce with ``benchmarks/transfer_sweep.py``.
    eps : float
        Regularisation of the local slope towards the global one, in squared intensity units
        of [0, 1] images; larger = closer to one global affine map.
    slope_range : tuple of float
        Clamp of the local slope ``a``; keeps a locally inverted or exploding map out.
    noise_gate : (float, float)
        Wiener-style gates on the detail band (the full-resolution input minus its
        working-resolution version: what the network could not see), split in two as a
        Laplacian pyramid does: the *fine* octave (the input minus its 2x2-block means, enlarged
        bilinearly) and the *coarse* rest (half resolution minus working resolution). Each is
        scaled by ``clip(1 - gate * noise_var / local_energy, 0, 1)``, with ``noise_var`` the
        image's pixel noise (:func:`pixel_noise_variance`: the median absolute value of its
        finest diagonal differences; white noise lives there, anatomy hardly at all) times the
        share of a white noise's variance that falls in that band, and ``local_energy`` the
        band's own, at the working resolution. Why two bands: white noise is mostly in the fine
        octave and small lesions mostly in the coarse band; the former single gate (3, on the
        whole band) took a 3 px nodule's contrast with the noise (``benchmarks/lesions.py``,
        site_severe, the universal package: 0.64 kept, 10th percentile 0.34). (4.5, 1) was
        chosen on the validation split (``benchmarks/transfer_sweep.py``,
        ``benchmarks/noise_gate_compare.py``): against the single gate it keeps more of the
        small lesions' contrast (site_severe 3 px: 0.69 -> 0.93) with SSIM to truth within
        -0.004 / +0.020, specificity within one normal and AUC within 0.006 (figures in the
        README). ``(0, 0)`` keeps all detail. Applied inside the transfer's banded pass
        (``_banded``).
    keep_annotations : bool
        Leave burned-in markers and text out of the local fit and keep them at the display
        maximum, see :func:`annotation_weight`.
    residual : bool
        Also carry what the smooth affine map cannot express at the working resolution: the
        network output minus the fitted map (``low_out - (a * low_in + b)``), enlarged
        bilinearly. The working-resolution band of the result is then the network's output
        itself and only the finer band comes from the input. For networks trained against
        pixel-aligned truth (the ``universal`` kind, whose output *is* an image): with a
        perfect network the local map alone cannot undo a chain's multi-scale enhancement and
        unsharp masking at rib scale; ``benchmarks/protocol.py --oracle 128 256`` on the
        random evaluation chains: specificity 0.78 / 0.67 / 0.73 with the map alone at 128 px,
        0.94 / 0.94 / 0.90 with the residual (256 px: 0.86 / 0.76 / 0.78 and 0.98 each; truth
        0.98). GAN outputs carry texture in that band, so they keep the map only. A package
        asks for it with ``input.transfer: "affine+residual"``. Costs nothing at full
        resolution: the residual is folded into ``b``.
    """

    radius: int = 4
    eps: float = 1e-3
    slope_range: tuple[float, float] = (0.0, 8.0)
    noise_gate: tuple[float, float] = (4.5, 1.0)
    keep_annotations: bool = True
    residual: bool = False

    def __post_init__(self) -> None:
        if self.radius < 1 or self.eps <= 0:
            raise ValueError("radius must be >= 1 and eps > 0")
        if len(self.noise_gate) != 2 or min(self.noise_gate) < 0:
            raise ValueError("noise_gate must be two gates >= 0 (fine octave, coarse band)")


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a float32 (H, W) array to ``shape`` (antialiased when shrinking, bilinear).

    Parameters
    ----------
    image : ndarray, float32, (H, W)
        Any range; values are interpolated, not clipped.
    shape : (int, int)
        Target (rows, cols).

    Returns
    -------
    ndarray, float32, ``shape``
    """
    if image.shape == tuple(shape):
        return image.astype(np.float32, copy=False)
    if shape[0] >= image.shape[0] and shape[1] >= image.shape[1]:
        # Our separable bilinear: several times faster than a Pillow round trip, whose float32
        # array conversion dominates at full resolution.
        return _Bilinear(image.shape, shape).band(image.astype(np.float32, copy=False), 0,
                                                  int(shape[0]))
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    out = pil.resize((int(shape[1]), int(shape[0])), Image.BILINEAR)
    return np.array(out, dtype=np.float32)  # a writable copy


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of pixel-centre-aligned linear interpolation along one axis."""
    pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0.0, n_in - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (pos - i0).astype(np.float32)


def working_shape(shape: tuple[int, int], working_size: int) -> tuple[int, int]:
    """(rows, cols) with the long side ``min(working_size, long side)``, aspect kept."""
    h, w = shape
    scale = min(1.0, working_size / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def fit_local_affine(low_in: np.ndarray, low_out: np.ndarray,
                     config: TransferConfig = TransferConfig(),
                     weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``low_out ~ a * low_in + b`` in every box of radius ``config.radius``.

    Parameters
    ----------
    low_in, low_out : ndarray, float32, (h, w), [0, 1]
        Network input and output at the working resolution.
    weight : ndarray, float32, (h, w), [0, 1], optional
        How much each pixel counts in the fit (default: all 1). Pixels with weight 0 take the
        map of their neighbourhood instead of imposing their own: :func:`transfer` gives 0 to
        burned-in annotations, which the network may erase but the output must keep. A box with
        no weight at all takes the global affine fit.

    Returns
    -------
    a, b : ndarray, float32, (h, w)
        Box-smoothed local slope and offset.
    """
    if low_in.shape != low_out.shape:
        raise ValueError(f"shape mismatch {low_in.shape} vs {low_out.shape}")
    x = low_in.astype(np.float64)
    y = low_out.astype(np.float64)
    w = np.ones_like(x) if weight is None else np.clip(weight, 0.0, 1.0).astype(np.float64)
    if weight is not None and weight.shape != low_in.shape:
        raise ValueError(f"weight shape {weight.shape} vs {low_in.shape}")
    size = 2 * config.radius + 1

    def box(v: np.ndarray) -> np.ndarray:
        return uniform_filter(v, size=size, mode="reflect")

    # The global slope is only the target the local slopes shrink to; from every pixel, so
    # that annotations change the map near themselves only.
    var_g = x.var()
    a_global = float(((x - x.mean()) * (y - y.mean())).mean() / var_g) if var_g > 1e-12 else 1.0
    a_global = float(np.clip(a_global, *config.slope_range))
    b_global = float(y.mean() - a_global * x.mean())
    if weight is None:
        mx, my = box(x), box(y)
        cov = box(x * y) - mx * my
        var = np.maximum(box(x * x) - mx * mx, 0.0)
    else:
        wsum = box(w)
        empty = wsum < 1e-3  # the whole box is annotation
        inv = 1.0 / np.maximum(wsum, 1e-3)
        mx, my = box(w * x) * inv, box(w * y) * inv
        cov = box(w * x * y) * inv - mx * my
        var = np.maximum(box(w * x * x) * inv - mx * mx, 0.0)
    a = np.clip((cov + config.eps * a_global) / (var + config.eps), *config.slope_range)
    b = my - a * mx
    if weight is None:
        return box(a).astype(np.float32), box(b).astype(np.float32)
    if empty.any():
        a[empty], b[empty] = a_global, b_global
    a_s, b_s = box(a), box(b)
    # Where an annotation sits, keep the smoothed offset (what the background around it shows)
    # and take the slope that sends the display maximum to itself: a + b = 1. The marker stays
    # as bright as the reference shows one, whatever the network drew there; set after the
    # smoothing so that it is not halved by it (around a marker the input is mostly flat, so
    # the change of slope has little to show).
    ann = w < 0.5
    a_s[ann] = np.clip(1.0 - b_s[ann], *config.slope_range)
    return a_s.astype(np.float32), b_s.astype(np.float32)


def annotation_weight(image: np.ndarray, low_in: np.ndarray) -> np.ndarray | None:
    """Fit weight at the working resolution that leaves burned-in annotations out.

    Laterality markers and text are burned in at the display maximum; a network working at
    128 px sees a few bright pixels and may erase them, and an unweighted local fit then maps
    the marker to the background around it, so the "R" fades. A working-resolution pixel is
    part of an annotation when at least ``ANNOTATION_SHARE`` of its full-resolution pixels are
    saturated (>= 1 - 2/255) and its connected group of such pixels is small (at most
    ``ANNOTATION_MAX_AREA`` of the image), lies mostly outside the body's convex hull
    (:func:`~xray_harmonizer.imaging.masks.body_hull`) and stands out from a clearly darker
    surround. Processed images also saturate anatomy (bone and mediastinum, up to 8% of the
    pixels on the site_severe profile), which must keep the network's map. Annotation pixels
    and one pixel around them get weight 0.

    Parameters
    ----------
    image : ndarray, float32, (H, W), [0, 1]
    low_in : ndarray, float32, (h, w), [0, 1]
        ``image`` at the working resolution.

    Returns
    -------
    ndarray, float32, (h, w), {0, 1}; or None when there is no annotation.
    """
    saturated = image >= 1.0 - SATURATION_MARGIN
    if not saturated.any():
        return None
    h, w = low_in.shape
    mask = Image.fromarray(saturated.view(np.uint8) * np.uint8(255), mode="L")
    share = np.asarray(mask.resize((w, h), Image.BOX))
    labels, n = label(share >= ANNOTATION_SHARE * 255)
    if n == 0:
        return None
    marked = np.zeros((h, w), bool)
    body = body_hull(low_in)
    max_area = ANNOTATION_MAX_AREA * h * w
    for index, box in enumerate(find_objects(labels), start=1):
        # The component's bounding box grown by 2 px holds the component and its surround.
        rows = slice(max(box[0].start - 2, 0), min(box[0].stop + 2, h))
        cols = slice(max(box[1].start - 2, 0), min(box[1].stop + 2, w))
        component = labels[rows, cols] == index
        area = int(component.sum())
        if area > max_area or int(body[rows, cols][component].sum()) * 2 > area:
            continue
        surround = binary_dilation(component, iterations=2) & (labels[rows, cols] == 0)
        if not surround.any():
            continue
        level = float(np.mean(low_in[rows, cols][surround]))
        if level <= ANNOTATION_MAX_SURROUND:
            marked[rows, cols] |= component
    if not marked.any():
        return None
    return (~maximum_filter(marked, size=3)).astype(np.float32)


def apply_local_affine(image: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``clip(up(a) * image + up(b), 0, 1)`` with ``a, b`` upsampled bilinearly to the image.

    Parameters
    ----------
    image : ndarray, float32, (H, W), [0, 1]
    a, b : ndarray, float32, (h, w), h <= H, w <= W

    Returns
    -------
    ndarray, float32, (H, W), [0, 1]
    """
    check_image(image)
    return _banded(image, None, a, b, (0.0, 0.0))


class _Bilinear:
    """Pixel-centre bilinear enlargement from (h, w) to (H, W), one band of output rows at a
    time, so that every intermediate stays in cache (the full-resolution passes are memory
    bound; fused bands are several times faster than whole-image numpy expressions)."""

    def __init__(self, low_shape: tuple[int, int], shape: tuple[int, int]) -> None:
        self.r0, self.r1, self.wr = _axis_weights(low_shape[0], shape[0])
        self.c0, self.c1, self.wc = _axis_weights(low_shape[1], shape[1])
        self.wc0 = 1.0 - self.wc

    def band(self, low: np.ndarray, start: int, stop: int) -> np.ndarray:
        wr = self.wr[start:stop, None]
        rows = low[self.r0[start:stop]] * (1.0 - wr) + low[self.r1[start:stop]] * wr
        # np.take, not rows[:, idx]: numpy returns that fancy index Fortran-ordered, and every
        # full-resolution pass after it (the gate, a * x + b, the clip) then ran across the
        # cache lines (benchmarks/bench_universal_speed.py: 2048x2048 0.31 -> 0.16 s).
        out = np.take(rows, self.c0, axis=1)
        out *= self.wc0
        out += np.take(rows, self.c1, axis=1) * self.wc
        return out


def _half(image: np.ndarray) -> np.ndarray:
    """2x2 block means (edge-padded to even sides): the next level of a Laplacian pyramid."""
    h, w = image.shape
    if h % 2 or w % 2:
        image = np.pad(image, ((0, h % 2), (0, w % 2)), mode="edge")
    rows = image[0::2] + image[1::2]
    return (rows[:, 0::2] + rows[:, 1::2]) * np.float32(0.25)


@lru_cache(maxsize=64)
def _coarse_noise_share(ratio: tuple[float, float]) -> float:
    """Share of a unit white noise's variance in the coarse band (half resolution minus working
    resolution) for a full-resolution / working-resolution size ``ratio`` (rows, cols),
    measured on a white-noise patch 32 working pixels square through the transfer's resizes."""
    low = (32, 32)
    full = (max(2, round(32 * ratio[0])), max(2, round(32 * ratio[1])))
    noise = np.random.default_rng(0).standard_normal(full).astype(np.float32)
    half = _half(noise)
    return float((half - resize(resize(noise, low), half.shape)).var())


def _wiener(local_var: np.ndarray, noise_var: float) -> np.ndarray:
    """``clip(1 - noise_var / local_var, 0, 1)``, in place on ``local_var``."""
    np.maximum(local_var, 1e-12, out=local_var)
    np.divide(noise_var, local_var, out=local_var)
    np.subtract(1.0, local_var, out=local_var)
    return np.clip(local_var, 0.0, 1.0, out=local_var)


def _banded(image: np.ndarray, low_in: np.ndarray | None, a: np.ndarray, b: np.ndarray,
            gates: tuple[float, float]) -> np.ndarray:
    """``up(a) * g(image) + up(b)`` band by band; ``g`` is the two-band noise gate (identity if
    off or when there is no detail band)."""
    h, w = image.shape
    if a.shape[0] > h or a.shape[1] > w:
        a, b = resize(a, image.shape), resize(b, image.shape)
        low_in = None if low_in is None else resize(low_in, image.shape)
    up = _Bilinear(a.shape, image.shape)
    rows = max(8, (1 << 16) // w)
    out = np.empty_like(image)
    noise = pixel_noise_variance(image) if max(gates) > 0 else 0.0
    # Below twice the working size the half-resolution level is coarser than the working one:
    # the fine octave then reaches into the network's band and the coarse band is about empty.
    # The gate still only takes what is at the noise's level there; switching it off at exactly
    # twice the size would flip it with one pixel of rounding (a 455 px side at 256 px).
    gated = noise > 0 and low_in is not None and low_in.shape != image.shape
    if gated and low_in is not None:
        half = _half(image)
        up2 = _Bilinear(half.shape, image.shape)
        # The fine octave's local energy from the 2x2 blocks (mean square minus squared mean: a
        # white noise's is 3/4 of its variance), at half resolution: no full-resolution pass.
        block = _half(image * image)
        block -= half * half
        gain_fine = _wiener(resize(block, low_in.shape), gates[0] * noise * 0.75)
        # The coarse band is gated at half resolution (a quarter of the pixels); what the gate
        # takes away is added back at full resolution as ``delta``.
        coarse = half - resize(low_in, half.shape)
        local = resize(resize(coarse * coarse, low_in.shape), half.shape)
        share = _coarse_noise_share((round(h / low_in.shape[0], 2), round(w / low_in.shape[1], 2)))
        delta = (_wiener(local, gates[1] * noise * share) - 1.0) * coarse
    for s in range(0, h, rows):
        x = image[s:s + rows]
        if gated:
            m = up2.band(half, s, s + rows)
            d = x - m
            d *= up.band(gain_fine, s, s + rows)
            d += m
            d += up2.band(delta, s, s + rows)
            x = np.clip(d, 0.0, 1.0, out=d)
        band = up.band(a, s, s + rows)
        band *= x
        band += up.band(b, s, s + rows)
        np.clip(band, 0.0, 1.0, out=out[s:s + rows])
    return out


def transfer(image: np.ndarray, low_in: np.ndarray, low_out: np.ndarray,
             config: TransferConfig = TransferConfig()) -> np.ndarray:
    """Apply the mapping ``low_in -> low_out`` to the full-resolution ``image``.

    Parameters
    ----------
    image : ndarray, float32, (H, W), [0, 1]
        Full-resolution input.
    low_in : ndarray, float32, (h, w), [0, 1]
        ``image`` resized to the working resolution (what the network saw).
    low_out : ndarray, float32, (h, w), [0, 1]
        The network's output for ``low_in``.

    Returns
    -------
    ndarray, float32, (H, W), [0, 1]
        Same shape as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((64, 48), dtype=np.float32)
    >>> low = resize(img, (16, 12))
    >>> out = transfer(img, low, 0.5 * low + 0.25, TransferConfig(noise_gate=(0, 0)))
    >>> bool(np.allclose(out, 0.5 * img + 0.25, atol=1e-4))
    True
    """
    check_image(image)
    weight = annotation_weight(image, low_in) if config.keep_annotations else None
    a, b = fit_local_affine(low_in, low_out, config, weight)
    if config.residual:
        # up(b + r) = up(b) + up(r): bilinear enlargement is linear. Annotations keep the
        # map fit_local_affine set for them (weight 0 there).
        r = low_out - (a * low_in + b)
        b = (b + (r if weight is None else r * weight)).astype(np.float32)
    return _banded(image, low_in, a, b, config.noise_gate)


def pixel_noise_variance(image: np.ndarray) -> float:
    """Variance of the image's white (pixel) noise, robustly: ``(1.4826 * median|d|)^2`` with
    ``d`` the diagonal difference of each 2x2 block, ``(x00 - x01 - x10 + x11) / 2``, which
    has the noise's variance and almost none of the anatomy's (Donoho's finest-wavelet
    estimate).

    Parameters
    ----------
    image : ndarray, float32, (H, W)

    Returns
    -------
    float
        In squared units of ``image``; 0 for an image smaller than 2x2.
    """
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    if h == 0 or w == 0:
        return 0.0
    step = max(1, int(np.sqrt(h * w / 4 / 250_000)))  # a subsample's median is plenty
    blocks = image[:h:2 * step, :w:2 * step], image[:h:2 * step, 1:w:2 * step]
    lower = image[1:h:2 * step, :w:2 * step], image[1:h:2 * step, 1:w:2 * step]
    d = (blocks[0] - blocks[1] - lower[0] + lower[1]) * 0.5
    return float((1.4826 * np.median(np.abs(d))) ** 2)
