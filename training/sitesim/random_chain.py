"""Randomized imaging chains: a new site per training sample, from wide documented ranges.

``random_chain(rng)`` draws every parameter of a :class:`~training.sitesim.profile.SiteProfile`
independently from :data:`RANGES` (uniform, or log-uniform where the range spans decades; some
effects are switched off with the probability in :data:`OFF`). The ranges were written to
contain the four shipped profiles (``site_mild`` .. ``site_severe``, checked by
:func:`inside_ranges` and the tests) with room on every side, so those four are *evaluation*
sites inside the training distribution, never training draws as such: a draw within
:data:`EXCLUSION` (max normalized distance over the numeric parameters) of a shipped profile is
drawn again.

Streams. Training draws from ``np.random.default_rng([TRAIN_STREAM, seed])``; the evaluation
chains from ``np.random.default_rng([EVAL_STREAM, seed])``. The two ``SeedSequence`` entropies
differ, so no training seed can reproduce an evaluation chain. The evaluation chains are written
as profile JSON files (``python -m training.sitesim.random_chain --write-eval DIR``) that
``benchmarks/protocol.py --site-profile FILE`` scores like the shipped ones.

What the ranges model (lengths in px at a 512 px long side, as in the profiles):

* exposure 0.4-2.2 (the residual error of a CR/DR auto-ranging, log-uniform) with 0-0.2 per-image
  log jitter; attenuation range 2-4 e-folds;
* detector MTF blur sigma 0-1.5 px; quantum noise 1e-5-1e-3 and electronic noise 1e-4-3e-3
  (log-uniform), correlated over 0-1.2 px (white in 40% of chains);
* tone curve log / gamma 0.6-1.9 / H&D sigmoid (slope 3-9, speed point 0.35-0.65);
* dynamic-range compression 0-0.7 at 20-80 px, multi-scale enhancement gain 0-2 with power
  0.6-1 over 3-5 levels, unsharp masking 0-1 at 1-4 px (each off in 20-25% of chains);
* display window contrast 0.7-1.4, brightness -0.12-0.12; 8-16 bit; MONOCHROME1/2, CR/DX;
* collimation borders up to 0.05 + 0.08 per side (none in 30%), shutters bright (0.85-1) or black
  (0-0.1); heel effect 0-0.3; grid lines 0-0.08 at 1.5-6 px (none in 60%); 0-3 burned-in labels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .profile import SiteProfile, available_profiles, load_site_profile

TRAIN_STREAM = 0x7261494E  # "raIN"
EVAL_STREAM = 0x6576414C  # "evAL"
EVAL_SEEDS = tuple(range(1, 11))
EVAL_DIR = Path(__file__).resolve().parent / "eval_chains"

# name -> (low, high, log-uniform?)
RANGES: dict[str, tuple[float, float, bool]] = {
    "exposure": (0.4, 2.2, True),
    "exposure_jitter": (0.0, 0.2, False),
    "attenuation_range": (2.0, 4.0, False),
    "blur_sigma": (0.0, 1.5, False),
    "quantum_noise": (1e-5, 1e-3, True),
    "electronic_noise": (1e-4, 3e-3, True),
    "noise_correlation": (0.0, 1.2, False),
    "gamma": (0.6, 1.9, True),
    "sigmoid_slope": (3.0, 9.0, False),
    "sigmoid_center": (0.35, 0.65, False),
    "drc_strength": (0.0, 0.7, False),
    "drc_sigma": (20.0, 80.0, False),
    "mce_gain": (0.0, 2.0, False),
    "mce_power": (0.6, 1.0, False),
    "usm_amount": (0.0, 1.0, False),
    "usm_sigma": (1.0, 4.0, False),
    "contrast": (0.7, 1.4, False),
    "brightness": (-0.12, 0.12, False),
    "collimation_value": (0.0, 1.0, False),
    "heel": (0.0, 0.3, False),
    "grid_amplitude": (0.0, 0.08, False),
    "grid_period": (1.5, 6.0, False),
    "text_value": (0.9, 1.0, False),
}
INT_RANGES: dict[str, tuple[int, int]] = {"bits": (8, 16), "mce_levels": (3, 5), "text_labels": (0, 3)}
CHOICES: dict[str, tuple[str, ...]] = {
    "tone_curve": ("log", "gamma", "sigmoid"), "photometric": ("MONOCHROME1", "MONOCHROME2"),
    "modality": ("CR", "DX"), "grid_orientation": ("vertical", "horizontal")}
COLLIMATION_MIN = (0.0, 0.05)  # low end of a side's border fraction
COLLIMATION_SPAN = (0.0, 0.08)  # high end minus low end
# Probability that an effect is off (0) in a chain: real sites often skip a processing step.
OFF = {"noise_correlation": 0.4, "drc_strength": 0.25, "mce_gain": 0.25, "usm_amount": 0.2,
       "grid_amplitude": 0.6, "collimation": 0.3}
EXCLUSION = 0.02


def _uniform(rng: np.random.Generator, name: str) -> float:
    lo, hi, log = RANGES[name]
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def _normalized(p: SiteProfile, name: str) -> float:
    lo, hi, log = RANGES[name]
    v = float(getattr(p, name))
    if log:
        return (np.log(max(v, 1e-12)) - np.log(lo)) / (np.log(hi) - np.log(lo))
    return (v - lo) / (hi - lo)


def distance(a: SiteProfile, b: SiteProfile) -> float:
    """Max over the numeric ranges of the normalized parameter difference (0 = same numbers)."""
    return max(abs(_normalized(a, n) - _normalized(b, n)) for n in RANGES)


def _draw(rng: np.random.Generator, name: str) -> SiteProfile:
    """One chain; always the same number of draws in the same order (a seed is a chain)."""
    v = {n: _uniform(rng, n) for n in RANGES}
    ints = {n: int(rng.integers(lo, hi + 1)) for n, (lo, hi) in INT_RANGES.items()}
    picks = {n: str(rng.choice(c)) for n, c in CHOICES.items()}
    off = {n: bool(rng.random() < p) for n, p in OFF.items()}
    col_lo = float(rng.uniform(*COLLIMATION_MIN))
    col_hi = col_lo + float(rng.uniform(*COLLIMATION_SPAN))
    bright_shutter = bool(rng.random() < 0.7)
    text_white = bool(rng.random() < 0.7)
    for n in ("noise_correlation", "drc_strength", "mce_gain", "usm_amount", "grid_amplitude"):
        if off[n]:
            v[n] = 0.0
    v["collimation_value"] = 0.85 + 0.15 * v["collimation_value"] if bright_shutter \
        else 0.1 * v["collimation_value"]
    if text_white:
        v["text_value"] = 1.0
    collimation = (0.0, 0.0) if off["collimation"] else (col_lo, col_hi)
    return SiteProfile(name=name, description="random imaging chain (training.sitesim.random_chain)",
                       **v, **ints, **picks, collimation=collimation)


def random_chain(rng: np.random.Generator, name: str = "random") -> SiteProfile:
    """A random imaging chain from :data:`RANGES`, never within :data:`EXCLUSION` of a shipped
    profile."""
    shipped = [load_site_profile(n) for n in available_profiles()]
    while True:
        p = _draw(rng, name)
        if all(distance(p, s) >= EXCLUSION for s in shipped):
            return p


def training_rng(seed: int) -> np.random.Generator:
    """The generator training draws its chains from (disjoint from :func:`eval_chain`'s)."""
    return np.random.default_rng([TRAIN_STREAM, int(seed)])


def eval_chain(seed: int) -> SiteProfile:
    """Evaluation chain number ``seed`` (its own stream; no training seed reproduces it)."""
    return random_chain(np.random.default_rng([EVAL_STREAM, int(seed)]), name=f"random_eval_{seed}")


def inside_ranges(p: SiteProfile) -> list[str]:
    """The parameters of ``p`` outside the sampler's ranges (empty: the chain is covered)."""
    bad = [n for n, (lo, hi, _) in RANGES.items() if not lo - 1e-12 <= float(getattr(p, n)) <= hi + 1e-12]
    bad += [n for n, (lo, hi) in INT_RANGES.items() if not lo <= int(getattr(p, n)) <= hi]
    bad += [n for n, c in CHOICES.items() if getattr(p, n) not in c]
    lo, hi = p.collimation
    if not (COLLIMATION_MIN[0] <= lo <= COLLIMATION_MIN[1] and hi - lo <= COLLIMATION_SPAN[1]):
        bad.append("collimation")
    return bad


def ranges_record() -> dict:
    """The ranges as JSON, for a model manifest."""
    return {"continuous": {n: {"low": lo, "high": hi, "log_uniform": log} for n, (lo, hi, log) in RANGES.items()},
            "integer": {n: list(r) for n, r in INT_RANGES.items()},
            "choices": {n: list(c) for n, c in CHOICES.items()},
            "collimation_min": list(COLLIMATION_MIN), "collimation_span": list(COLLIMATION_SPAN),
            "off_probability": OFF, "exclusion_distance": EXCLUSION,
            "train_stream": TRAIN_STREAM, "eval_stream": EVAL_STREAM}


def write_eval_chains(out_dir: Path, seeds: tuple[int, ...] = EVAL_SEEDS) -> list[Path]:
    """Write ``random_eval_<seed>.json`` profiles (scored with ``protocol.py --site-profile``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in seeds:
        p = eval_chain(s)
        path = out_dir / f"{p.name}.json"
        path.write_text(json.dumps(p.to_dict(), indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the evaluation chains as profile JSON files.")
    ap.add_argument("--write-eval", type=Path, default=EVAL_DIR)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS))
    args = ap.parse_args(argv)
    for path in write_eval_chains(args.write_eval, tuple(args.seeds)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
