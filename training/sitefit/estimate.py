"""A time estimate from a short timed trial of the real training on this machine (not a guess).

Loads a few of the site's and the reference's images, builds the run's networks, warms up two
steps, then times steps for about ``budget_s`` seconds; the estimate scales the measured time
per step and per loaded image to the whole run and adds the measured export time's bound.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

EXPORT_S = 15.0  # ONNX export + parity of a quick package, measured ~8-12 s on the 2-core CPU


def estimate(args: argparse.Namespace, ref_images: Path | None, plan: dict[str, Any],
             base: Path | None = None, budget_s: float = 6.0) -> dict[str, Any]:
    if args.method == "histogram":
        return {"method": "histogram", "total_s": 0.0, "seconds_per_step": 0.0, "steps": 0,
                "device": "cpu", "cuda_available": False}
    if args.method == "universal":
        assert base is not None and ref_images is not None
        return estimate_universal(args, base, ref_images, plan, budget_s)
    import torch

    from training.gan.config import preset_config
    from training.gan.data import UnpairedCrops, list_images, read_image
    from training.gan.train import Trainer
    from xray_harmonizer.imaging.transfer import resize, working_shape

    torch.set_num_threads(1)
    cfg = preset_config(args.method, args.preset, seed=args.seed, steps=args.steps)
    cuda = torch.cuda.is_available()
    use_cuda = args.device == "cuda" or (args.device == "auto" and cuda)
    device = torch.device("cuda" if use_cuda else "cpu")
    ref_files = list_images(ref_images) if ref_images is not None else []
    site_files = [Path(p) for p in plan["train"]]
    t0 = time.perf_counter()
    sample = [*ref_files[:6], *site_files[:6]]
    images = []
    for f in sample:
        img = read_image(f)
        images.append(resize(img, working_shape(img.shape, cfg.working_size)))
    load_per_image = (time.perf_counter() - t0) / max(1, len(sample))
    half = len(images) // 2
    trainer = Trainer(cfg, UnpairedCrops(images[:half] or images, images[half:] or images,
                                         cfg.crop_size, cfg.seed), device, 1)
    for _ in range(2):
        trainer.step()
    n, t1 = 0, time.perf_counter()
    while n < 3 or (time.perf_counter() - t1 < budget_s and n < cfg.steps):
        trainer.step()
        n += 1
    per_step = (time.perf_counter() - t1) / n
    loading = load_per_image * (len(ref_files) + len(site_files))
    total = per_step * cfg.steps + loading + EXPORT_S
    return {"method": args.method, "preset": args.preset, "steps": cfg.steps,
            "seconds_per_step": round(per_step, 4), "timed_steps": n,
            "loading_s": round(loading, 1), "total_s": round(total, 1), "device": str(device),
            "cuda_available": bool(cuda)}


def estimate_universal(args: argparse.Namespace, base: Path, ref_images: Path,
                       plan: dict[str, Any], budget_s: float) -> dict[str, Any]:
    """Time the fine-tune's two parts on this machine: chain candidates scored (each runs the
    chain on the probe images and measures them) and training steps."""
    import numpy as np
    import torch

    from training.gan.data import list_images, read_image
    from training.sitefit.cli import UNIVERSAL_PRESETS
    from training.sitesim import apply_site
    from training.sitesim.random_chain import random_chain
    from training.universal.data import make_pair
    from training.universal.export import load_weights
    from training.universal.finetune import FitSettings, image_stats
    from training.universal.train import terms_of_base, train_step
    from xray_harmonizer.imaging.transfer import resize, working_shape

    torch.set_num_threads(1)
    steps, candidates = UNIVERSAL_PRESETS[args.preset]
    steps = args.steps if args.steps is not None else steps
    model, manifest = load_weights(base)
    working = int(manifest["input"]["working_size"])
    terms = terms_of_base(manifest)
    s = FitSettings(working_size=working)
    t0 = time.perf_counter()
    files = list_images(ref_images)[:4] + [Path(p) for p in plan["train"][:4]]
    # As the fit loads them: reference images at the pairs' size, probes at the working size.
    big = [resize(im, working_shape(im.shape, working * s.oversample)) for im in map(read_image, files)]
    images = [resize(im, working_shape(im.shape, working)) for im in big]
    load_per_image = (time.perf_counter() - t0) / len(files)
    rng = np.random.default_rng(0)
    t1, n_candidates = time.perf_counter(), 0
    while n_candidates < 2 or (time.perf_counter() - t1 < budget_s / 3 and n_candidates < 8):
        chain = random_chain(rng)
        for im in images[:s.probe_images]:
            image_stats(apply_site(im, chain, rng))
        n_candidates += 1
    per_candidate = (time.perf_counter() - t1) / n_candidates * s.probe_images / min(len(images), s.probe_images)
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    t2, n = time.perf_counter(), 0
    while n < 3 or (time.perf_counter() - t2 < budget_s * 2 / 3 and n < steps):
        train_step(model, opt, [make_pair(big[n % len(big)], rng, working, 0.0, oversample=s.oversample)],
                   s.ssim_weight, terms)
        n += 1
    per_step = (time.perf_counter() - t2) / n
    n_files = min(len(plan["train"]), s.site_images) + min(len(list_images(ref_images)), 200)
    loading = load_per_image * n_files
    total = per_step * steps + per_candidate * candidates + loading + EXPORT_S
    return {"method": "universal", "preset": args.preset, "steps": steps,
            "seconds_per_step": round(per_step, 4), "timed_steps": n,
            "search_s": round(per_candidate * candidates, 1),
            "loading_s": round(loading, 1), "total_s": round(total, 1), "device": "cpu",
            "cuda_available": bool(torch.cuda.is_available())}
