"""Train the universal generalizer on (chain(x), x) pairs and export it as a model package.

    OMP_NUM_THREADS=1 python -m training.universal.train -o resources/models/universal-kermany \
        --steps 6000 --seed 0 --run-dir runs/universal > training/universal/logs/NAME.log 2>&1

One torch thread (the machine is shared); batch 1 (whole images at the working size, aspect
kept, as the app runs them); Adam with a cosine schedule after a short warm-up; loss
``L1 + 0.5 * (1 - SSIM)`` (``--ssim-weight``) on the image minus its reflect padding. Every ``--eval-every`` steps the
loss on a fixed set of pairs from the classifier's *validation* split (chains from another
stream) is logged. The checkpoint is written atomically, loaded with ``weights_only=True``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from training.sitesim.random_chain import TRAIN_STREAM, training_rng
from training.universal.data import Pair, load_images, make_pair, pad_to, split_files
from training.universal.model import UNetConfig, UniversalUNet

log = logging.getLogger("training.universal")
REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO.parent / "shared" / "data" / "cxr" / "kermany"
DEFAULT_SPLITS = REPO / "resources" / "models" / "classifier-kermany-pneumonia" / "splits.json"


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 6000
    lr: float = 1e-3
    warmup: int = 100
    working_size: int = 256
    identity_share: float = 0.1
    ssim_weight: float = 0.5
    seed: int = 0
    oversample: int = 2  # the chain runs at this multiple of the working size (see make_pair)
    task_weight: float = 0.0  # weight of the classifier-feature term (training.universal.task_loss)
    hard_of: int = 1  # draw this many pairs a step and train on the one with the highest loss
    logit_weight: float = 0.0  # share of the classifier term given to its logit (task_loss)
    blob_weight: float = 0.0  # weight of the lesion-like error term (training.universal.detail_loss)
    gain_weight: float = 0.0  # weight of the detail-gain term (training.universal.detail_loss)


def _gauss_window(sigma: float = 1.5, size: int = 11) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


_WINDOW = _gauss_window()


def ssim_torch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of (N, 1, H, W) images in [0, 1] (Gaussian 11x11, sigma 1.5; valid region)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    w = _WINDOW.to(x)
    mx, my = F.conv2d(x, w), F.conv2d(y, w)
    sxx = F.conv2d(x * x, w) - mx * mx
    syy = F.conv2d(y * y, w) - my * my
    sxy = F.conv2d(x * y, w) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean()


class TaskLoss(Protocol):
    """A term on (output, truth), both (1, 1, H, W) (:class:`~training.universal.task_loss.ClassifierFeatureLoss`)."""

    def __call__(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


Term = tuple[float, TaskLoss]  # a weight and a term added to L1 + SSIM


def pair_loss(model: UniversalUNet, pair: Pair, ssim_weight: float,
              terms: Sequence[Term] = ()) -> tuple[torch.Tensor, float, float]:
    """Loss on one pair (L1 + ``ssim_weight`` (1 - SSIM) + each weighted term); returns
    (loss, L1, SSIM) on the unpadded image."""
    h, w = pair.shifted.shape
    x = torch.from_numpy(pad_to(pair.shifted, model.multiple))[None, None]
    y = torch.from_numpy(pair.target)[None, None]
    out = model(x)[:, :, :h, :w]
    l1 = (out - y).abs().mean()
    s = ssim_torch(out, y)
    loss = l1 + ssim_weight * (1 - s)
    for weight, term in terms:
        loss = loss + weight * term(out, y)
    return loss, float(l1.detach()), float(s.detach())


def terms_of_base(base: dict[str, Any]) -> list[Term]:
    """The weighted terms a universal package was trained with, from its manifest, for a site
    fit that starts from it: the classifier-feature term (the recorded classifier, installed,
    :func:`~training.universal.task_loss.loss_of_base`) and the lesion-like error term at the
    package's working size. A fit does not train towards other goals than its base did."""
    from training.universal.task_loss import loss_of_base

    task, task_weight = loss_of_base(base)
    terms: list[Term] = [] if task is None else [(task_weight, task)]
    return terms + detail_terms(base["training"]["settings"], int(base["input"]["working_size"]))


# The settings that weight a loss term; a package's manifest records them and a site fit from it
# trains (and records) the same (training.universal.finetune.FitSettings).
TERM_WEIGHTS = ("task_weight", "logit_weight", "blob_weight", "gain_weight")


def detail_terms(settings: dict[str, Any], working_size: int) -> list[Term]:
    """The :mod:`training.universal.detail_loss` terms ``settings`` (a package's recorded
    training settings, or :class:`TrainSettings` as a dict) give a weight above 0."""
    from training.universal.detail_loss import DetailGainLoss, LesionLikeErrorLoss

    made = {"blob_weight": LesionLikeErrorLoss, "gain_weight": DetailGainLoss}
    return [(float(settings[key]), cls(working_size)) for key, cls in made.items()
            if float(settings.get(key, 0.0)) > 0]


class Schedule(Protocol):
    """What :func:`lr_at` reads (:class:`TrainSettings`, a site fit's settings)."""

    steps: int
    lr: float
    warmup: int


def train_step(model: UniversalUNet, opt: torch.optim.Optimizer, pairs: Sequence[Pair],
               ssim_weight: float, terms: Sequence[Term] = ()) -> tuple[float, float]:
    """One optimiser step on the hardest of ``pairs`` (highest loss; gradient norm clipped at
    1); returns its (L1, SSIM). With one pair, plain SGD. Several (``--hard-of``): the chains
    that clip most of the field are a small share of the sampler's draws and the network's worst
    sites; training on the worse of two draws spends more steps on them without naming them.
    Measured once (v19 against its control v20, ``training/universal/README.md``): within the
    validation table's noise, so the bundled package does not use it."""
    losses = [pair_loss(model, p, ssim_weight, terms) for p in pairs]
    loss, l1, s = max(losses, key=lambda r: float(r[0].detach()))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return l1, s


def lr_at(step: int, s: Schedule) -> float:
    """Linear warm-up over ``s.warmup`` steps, then cosine from ``s.lr`` down to 1e-5."""
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    t = (step - s.warmup) / max(1, s.steps - s.warmup)
    return 1e-5 + (s.lr - 1e-5) * 0.5 * (1 + math.cos(math.pi * t))


def save_checkpoint(path: Path, model: UniversalUNet, opt: torch.optim.Optimizer, step: int,
                    rng: np.random.Generator, seconds: float, settings: object) -> None:
    """Atomically (tmp + rename); ``settings`` is a dataclass, recorded as its fields."""
    tmp = path.with_suffix(".pt.part")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "rng": json.dumps(rng.bit_generator.state), "train_seconds": seconds,
                "settings": settings.__dict__, "unet": model.config.to_dict()}, tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, required=True, help="package folder to write")
    ap.add_argument("--name", default=None)
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    ap.add_argument("--splits", type=Path, default=DEFAULT_SPLITS, help="the classifier's splits.json")
    ap.add_argument("--steps", type=int, default=TrainSettings.steps)
    ap.add_argument("--lr", type=float, default=TrainSettings.lr)
    ap.add_argument("--working-size", type=int, default=TrainSettings.working_size)
    ap.add_argument("--widths", type=int, nargs="+", default=list(UNetConfig.widths))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--oversample", type=int, default=TrainSettings.oversample,
                    help="run the chains at this multiple of the working size, then shrink")
    ap.add_argument("--task-weight", type=float, default=TrainSettings.task_weight,
                    help="weight of the reference classifier's feature term (training.universal.task_loss)")
    ap.add_argument("--classifier", type=Path, default=None,
                    help="classifier package for --task-weight (default: the one --splits belongs to)")
    ap.add_argument("--logit-weight", type=float, default=TrainSettings.logit_weight,
                    help="add this times |logit(out) - logit(truth)| to the classifier term")
    ap.add_argument("--ssim-weight", type=float, default=TrainSettings.ssim_weight,
                    help="weight of (1 - SSIM) next to L1")
    ap.add_argument("--blob-weight", type=float, default=TrainSettings.blob_weight,
                    help="weight of the lesion-like error term (training.universal.detail_loss)")
    ap.add_argument("--gain-weight", type=float, default=TrainSettings.gain_weight,
                    help="weight of the detail-gain term (training.universal.detail_loss)")
    ap.add_argument("--hard-of", type=int, default=TrainSettings.hard_of,
                    help="pairs drawn per step; the step trains on the one with the highest loss")
    ap.add_argument("--limit", type=int, default=None, help="use only N training images (tests)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-images", type=int, default=24)
    ap.add_argument("--run-dir", type=Path, default=None, help="checkpoint folder (default: output/../.run)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from this universal package's hashed weights (its architecture; a fresh "
                         "optimiser and schedule), e.g. to train a bundled network at a larger working size")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    settings = TrainSettings(steps=args.steps, lr=args.lr, working_size=args.working_size, seed=args.seed,
                             oversample=args.oversample, task_weight=args.task_weight,
                             hard_of=args.hard_of, blob_weight=args.blob_weight, logit_weight=args.logit_weight,
                             gain_weight=args.gain_weight, ssim_weight=args.ssim_weight)
    terms: list[Term] = []
    task_loss = None
    if settings.task_weight > 0:
        from training.universal.task_loss import ClassifierFeatureLoss

        task = ClassifierFeatureLoss(args.classifier or args.splits.parent, settings.logit_weight)
        task_loss = task.record
        terms.append((settings.task_weight, task))
    terms += detail_terms(settings.__dict__, settings.working_size)
    files = split_files(args.reference, args.splits, "train")[:args.limit]
    val_files = split_files(args.reference, args.splits, "val")[:args.eval_images]
    images, val_images = load_images(files), load_images(val_files)
    val_rng = np.random.default_rng([TRAIN_STREAM, args.seed, 1])  # not the training stream
    val_pairs = [make_pair(im, val_rng, settings.working_size, 0.0, oversample=settings.oversample)
                 for im in val_images]
    if args.init is not None:
        from training.universal.export import load_weights

        model, _ = load_weights(args.init)
        log.info("initialised from %s", args.init)
    else:
        model = UniversalUNet(UNetConfig(tuple(args.widths)))
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    rng = training_rng(args.seed)
    run_dir = args.run_dir or args.output.parent / f".{args.output.name}-run"
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / "checkpoint.pt"
    step, seconds = 0, 0.0
    if args.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, seconds = int(state["step"]), float(state["train_seconds"])
        rng.bit_generator.state = json.loads(state["rng"])
        log.info("resumed at step %d", step)
    log.info("%d training images (split 'train'), %d val pairs, %d parameters, working size %d",
             len(images), len(val_pairs), sum(p.numel() for p in model.parameters()), settings.working_size)
    t0, run_l1, run_ssim = time.time() - seconds, [], []
    while step < settings.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, settings)
        pairs = [make_pair(images[int(rng.integers(len(images)))], rng, settings.working_size,
                           settings.identity_share, oversample=settings.oversample)]
        # An identity step stays one (its share of steps as without mining; it would hardly
        # ever be the worse draw); otherwise the other candidates are chains.
        while not pairs[0].identity and len(pairs) < settings.hard_of:
            pairs.append(make_pair(images[int(rng.integers(len(images)))], rng, settings.working_size,
                                   0.0, oversample=settings.oversample))
        l1, s = train_step(model, opt, pairs, settings.ssim_weight, terms)
        step += 1
        run_l1.append(l1)
        run_ssim.append(s)
        if step % args.eval_every == 0 or step == settings.steps:
            model.eval()
            with torch.no_grad():
                v = [pair_loss(model, p, settings.ssim_weight)[1:] for p in val_pairs]
                base = [(float(np.abs(p.shifted - p.target).mean())) for p in val_pairs]
            model.train()
            elapsed = time.time() - t0
            log.info("step %d/%d  train L1 %.4f SSIM %.4f | val L1 %.4f (input %.4f) SSIM %.4f | "
                     "%.2f s/step, %.0f s, ETA %.0f s", step, settings.steps, np.mean(run_l1),
                     np.mean(run_ssim), np.mean([a for a, _ in v]), np.mean(base),
                     np.mean([b for _, b in v]), elapsed / step if not args.resume else 0.0,
                     elapsed, elapsed / step * (settings.steps - step))
            run_l1, run_ssim = [], []
            save_checkpoint(ckpt, model, opt, step, rng, time.time() - t0, settings)
    seconds = time.time() - t0
    from training.universal.export import write_package

    command = "python -m training.universal.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    classifier = json.loads((args.splits.parent / "manifest.json").read_text(encoding="utf-8"))
    write_package(args.output, model.eval(), settings, name=args.name, command=command,
                  reference_site=str(classifier["reference_site"]),
                  train_seconds=seconds, n_images=len(images),
                  parity_images=[p.shifted for p in val_pairs[:4]], task_loss=task_loss)
    log.info("done: %d steps in %.0f s; package %s", step, seconds, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
