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
from scipy.ndimage import uniform_filter

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
    """

    radius: int = 8
    eps: float = 1e-3
    slope_range: tuple[float, float] = (0.0, 8.0)

    def __post_init__(self) -> None:
        if self.radius < 1 or self.eps <= 0:
            raise ValueError("radius must be >= 1 and eps > 0")


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
    >>> out = transfer(img, low, 0.5 * low + 0.25)
    >>> bool(np.allclose(out, 0.5 * img + 0.25, atol=1e-4))
    True
    """
    check_image(image)
    a, b = fit_local_affine(low_in, low_out, config)
    return apply_local_affine(image, a, b)
