"""Classifier input preparation, shared by training and inference (numpy + PIL, no torch).

The classifier sees a centred square crop of the short side, resized (antialiased) to a fixed
size. Cropping instead of letterboxing is deliberate: in the Kermany data the image aspect ratio
differs by class, and a letterbox border would hand the network that shortcut. The antialiased
downsampling (a 512 px image to 224 px) also removes most JPEG block artefacts, the other
known shortcut.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from xray_harmonizer.imaging.validation import check_image

Box = tuple[float, float, float, float]  # left, upper, right, lower in pixel coordinates


def center_box(shape: tuple[int, int], fraction: float = 1.0) -> Box:
    """The centred square box of side ``fraction * min(H, W)``."""
    h, w = shape
    side = fraction * min(h, w)
    x0, y0 = (w - side) / 2.0, (h - side) / 2.0
    return (x0, y0, x0 + side, y0 + side)


def crop_resize(image: np.ndarray, size: int, box: Box | None = None) -> np.ndarray:
    """Crop ``box`` (default: the centred square) and resize it to ``size`` x ``size``.

    Parameters
    ----------
    image : np.ndarray
        float32 (H, W) in [0, 1].
    size : int
        Output side in pixels.
    box : tuple of float, optional
        (left, upper, right, lower), may be fractional; PIL's bilinear resize with this box is
        antialiased when it shrinks.

    Returns
    -------
    np.ndarray
        float32 (size, size) in [0, 1].
    """
    check_image(image)
    box = center_box(image.shape) if box is None else box
    out = Image.fromarray(image, mode="F").resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def prepare_batch(images: list[np.ndarray], size: int) -> np.ndarray:
    """Images -> the network input batch, float32 (N, 1, size, size) in [0, 1]."""
    return np.stack([crop_resize(im, size) for im in images])[:, None].astype(np.float32)
