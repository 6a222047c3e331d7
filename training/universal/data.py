"""Paired training data: (chain(x), x) at the working size, a new random chain per sample.

The reference images are the classifier's *training* split only (its ``splits.json``; the
protocol scores the test split and recipes are checked on val). The reference image is resized to
the working size with the app's own :func:`~xray_harmonizer.imaging.transfer.resize` (what the
neural path feeds the network) and the chain runs there (see :func:`make_pair`).

Targets: the truth, except where the chain *replaced* the anatomy (collimation borders,
burned-in text): there the target is the chain's own output, i.e. "leave it as it is", because
no network can know what lay under a shutter, and one asked to guess paints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.sitesim import apply_site_with_draws
from training.sitesim.random_chain import random_chain
from xray_harmonizer.imaging.transfer import resize, working_shape


@dataclass(frozen=True)
class Pair:
    """One training pair at the working size (float32 (h, w), [0, 1])."""

    shifted: np.ndarray
    target: np.ndarray
    identity: bool


def split_files(reference: Path, split_file: Path, part: str = "train") -> list[Path]:
    """The files of one part of the classifier's patient-level split."""
    from training.classifier.dataset import discover

    names = set(json.loads(Path(split_file).read_text(encoding="utf-8"))[part])
    files = sorted(s.path for s in discover(reference) if s.name in names)
    if len(files) != len(names):
        raise ValueError(f"{split_file}: {len(names) - len(files)} {part} file(s) not found in {reference}")
    return files


def load_images(files: list[Path]) -> list[np.ndarray]:
    from training.classifier.dataset import load_image

    return [load_image(f) for f in files]


def collimation_mask(shape: tuple[int, int], fractions: tuple[float, float, float, float]) -> np.ndarray:
    """The pixels :func:`training.sitesim.transforms.collimate` replaced (same rounding)."""
    h, w = shape
    top, bottom, left, right = (int(round(f * n)) for f, n in zip(fractions, (h, h, w, w)))
    mask = np.zeros(shape, dtype=bool)
    mask[:top, :] = True
    mask[h - bottom:, :] = True
    mask[:, :left] = True
    mask[:, w - right:] = True
    return mask


def make_pair(image: np.ndarray, rng: np.random.Generator, working_size: int,
              identity_share: float) -> Pair:
    """A random chain applied to ``image`` (or the identity with probability ``identity_share``),
    randomly mirrored, both sides resized to ``working_size``."""
    identity = bool(rng.random() < identity_share)
    flip = bool(rng.random() < 0.5)
    # The chain runs at the working size (its lengths scale with the image), not at 512 px
    # then resized as in the protocol: 8x cheaper (the 20-80 px dynamic-range compression blur
    # dominated: 0.45 s a pair at 512 against a 0.35 s training step). Its pixel noise is then
    # about twice the protocol's for the same parameters, well inside the noise ranges.
    image = resize(image, working_shape(image.shape, working_size))
    if identity:
        shifted, target = image, image
    else:
        chain = random_chain(rng)
        shifted, draws = apply_site_with_draws(image, chain, rng)
        replaced = collimation_mask(image.shape, draws.collimation)
        if draws.text_mask is not None:
            replaced |= draws.text_mask
        target = np.where(replaced, shifted, image).astype(np.float32)
    if flip:
        shifted, target = shifted[:, ::-1], target[:, ::-1]
    return Pair(np.ascontiguousarray(shifted), np.ascontiguousarray(target), identity)


def pad_to(image: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom/right to a multiple, as the app's ``NeuralGeneralizer.run_network``."""
    h, w = image.shape
    return np.pad(image, ((0, (-h) % multiple), (0, (-w) % multiple)), mode="reflect")
