"""Block-mean downsampling: the one shrink-by-an-integer-factor used for thumbnails, the SSIM
size cap, report images and the display's screen-resolution copy.

A block mean (not decimation) so that a shrunken radiograph keeps its mean intensity and shows
no aliasing of fine noise; strided adds rather than a reshape-mean, because they allocate one
float32 buffer and are ~4x faster on 2048² images (the display calls this per zoom change).
"""

from __future__ import annotations

import numpy as np

__all__ = ["block_mean", "downsample_to"]


def block_mean(image: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Mean over non-overlapping ``fy`` x ``fx`` blocks (remainder rows/columns dropped).

    Parameters
    ----------
    image : np.ndarray
        2-D array (any real dtype), at least ``fy`` x ``fx``.
    fy, fx : int
        Block height and width, >= 1.

    Returns
    -------
    np.ndarray
        float32, shape ``(H // fy, W // fx)``; ``image`` itself when both factors are 1.
    """
    if fy < 1 or fx < 1:
        raise ValueError(f"block factors must be >= 1, got {fy}x{fx}")
    if fy == 1 and fx == 1:
        return image
    h = (image.shape[0] // fy) * fy
    w = (image.shape[1] // fx) * fx
    if h == 0 or w == 0:
        raise ValueError(f"image {image.shape} is smaller than one {fy}x{fx} block")
    rows = image[0:h:fy].astype(np.float32, copy=True)
    for i in range(1, fy):
        rows += image[i:h:fy]
    out = rows[:, 0:w:fx].copy()
    for j in range(1, fx):
        out += rows[:, j:w:fx]
    out *= np.float32(1.0 / (fy * fx))
    return out


def downsample_to(image: np.ndarray, max_side: int) -> np.ndarray:
    """Block-mean by the smallest integer factor that brings the long side to <= ``max_side``.

    Returns ``image`` itself (no copy) when it already fits.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    step = int(np.ceil(max(image.shape) / max_side))
    return image if step <= 1 else block_mean(image, step, step)
