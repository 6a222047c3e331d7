"""Unpaired, unlabeled image folders -> aspect-preserving random crops at the working resolution."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from xray_harmonizer.imaging.transfer import resize, working_shape
from xray_harmonizer.io import open_image

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm")


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder`` or below it, sorted (order fixes the seeded draws)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def read_image(path: Path) -> np.ndarray:
    """float32 (H, W) in [0, 1], MONOCHROME2, through the app's reader (as at inference)."""
    return open_image(path).pixels


def load_folder(folder: str | Path, working_size: int, *, rank: int = 0) -> list[np.ndarray]:
    """Every image of ``folder`` resized to the working size (long side, aspect kept).

    Unreadable files are skipped with a warning (a site's export folder often holds a few).
    """
    images = []
    for path in list_images(folder):
        try:
            img = read_image(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped, never fatal
            if rank == 0:
                log.warning("skipping %s: %s", path.name, exc)
            continue
        images.append(resize(img, working_shape(img.shape, working_size)))
    if not images:
        raise FileNotFoundError(f"{folder}: no readable images")
    return images


def pad_bottom_right(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` padded at the bottom and right to at least ``height`` x ``width``, as
    ``NeuralGeneralizer.run_network`` pads at inference: reflect, or edge-replicate when a pad
    is not smaller than the side it extends. The image keeps its top-left corner."""
    h, w = image.shape
    ph, pw = max(0, height - h), max(0, width - w)
    if not (ph or pw):
        return image
    mode = "reflect" if ph < h and pw < w else "edge"
    return np.pad(image, ((0, ph), (0, pw)), mode=mode)


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``size`` x ``size`` crop after a random horizontal flip; a side shorter than ``size``
    is padded bottom/right like inference (:func:`pad_bottom_right`), so the network trains on
    the layout it will see. Crops never rescale, so the aspect ratio of anatomy is kept."""
    if rng.random() < 0.5:
        image = image[:, ::-1]
    image = pad_bottom_right(image, size, size)
    h, w = image.shape
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    return image[top:top + size, left:left + size]


class UnpairedCrops:
    """Draws a batch of reference crops and an independent batch of site crops.

    All randomness comes from one ``np.random.Generator`` whose state travels with the
    checkpoint, so a resumed run draws exactly the crops an uninterrupted one would.
    """

    def __init__(self, reference: list[np.ndarray], site: list[np.ndarray], crop: int,
                 seed: int, rank: int = 0) -> None:
        self.reference, self.site, self.crop, self.rank = reference, site, crop, rank
        self.rng = np.random.default_rng([seed, rank])

    def _batch(self, images: list[np.ndarray], n: int) -> torch.Tensor:
        idx = self.rng.integers(0, len(images), size=n)
        crops = np.stack([random_crop(images[i], self.crop, self.rng) for i in idx])
        return torch.from_numpy(crops[:, None] * 2.0 - 1.0).float()  # [-1, 1], (N, 1, S, S)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._batch(self.reference, n), self._batch(self.site, n)

    def state(self) -> str:
        return json.dumps(self.rng.bit_generator.state)

    def load_state(self, state: str) -> None:
        self.rng.bit_generator.state = json.loads(state)
