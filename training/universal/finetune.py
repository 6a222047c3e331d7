"""Fit the universal generalizer to one site's own unlabeled images in minutes (the wizard's fast path).

    OMP_NUM_THREADS=1 python -m training.universal.finetune --base PKG --site DIR \
        --reference DIR -o OUT_PKG [--steps 500] [--seed 0] [--run-dir DIR] [--events FILE] \
        [--preview-image FILE] [--resume]

A site's images have no truth to pair with, but the chain sampler can be *steered* to chains
that make reference images look like them; the pairs those chains give are supervised, so the
fit keeps what the universal training keeps (anatomy, lesions) and no adversary can paint.

1. **Chain search.** ``--candidates`` chains are drawn from the universal sampler (their own
   seed stream), each applied to ``--probe-images`` reference images at the working size with the
   site's noise level (the site's own image size gives the shrink, see
   :func:`training.universal.data.shrink_noise_sd`). :func:`image_stats` (intensity quantiles of
   the central field, detail energy at five scales) of those images is compared with the site's
   mean, each statistic scaled by its spread over the candidates; the ``--keep`` closest chains
   are kept (``chains.json`` in the run folder, with their distances).
2. **Fine-tuning.** The universal network from the base package's hashed safetensors weights,
   trained on ``(chain(x), x)`` pairs of the reference images with a kept chain (a new per-image
   draw each time), plus a share of general random chains and identity pairs so that it stays
   universal; Adam, warm-up then cosine, the universal loss. Checkpoints every 100 steps;
   ``--resume`` continues; progress as JSON lines (``training/gan/events.py``).
3. **Export** as a universal package recording the base, the kept chains and the settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from training.gan.data import list_images, read_image
from training.gan.events import EventLog, translate_preview
from training.sitesim import SiteProfile, apply_site, profile_from_dict
from training.sitesim.random_chain import random_chain
from training.universal.data import (make_pair, random_training_chain, shrink_noise_sd,
                                     with_noise_sd)
from training.universal.export import load_weights, write_package
from training.universal.train import TERM_WEIGHTS, lr_at, save_checkpoint, terms_of_base, train_step
from xray_harmonizer.imaging.transfer import resize, working_shape

log = logging.getLogger("training.universal.finetune")
FIT_STREAM = 0x66695453  # "fiTS": chain candidates, never the training or evaluation stream
QUANTILES = (0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98)
SIGMAS = (0.7, 1.5, 3.0, 6.0, 12.0)  # working-size pixels
BORDER = 0.08  # share of each side left out of the quantiles (collimation, labels)


@dataclass(frozen=True)
class FitSettings:
    steps: int = 500
    lr: float = 3e-4
    warmup: int = 20
    candidates: int = 192
    keep: int = 8
    probe_images: int = 6
    site_images: int = 64
    general_share: float = 0.2
    identity_share: float = 0.1
    ssim_weight: float = 0.5
    seed: int = 0
    working_size: int = 256  # the base package's
    oversample: int = 2  # pairs as in training (training.universal.data.make_pair)
    # The base package's term weights (training.universal.train.TERM_WEIGHTS, terms_of_base)
    task_weight: float = 0.0
    logit_weight: float = 0.0
    blob_weight: float = 0.0
    gain_weight: float = 0.0


def image_stats(image: np.ndarray) -> np.ndarray:
    """What a chain leaves on an image at the working size: the intensity quantiles of its
    central field (:data:`QUANTILES`) and the log SD of its detail at each scale of
    :data:`SIGMAS` (difference of Gaussians: blur and noise show at the fine scales,
    unsharp masking and multi-scale enhancement at the middle ones, dynamic-range compression
    at the coarse ones)."""
    h, w = image.shape
    dh, dw = int(h * BORDER), int(w * BORDER)
    centre = image[dh:h - dh, dw:w - dw]
    q = np.quantile(centre, QUANTILES)
    x = image.astype(np.float64)
    blurred = [x] + [gaussian_filter(x, s, mode="reflect") for s in SIGMAS]
    bands = [np.log(np.std((a - b)[dh:h - dh, dw:w - dw]) + 1e-4) for a, b in zip(blurred, blurred[1:])]
    return np.concatenate([q, bands]).astype(np.float64)


def search_chains(site: list[np.ndarray], probes: list[np.ndarray], noise_sd: float,
                  settings: FitSettings) -> list[tuple[SiteProfile, float]]:
    """The ``settings.keep`` sampler chains whose images look most like the site's, with their
    distances (ascending)."""
    target = np.mean([image_stats(im) for im in site], axis=0)
    rng = np.random.default_rng([FIT_STREAM, settings.seed])
    chains, stats = [], []
    for k in range(settings.candidates):
        chain = random_chain(rng, name=f"site-fit-{k}")
        seen = with_noise_sd(chain, noise_sd)
        stats.append(np.mean([image_stats(apply_site(p, seen, rng)) for p in probes], axis=0))
        chains.append(chain)
    s = np.array(stats)
    spread = s.std(axis=0) + 1e-6
    dist = np.sqrt((((s - target) / spread) ** 2).mean(axis=1))
    order = np.argsort(dist)[:settings.keep]
    return [(chains[i], float(dist[i])) for i in order]


def _load(folder: Path, working: int, limit: int) -> tuple[list[np.ndarray], list[int]]:
    """Up to ``limit`` images of ``folder`` (evenly spread over its sorted files) at the working
    size, and their native long sides. Unreadable files are skipped (the wizard's scan already
    left them out); none readable is an error."""
    files = list_images(folder)
    if len(files) > limit:
        files = [files[i] for i in np.linspace(0, len(files) - 1, limit).round().astype(int)]
    images, sizes = [], []
    for f in files:
        try:
            img = read_image(f)
        except Exception:  # noqa: BLE001 - one unreadable file never stops a fit
            continue
        sizes.append(max(img.shape))
        images.append(resize(img, working_shape(img.shape, working)))
    if not images:
        raise SystemExit(f"error: {folder}: no readable images")
    return images, sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True, help="the universal package to start from")
    ap.add_argument("--site", type=Path, required=True, help="the site's training images")
    ap.add_argument("--reference", type=Path, required=True, help="the reference site's images")
    ap.add_argument("-o", "--output", type=Path, required=True, help="package folder to write")
    ap.add_argument("--name", default=None)
    ap.add_argument("--steps", type=int, default=FitSettings.steps)
    ap.add_argument("--candidates", type=int, default=FitSettings.candidates)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-images", type=int, default=200,
                    help="reference images loaded for the pairs (evenly spread)")
    ap.add_argument("--run-dir", type=Path, default=None)
    ap.add_argument("--events", type=Path, default=None)
    ap.add_argument("--preview-image", type=Path, default=None)
    ap.add_argument("--preview-every", type=int, default=50)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--resume-hint", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    run_dir = args.run_dir or args.output.parent / f".{args.output.name}-run"
    run_dir.mkdir(parents=True, exist_ok=True)
    events = EventLog(args.events)
    t_start = time.time()
    model, base = load_weights(args.base)
    working = int(base["input"]["working_size"])
    terms = terms_of_base(base)
    base_settings = base["training"]["settings"]
    # The fit trains with the base's own loss: its SSIM weight and every term weight it recorded.
    s = FitSettings(steps=args.steps, candidates=args.candidates, seed=args.seed, working_size=working,
                    ssim_weight=float(base_settings.get("ssim_weight", FitSettings.ssim_weight)),
                    **{k: float(base_settings.get(k, 0.0)) for k in TERM_WEIGHTS})
    site, sizes = _load(args.site, working, s.site_images)
    refs, _ = _load(args.reference, working * s.oversample, args.reference_images)
    noise_sd = shrink_noise_sd(float(np.median(sizes)), working)
    chains_file = run_dir / "chains.json"
    if args.resume and chains_file.is_file():
        saved = json.loads(chains_file.read_text(encoding="utf-8"))
        kept = [(profile_from_dict(c["chain"]), float(c["distance"])) for c in saved["chains"]]
    else:
        t0 = time.time()
        probes = [resize(r, working_shape(r.shape, working))
                  for r in refs[:: max(1, len(refs) // s.probe_images)][:s.probe_images]]
        kept = search_chains(site, probes, noise_sd, s)
        tmp = chains_file.with_suffix(".part")
        tmp.write_text(json.dumps({"noise_sd": noise_sd, "chains": [
            {"chain": c.to_dict(), "distance": d} for c, d in kept]}, indent=1) + "\n", encoding="utf-8")
        tmp.replace(chains_file)
        log.info("chain search: %d candidates in %.0f s; kept distances %s", s.candidates,
                 time.time() - t0, " ".join(f"{d:.2f}" for _, d in kept))
    # The pairs' chains run at ``oversample`` x the working size; their noise is the site's as
    # that size sees it (the shrink to the working size then averages it as in use).
    pair_noise_sd = shrink_noise_sd(float(np.median(sizes)), working * s.oversample)
    site_chains = [with_noise_sd(c, pair_noise_sd) for c, _ in kept]
    rng = np.random.default_rng([FIT_STREAM, s.seed, 1])

    def draw(r: np.random.Generator, long: int) -> SiteProfile:
        if r.random() < s.general_share:
            return random_training_chain(r, long)
        return site_chains[int(r.integers(len(site_chains)))]

    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    ckpt = run_dir / "checkpoint.pt"
    step, seconds = 0, 0.0
    if args.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, seconds = int(state["step"]), float(state["train_seconds"])
        rng.bit_generator.state = json.loads(state["rng"])
        log.info("resumed at step %d", step)
    preview = None
    if args.preview_image is not None:
        img = read_image(args.preview_image)
        preview = resize(img, working_shape(img.shape, working))
    events.emit("start", step=step, steps=s.steps, device="cpu", resumed=step > 0)
    model.train()
    t0 = time.time() - seconds
    try:
        while step < s.steps:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, s)
            pair = make_pair(refs[int(rng.integers(len(refs)))], rng, working, s.identity_share, draw,
                             s.oversample)
            l1, ssim = train_step(model, opt, [pair], s.ssim_weight, terms)
            step += 1
            events.step(step, s.steps, {"L1": l1, "1-SSIM": 1.0 - ssim}, time.time() - t0)
            if preview is not None and args.preview_every and step % args.preview_every == 0:
                path = run_dir / "previews" / f"heldout-step{step:06d}.png"
                events.emit("preview", step=step, path=str(translate_preview(model, preview, "cpu", path)))
            if step % 100 == 0 or step == s.steps:
                save_checkpoint(ckpt, model, opt, step, rng, time.time() - t0, s)
                events.emit("checkpoint", step=step)
    except KeyboardInterrupt:
        events.emit("interrupted", step=step, checkpoint_step=step // 100 * 100)
        print(f"interrupted at step {step}; continue with: "
              f"{args.resume_hint or 'the same command with --resume'}", file=sys.stderr)
        return 130
    command = "python -m training.universal.finetune " + shlex.join(sys.argv[1:] if argv is None else argv)
    record = {"base": {"name": base["name"], "sha256": base["files"][base["entrypoint"]]},
              "settings": asdict(s), "noise_sd": round(noise_sd, 4), "site_images": len(site),
              "reference_images": len(refs),
              "chains": [{"name": c.name, "distance": round(d, 3)} for c, d in kept],
              "seconds": round(time.time() - t_start, 1)}
    model.eval()
    write_package(args.output, model, s, name=args.name or args.output.name,
                  reference_site=str(base["reference_site"]), command=command,
                  train_seconds=time.time() - t0, n_images=len(refs),
                  parity_images=[site[0]], fine_tune=record, task_loss=base["training"].get("task_loss"))
    events.emit("done", step=step, package=str(args.output))
    log.info("done: %d steps, %.0f s in all; package %s", step, time.time() - t_start, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
