"""Train the reference-site classifier from scratch and ship it as a model package.

    python -m training.classifier.train --data ../shared/data/cxr/kermany --seed 0 \
        --out resources/models/classifier-kermany-pneumonia

``--augment-sites`` adds random site profiles (training/sitesim) as intensity augmentation: the
paper's second contribution, shipped as a separate package.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("training.classifier")


@dataclass(frozen=True)
class TrainConfig:
    """One training run (saved in the package manifest)."""

    data: str
    out: str
    labels: str | None = None
    seed: int = 0
    size: int = 224
    epochs: int = 30
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 5e-4
    threads: int = 1
    augment_sites: bool = False
    site_probability: float = 0.8
    balance_aspect: bool = True
    label: str = "Pneumonia"
    reference_site: str = "kermany-pediatric"
    name: str = "classifier-kermany-pneumonia"


def random_box(shape: tuple[int, int], rng: np.random.Generator) -> tuple[float, float, float, float]:
    """A random near-square crop (75-100 % of the short side, aspect jitter +-10 %)."""
    h, w = shape
    side = min(h, w) * rng.uniform(0.75, 1.0)
    bw = min(w, side * rng.uniform(0.9, 1.1))
    bh = min(h, side * rng.uniform(0.9, 1.1))
    x0 = rng.uniform(0, w - bw)
    y0 = rng.uniform(0, h - bh)
    return (x0, y0, x0 + bw, y0 + bh)


def aspect_weights(aspect: np.ndarray, labels: np.ndarray, n_bins: int = 6,
                   clip: tuple[float, float] = (0.25, 4.0)) -> np.ndarray:
    """Per-sample loss weights that balance the classes within aspect-ratio bins.

    In the Kermany data the aspect ratio (and, through the square crop, the apparent size of the
    chest) predicts the class; weighting each bin's classes equally removes most of that incentive.
    Clipped because the widest bins hold almost only pneumonia.
    """
    edges = np.quantile(aspect, np.linspace(0, 1, n_bins + 1)[1:-1])
    bins = np.digitize(aspect, edges)
    w = np.ones(len(labels))
    for b in np.unique(bins):
        sel = bins == b
        for y in (0, 1):
            n = int((sel & (labels == y)).sum())
            if n:
                w[sel & (labels == y)] = sel.sum() / (2.0 * n)
    w = np.clip(w, *clip)
    return w / w.mean()


def augment(image: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Random crop, flip, blur (kills residual JPEG texture) and optionally a random site."""
    from scipy import ndimage

    from training.sitesim import apply_site, random_profile
    from xray_harmonizer.classifier.preprocess import crop_resize

    x = crop_resize(image, cfg.size, random_box(image.shape, rng))
    if rng.random() < 0.5:
        x = x[:, ::-1]
    if rng.random() < 0.3:
        x = ndimage.gaussian_filter(x, rng.uniform(0.3, 1.0))
    if cfg.augment_sites and rng.random() < cfg.site_probability:
        x = apply_site(np.ascontiguousarray(x, dtype=np.float32), random_profile(rng), rng)
    return np.ascontiguousarray(x, dtype=np.float32)


def predict_torch(net, images: list[np.ndarray], size: int, batch: int = 64) -> np.ndarray:
    """Probabilities for full images (the app's centre-crop preprocessing)."""
    import torch

    from xray_harmonizer.classifier.preprocess import prepare_batch

    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(prepare_batch(images[i:i + batch], size))
            out.append(torch.sigmoid(net(x)).numpy())
    return np.concatenate(out).astype(np.float64)


def train(cfg: TrainConfig, argv: list[str]) -> dict:
    import torch

    from .dataset import discover, load_image, split_by_patient, write_split
    from .evaluate import _auc, auc_ci, operating_point, youden_threshold
    from .export import build_package
    from .model import SmallCnn
    from .shortcuts import shortcut_checks

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    samples = discover(cfg.data, cfg.labels)
    split = split_by_patient(samples, cfg.seed)
    by_name = {s.name: s for s in samples}
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    write_split(split, out / "splits.json", seed=cfg.seed, data=Path(cfg.data).name)
    data = {k: ([load_image(by_name[n].path) for n in v], np.array([by_name[n].label for n in v]))
            for k, v in split.items()}
    log.info("images: %s", {k: (len(v[0]), int(v[1].sum())) for k, v in data.items()})

    net = SmallCnn()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_x, train_y = data["train"]
    steps_per_epoch = int(np.ceil(len(train_x) / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.15)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    aspects = np.array([im.shape[1] / im.shape[0] for im in train_x])
    weights = (aspect_weights(aspects, train_y) if cfg.balance_aspect else np.ones(len(train_y)))
    weights_t = torch.from_numpy(weights.astype(np.float32))
    best = (-1.0, None, -1)
    for epoch in range(cfg.epochs):
        net.train()
        order = rng.permutation(len(train_x))
        losses = []
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = torch.from_numpy(np.stack([augment(train_x[j], cfg, rng) for j in idx])[:, None])
            y = torch.from_numpy(train_y[idx].astype(np.float32))
            loss = (loss_fn(net(x), y) * weights_t[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        val_scores = predict_torch(net, data["val"][0], cfg.size)
        val_auc = _auc(data["val"][1], val_scores)
        log.info("epoch %d/%d loss %.4f val AUC %.4f (%.0f s)", epoch + 1, cfg.epochs,
                 float(np.mean(losses)), val_auc, time.time() - t0)
        if val_auc >= best[0]:
            best = (val_auc, {k: v.clone() for k, v in net.state_dict().items()}, epoch + 1)
    net.load_state_dict(best[1])
    net.eval()
    train_seconds = time.time() - t0

    val_scores = predict_torch(net, data["val"][0], cfg.size)
    threshold = youden_threshold(data["val"][1], val_scores)
    test_x, test_y = data["test"]
    test_scores = predict_torch(net, test_x, cfg.size)
    test = {**auc_ci(test_y, test_scores), **operating_point(test_y, test_scores, threshold)}
    checks = shortcut_checks(lambda ims: predict_torch(net, ims, cfg.size), test_x, test_y)
    log.info("best epoch %d (val AUC %.4f); test AUC %.4f [%.4f, %.4f]; shortcut checks %s",
             best[2], best[0], test["auc"], test["ci_low"], test["ci_high"], json.dumps(checks))
    command = "python -m training.classifier.train " + shlex.join(argv)
    training = {
        "config": dataclasses.asdict(cfg), "command": command, "seed": cfg.seed,
        "data": "Kermany pediatric CXR sample (shared/data/cxr/kermany), normal vs pneumonia"
                if (Path(cfg.data) / "manifest.csv").is_file() else Path(cfg.data).name,
        "split": {k: len(v) for k, v in split.items()}, "split_file": "splits.json",
        "best_epoch": best[2], "training_seconds": round(train_seconds, 1),
        "threads": cfg.threads, "machine": platform.processor() or platform.machine(),
        "augmentation": ("random crop 75-100% of the short side, flip, blur"
                         + (", random site profiles (training.sitesim.random_profile)"
                            if cfg.augment_sites else "")),
        "shortcut_guards": ("centre square crop (no letterbox: aspect ratio cannot reach the network); "
                            "antialiased downsampling 512->%d px and random blur (JPEG block texture)"
                            % cfg.size + ("; loss weights balancing the classes within aspect-ratio bins"
                                          if cfg.balance_aspect else "")),
    }
    evaluation = {"validation_auc": best[0], "operating_threshold": threshold,
                  "operating_point_rule": "Youden J on the validation split",
                  "test": test, "shortcut_checks": checks}
    manifest = build_package(out, net, name=cfg.name, size=cfg.size, label=cfg.label,
                             reference_site=cfg.reference_site, training=training, evaluation=evaluation)
    return manifest


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="xray-harmonizer train classifier", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    d = TrainConfig(data="", out="")
    ap.add_argument("--data", required=True, help="folder with manifest.csv, NLM-named images, or --labels")
    ap.add_argument("--labels", default=None, help="CSV with file,label[,patient] columns")
    ap.add_argument("--out", required=True, help="package folder to write")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--size", type=int, default=d.size)
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--threads", type=int, default=d.threads)
    ap.add_argument("--no-balance-aspect", action="store_true",
                    help="do not weight the loss to balance classes within aspect-ratio bins")
    ap.add_argument("--augment-sites", action="store_true", help="random site profiles as augmentation")
    ap.add_argument("--label", default=d.label, help='what the classifier predicts, e.g. "Tuberculosis"')
    ap.add_argument("--reference-site", default=d.reference_site)
    ap.add_argument("--name", default=None, help="package name (default: the output folder's name)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    a = build_parser().parse_args(argv)
    cfg = TrainConfig(data=a.data, out=a.out, labels=a.labels, seed=a.seed, size=a.size, epochs=a.epochs,
                      batch_size=a.batch_size, lr=a.lr, threads=a.threads, augment_sites=a.augment_sites,
                      balance_aspect=not a.no_balance_aspect,
                      label=a.label, reference_site=a.reference_site,
                      name=a.name or Path(a.out).name)
    try:
        manifest = train(cfg, argv)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t = manifest["evaluation"]["test"]
    print(f"{cfg.out}: test AUC {t['auc']:.4f} [{t['ci_low']:.4f}, {t['ci_high']:.4f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
