"""A simple, robust body-region mask for chest radiographs.

The reference-site statistics and histogram matching should describe the patient, not the air
around them, the collimator shadow or burned-in labels. The mask is computed on a ~128 px
thumbnail, so it costs a few milliseconds at any resolution:

1. thumbnail by block mean (long side about 128 px), lightly smoothed;
2. tissue = thumbnail above its Otsu threshold scaled by ``tissue_fraction``
   (soft tissue and bone are brighter than the air outside the body in MONOCHROME2);
3. the largest connected tissue component, closed and hole-filled, then its convex hull — this
   brings the (dark) lung fields inside the region, since they are enclosed by the chest wall;
4. a border band (``border`` of each side) is removed, where collimation edges and labels sit;
5. at full resolution, near-saturated pixels (burned-in text, markers, raw background) are dropped.

If the steps leave less than ``min_fraction`` of the image, the mask falls back to the central
region minus saturated pixels, so callers always get a usable mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import convex_hull_image

from xray_harmonizer.imaging.resample import block_mean
from xray_harmonizer.imaging.validation import check_image

THUMBNAIL_SIDE = 128
SATURATION_MARGIN = 2.0 / 255.0


def mask_thumbnail(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> tuple[np.ndarray, int]:
    """The block-mean thumbnail the mask is found on (long side about ``side``).

    Returns it and the block size in full-resolution pixels. Each block is averaged over a
    regular sub-grid of at most 4x4 samples: the mask needs the large-scale shape only, and
    this keeps the cost independent of the image size.
    """
    h, w = image.shape
    block = max(1, int(np.ceil(max(h, w) / side)))
    step = max(1, block // 4)
    sub = image[::step, ::step]
    sub_block = block // step
    if sub.shape[0] < sub_block or sub.shape[1] < sub_block:
        return image.astype(np.float32, copy=False), 1
    return block_mean(sub, sub_block, sub_block), sub_block * step


def body_mask(
    image: np.ndarray,
    *,
    tissue_fraction: float = 0.85,
    border: float = 0.03,
    min_fraction: float = 0.15,
) -> np.ndarray:
    """Boolean mask of the body region of a chest radiograph.

    Parameters
    ----------
    image : ndarray, float32, shape (H, W), values in [0, 1]
        Presentation image (MONOCHROME2).
    tissue_fraction : float
        Multiplier on the Otsu threshold separating tissue from surrounding air.
    border : float
        Fraction of height/width removed on each side.
    min_fraction : float
        Smallest acceptable mask area (fraction of the image) before falling back.

    Returns
    -------
    ndarray, bool, shape (H, W)
    """
    check_image(image)
    h, w = image.shape
    small, block = mask_thumbnail(image)
    small = ndimage.uniform_filter(small, size=3)
    region = _thumbnail_region(small, tissue_fraction)
    mask = _upsample_nearest(region, block, (h, w)) if region is not None else np.ones((h, w), bool)
    by, bx = int(round(border * h)), int(round(border * w))
    if by:
        mask[:by] = False
        mask[h - by:] = False
    if bx:
        mask[:, :bx] = False
        mask[:, w - bx:] = False
    unsaturated = (image > SATURATION_MARGIN) & (image < 1.0 - SATURATION_MARGIN)
    mask &= unsaturated
    if mask.mean() < min_fraction:
        mask = np.zeros((h, w), bool)
        mask[h // 8: h - h // 8, w // 8: w - w // 8] = True
        mask &= unsaturated
        if not mask.any():
            mask[h // 8: h - h // 8, w // 8: w - w // 8] = True
    return mask


def body_hull(small: np.ndarray, tissue_fraction: float = 0.85) -> np.ndarray:
    """Steps 2-3 above on an image already at thumbnail size (e.g. a network's working size).

    Parameters
    ----------
    small : ndarray, float32, (h, w), [0, 1]

    Returns
    -------
    ndarray, bool, (h, w)
        The body's convex hull; all False when no body is found.
    """
    region = _thumbnail_region(ndimage.uniform_filter(small, size=3), tissue_fraction)
    return np.zeros(small.shape, bool) if region is None else region


def _thumbnail_region(small: np.ndarray, tissue_fraction: float) -> np.ndarray | None:
    if small.size < 16 or float(small.max() - small.min()) < 1e-3:
        return None
    tissue = small > threshold_otsu(small) * tissue_fraction
    labels, n = ndimage.label(tissue)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    largest = labels == (int(np.argmax(sizes)) + 1)
    largest = ndimage.binary_closing(largest, structure=np.ones((5, 5)), iterations=2)
    largest = ndimage.binary_fill_holes(largest)
    if not largest.any():  # closing can erase a sliver; the caller falls back to the centre
        return largest
    return convex_hull_image(largest)


def _upsample_nearest(small: np.ndarray, block: int, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    rows = np.minimum(np.arange(h) // block, small.shape[0] - 1)
    cols = np.minimum(np.arange(w) // block, small.shape[1] - 1)
    return small[np.ix_(rows, cols)]
