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

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, uniform_filter

from xray_harmonizer.imaging.validation import check_image


@dataclass(frozen=True)
class TransferConfig:
    """Settings of the local affine transfer.

    Attributes
    ----------
    radius : int
        Box radius in *working-resolution* pixels of the local fit (8 px at a 256 long side is
        ~3% of the image: local enough for vendor contrast processing, smooth enough to ignore
        GAN texture).
    eps : float
        Regularisation of the local slope towards the global one, in squared intensity units
        of [0, 1] images; larger = closer to one global affine map.
    slope_range : tuple of float
        Clamp of the local slope ``a``; keeps a locally inverted or exploding map out.
    detail_sigma : float
        Gaussian sigma, in working-resolution pixels, that separates the full-resolution input
        into a base and a *detail* band (what the network could not see).
    noise_gate : float
        Wiener-style gate on the detail band: where its local variance is not above
        ``noise_gate`` times the image's noise variance (estimated from the detail band by
        the median absolute deviation), the detail is attenuated as ``1 - noise/variance``.
        Keeps edges and texture that rise above the noise and drops the site's noise, which
        would otherwise be carried to the output unchanged. 0 keeps all detail.
    """

    radius: int = 8
    eps: float = 1e-3
    slope_range: tuple[float, float] = (0.0, 8.0)
    detail_sigma: float = 0.5
    noise_gate: float = 2.0

    def __post_init__(self) -> None:
        if self.radius < 1 or self.eps <= 0:
            raise ValueError("radius must be >= 1 and eps > 0")
        if self.detail_sigma <= 0 or self.noise_gate < 0:
            raise ValueError("detail_sigma must be > 0 and noise_gate >= 0")


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
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    out = pil.resize((int(shape[1]), int(shape[0])), Image.BILINEAR)
    return np.array(out, dtype=np.float32)  # a writable copy


def working_shape(shape: tuple[int, int], working_size: int) -> tuple[int, int]:
    """(rows, cols) with the long side ``min(working_size, long side)``, aspect kept."""
    h, w = shape
    scale = min(1.0, working_size / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def fit_local_affine(low_in: np.ndarray, low_out: np.ndarray,
                     config: TransferConfig = TransferConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``low_out ~ a * low_in + b`` in every box of radius ``config.radius``.

    Parameters
    ----------
    low_in, low_out : ndarray, float32, (h, w), [0, 1]
        Network input and output at the working resolution.

    Returns
    -------
    a, b : ndarray, float32, (h, w)
        Box-smoothed local slope and offset.
    """
    if low_in.shape != low_out.shape:
        raise ValueError(f"shape mismatch {low_in.shape} vs {low_out.shape}")
    x = low_in.astype(np.float64)
    y = low_out.astype(np.float64)
    size = 2 * config.radius + 1

    def box(v: np.ndarray) -> np.ndarray:
        return uniform_filter(v, size=size, mode="reflect")

    var_g = x.var()
    a_global = float(((x - x.mean()) * (y - y.mean())).mean() / var_g) if var_g > 1e-12 else 1.0
    a_global = float(np.clip(a_global, *config.slope_range))
    mx, my = box(x), box(y)
    cov = box(x * y) - mx * my
    var = np.maximum(box(x * x) - mx * mx, 0.0)
    a = np.clip((cov + config.eps * a_global) / (var + config.eps), *config.slope_range)
    b = my - a * mx
    return box(a).astype(np.float32), box(b).astype(np.float32)


def apply_local_affine(image: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``clip(up(a) * image + up(b), 0, 1)`` with ``a, b`` upsampled bilinearly to the image.

    Parameters
    ----------
    image : ndarray, float32, (H, W), [0, 1]
    a, b : ndarray, float32, (h, w)

    Returns
    -------
    ndarray, float32, (H, W), [0, 1]
    """
    check_image(image)
    a_full = resize(a, image.shape)
    b_full = resize(b, image.shape)
    out = a_full
    np.multiply(a_full, image, out=out)
    np.add(out, b_full, out=out)
    return np.clip(out, 0.0, 1.0, out=out)


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
    >>> out = transfer(img, low, 0.5 * low + 0.25, TransferConfig(noise_gate=0))
    >>> bool(np.allclose(out, 0.5 * img + 0.25, atol=1e-4))
    True
    """
    check_image(image)
    a, b = fit_local_affine(low_in, low_out, config)
    if config.noise_gate > 0:
        scale = max(image.shape) / max(low_in.shape)
        image = gate_detail(image, config.detail_sigma * scale, config.noise_gate)
    return apply_local_affine(image, a, b)


def gate_detail(image: np.ndarray, sigma: float, gate: float) -> np.ndarray:
    """``base + w * detail`` with ``detail = image - gaussian(image, sigma)`` and the local
    Wiener gain ``w = clip(1 - gate * noise_var / local_var(detail), 0, 1)``.

    Parameters
    ----------
    image : ndarray, float32, (H, W), [0, 1]
    sigma : float
        Full-resolution pixels.
    gate : float
        Multiplier of the estimated noise variance.

    Returns
    -------
    ndarray, float32, (H, W), [0, 1]
    """
    base = gaussian_filter(image, sigma, mode="reflect")
    detail = image - base
    step = max(1, int(np.sqrt(detail.size / 250_000)))  # the MAD of a subsample is plenty
    sample = np.abs(detail[::step, ::step])
    noise_var = (1.4826 * float(np.median(sample))) ** 2 * gate
    if noise_var <= 0:
        return image
    size = 2 * max(1, int(round(2 * sigma))) + 1
    local = uniform_filter(detail * detail, size=size, mode="reflect")
    np.maximum(local, 1e-12, out=local)
    gain = np.clip(1.0 - noise_var / local, 0.0, 1.0)
    out = base + gain * detail
    return np.clip(out, 0.0, 1.0, out=out)
