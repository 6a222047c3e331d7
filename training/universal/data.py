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
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from training.sitesim import SiteProfile, apply_site_with_draws, replaced_mask
from training.sitesim.random_chain import random_chain
from xray_harmonizer.imaging.transfer import resize, working_shape


@dataclass(frozen=True)
class Pair:
    """One training pair at the working size (float32 (h, w), [0, 1])."""

    shifted: np.ndarray
    target: np.ndarray
    identity: bool


# The long side of the image the chain "really" ran at, log-uniform: the app and the protocol
# run a site's chain at the image's own resolution (512 px for the bundled reference, 2-3k px on
# real detectors) and the network sees it shrunk to the working size, which averages pixel noise
# down (Pillow's antialiased shrink by f keeps 0.66 / f of a white noise's SD, measured).
NATIVE_LONG_SIDE = (512.0, 3072.0)
SHRINK_NOISE_SD = 0.66


def shrink_noise_sd(native_long: float, working_long: int) -> float:
    """Share of a white noise's SD left after the app shrinks a ``native_long`` image to
    ``working_long`` (1 when it is not shrunk)."""
    return min(1.0, SHRINK_NOISE_SD * working_long / max(float(native_long), 1.0))


def with_noise_sd(chain: SiteProfile, sd: float) -> SiteProfile:
    """``chain`` with its noise SDs multiplied by ``sd`` (quantum noise is a variance
    coefficient, electronic noise an SD)."""
    return replace(chain, quantum_noise=chain.quantum_noise * sd * sd,
                   electronic_noise=chain.electronic_noise * sd)


def noise_at_working_size(chain: SiteProfile, rng: np.random.Generator, working_long: int
                          ) -> SiteProfile:
    """``chain`` with its noise scaled to what it leaves after the shrink to the working size,
    for a native long side drawn log-uniformly from :data:`NATIVE_LONG_SIDE`.

    Running the chain *at* the working size (8x cheaper, see :func:`make_pair`) with the
    native noise gave the network 3-12x the noise SD it meets in use; the first universal
    package learned to blur (outputs visibly smoothed; 46-56 % of a lesion's contrast kept on
    random_eval_2).
    """
    lo, hi = NATIVE_LONG_SIDE
    native = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return with_noise_sd(chain, shrink_noise_sd(native, working_long))


ChainDraw = Callable[[np.random.Generator, int], SiteProfile]


def random_training_chain(rng: np.random.Generator, working_long: int) -> SiteProfile:
    """The training sampler: a random chain, its noise as seen at the working size."""
    return noise_at_working_size(random_chain(rng), rng, working_long)


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


def make_pair(image: np.ndarray, rng: np.random.Generator, working_size: int,
              identity_share: float, draw_chain: ChainDraw = random_training_chain,
              oversample: int = 1) -> Pair:
    """A chain from ``draw_chain`` applied to ``image`` (or the identity with probability
    ``identity_share``), randomly mirrored, both sides at ``working_size``.

    The chain runs at ``oversample`` times the working size and the result is shrunk with the
    app's resize, as the app shrinks a site's full-resolution image: a chain's nonlinear steps
    (the log detector response of a noisy exposure, tone curves, clipping of unsharp-masking
    overshoots at the window's ends) do not commute with the shrink: a network trained on
    chains run at its own size met inputs in use it had not seen (0.005-0.014 mean absolute
    difference at 128 px between the two on the evaluation chains after a 1.5 px smoothing,
    ``benchmarks/universal_diagnostics.py``).
    """
    identity = bool(rng.random() < identity_share)
    flip = bool(rng.random() < 0.5)
    # The chain's lengths scale with the image; its pixel noise is drawn for the size it runs
    # at (``draw_chain`` gets that size), and the shrink to the working size then averages it
    # as in use. Oversampling 2 made a training step 0.12 s instead of 0.09 s (the v5 / v7 logs
    # in training/universal/logs); the protocol's 512 px would cost ~0.45 s a pair (the 20-80 px
    # dynamic-range compression blur).
    small = working_shape(image.shape, working_size)
    target = resize(image, small)
    if identity:
        shifted = target
    else:
        big = resize(image, working_shape(image.shape, working_size * oversample)) \
            if oversample > 1 else target
        chain = draw_chain(rng, max(big.shape))
        shifted_big, draws = apply_site_with_draws(big, chain, rng)
        replaced = replaced_mask(big.shape, draws)
        shifted = resize(shifted_big, small) if oversample > 1 else shifted_big
        # Targets keep what the chain replaced (shutters, labels) as the chain left it.
        keep = resize(replaced.astype(np.float32), small) if oversample > 1 else replaced
        target = (keep * shifted + (1 - keep) * target).astype(np.float32)
    if flip:
        shifted, target = shifted[:, ::-1], target[:, ::-1]
    return Pair(np.ascontiguousarray(shifted), np.ascontiguousarray(target), identity)


def pad_to(image: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom/right to a multiple, as the app's ``NeuralGeneralizer.run_network``."""
    h, w = image.shape
    return np.pad(image, ((0, (-h) % multiple), (0, (-w) % multiple)), mode="reflect")
