"""Train a CycleGAN or UNIT generalizer on unlabeled, unpaired images and write a model package.

    python -m training.gan.train --arch cyclegan --reference REF_DIR --site SITE_DIR \
        -o resources/models/cyclegan-quick --preset quick --seed 0

Multi-GPU / multi-node: ``torchrun --nproc_per_node N -m training.gan.train ...`` (NCCL on CUDA,
gloo on CPU). Each rank draws its own crops; gradients are averaged by DistributedDataParallel.
Checkpoints (``<run-dir>/checkpoint.pt``, written atomically) hold every state needed to resume
bit-for-bit: weights, optimizers, schedulers, image pools and all random generators.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from training.gan import cyclegan, unit
from training.gan.config import ARCHS, PRESETS, TrainConfig, preset_config
from training.gan.data import UnpairedCrops, list_images, load_folder, read_image
from training.gan.events import EventLog, translate_preview
from training.gan.networks import ImagePool, lsgan_loss
from xray_harmonizer.imaging.transfer import resize, working_shape

log = logging.getLogger("training.gan")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="xray-harmonizer train generalizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=ARCHS, required=True)
    p.add_argument("--reference", type=Path, required=True,
                   help="folder of reference-site images (unlabeled)")
    p.add_argument("--reference-id", default=None,
                   help="id of the reference site written into the package (default: the "
                        "site_id of REFERENCE/profile.json, else the folder's name)")
    p.add_argument("--site", type=Path, required=True, help="folder of new-site images (unlabeled)")
    p.add_argument("-o", "--output", type=Path, required=True, help="model package folder to write")
    p.add_argument("--preset", choices=PRESETS, default="quick")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="default: cuda when available")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="override the preset's step count")
    p.add_argument("--lambda-identity", type=float, default=None,
                   help="CycleGAN identity weight in units of lambda_cycle (paper and default: 0.5)")
    p.add_argument("--lambda-structure", type=float, default=None,
                   help="weight of the optional structure term, 1 - local correlation of each "
                        "translation with its source (default 0: the paper's objective)")
    p.add_argument("--upsample", choices=("resize", "transpose"), default=None,
                   help="decoder upsampling: resize-conv (quick preset) or transposed conv "
                        "(the papers; full preset)")
    p.add_argument("--d-norm", choices=("instance", "none"), default=None,
                   help="discriminator normalisation (paper and default: instance)")
    p.add_argument("--resume", action="store_true", help="continue from <run-dir>/checkpoint.pt")
    p.add_argument("--preview-every", type=int, default=0, help="write a preview PNG every N steps")
    p.add_argument("--run-dir", type=Path, default=None,
                   help="checkpoints and previews (default: runs/<package name>)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    p.add_argument("--name", default=None, help="package name (default: output folder name)")
    p.add_argument("--data-info", type=Path, default=None,
                   help="JSON describing the data (e.g. demo_data's split.json); its scalar "
                        "fields go into the manifest's training.data")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--events", type=Path, default=None,
                   help="append progress as JSON lines to this file (see training/gan/events.py)")
    # The command that started this one (``train site``), so the Ctrl+C hint names that one.
    p.add_argument("--resume-hint", default=None, help=argparse.SUPPRESS)
    p.add_argument("--preview-image", type=Path, default=None,
                   help="with --preview-every: also write this (held-out) site image translated "
                        "by the current weights, next to the events file")
    return p.parse_args(argv)


def setup_distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world) from torchrun's environment; initialises the process group if > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return dist.get_rank(), world


class Trainer:
    """Model, optimizers, schedulers, pools and data of one run; ``step()`` is one G+D update."""

    def __init__(self, cfg: TrainConfig, data: UnpairedCrops, device: torch.device,
                 world: int) -> None:
        self.cfg, self.data, self.device = cfg, data, device
        # Initial weights (and UNIT's latent noise) come from this generator, never from the
        # global RNG: the same seed gives the same weights on every rank and in every process.
        self.model_gen = torch.Generator().manual_seed(cfg.seed)
        module = cyclegan if cfg.arch == "cyclegan" else unit
        self.gen_loss = module.generator_loss
        gens, discs = module.build(cfg.hparams, self.model_gen)  # type: ignore[arg-type]
        self.gens, self.discs = gens.to(device), discs.to(device)
        self.gen_run: nn.Module = self.gens
        self.disc_run: nn.Module = self.discs
        if world > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.gen_run = nn.parallel.DistributedDataParallel(self.gens, device_ids=ids)
            self.disc_run = nn.parallel.DistributedDataParallel(self.discs, device_ids=ids)
        wd = cfg.unit.weight_decay if cfg.arch == "unit" else 0.0
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.gens.parameters(), cfg.lr, betas=betas, weight_decay=wd)
        self.opt_d = torch.optim.Adam(self.discs.parameters(), cfg.lr, betas=betas, weight_decay=wd)
        keep = int(cfg.steps * (1.0 - cfg.decay_fraction))
        span = max(1, cfg.steps - keep)

        def rate(step: int) -> float:  # constant, then linear decay to 0 (the paper's schedule)
            return 1.0 if step < keep else max(0.0, 1.0 - (step - keep) / span)

        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, rate)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, rate)
        pool = cfg.cyclegan.pool_size if cfg.arch == "cyclegan" else 0
        self.pool_gen = torch.Generator().manual_seed(cfg.seed + 7919 * data.rank)
        self.pool_a, self.pool_b = ImagePool(pool, self.pool_gen), ImagePool(pool, self.pool_gen)
        self.step_index = 0
        self.train_seconds = 0.0

    def autocast(self) -> Any:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def step(self) -> dict[str, float]:
        """One generator update, then one discriminator update; the losses for the log."""
        real_a, real_b = (t.to(self.device) for t in self.data.sample(self.cfg.batch_size))
        out, logs = self.generator_step(real_a, real_b)
        logs["D"] = self.discriminator_step(real_a, real_b, out["fake_a"], out["fake_b"])
        self.sched_g.step()
        self.sched_d.step()
        self.step_index += 1
        return logs

    def generator_step(self, real_a: torch.Tensor, real_b: torch.Tensor
                       ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """Update G against frozen discriminators.

        D's parameters do not require grad during this forward, so backward computes no
        weight gradients for D (only the gradient through D to G's outputs). D runs without
        its DDP wrapper here: no D gradients to average, and its replicas are identical.
        """
        self.discs.requires_grad_(False)
        try:
            with self.autocast():
                out = self.gen_run(real_a, real_b)
                pred_a, pred_b = self.discs(out["fake_a"], out["fake_b"])
                loss_g, logs = self.gen_loss(self.cfg.hparams, out, real_a, real_b, pred_a,
                                             pred_b)
        finally:
            self.discs.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return out, logs

    def discriminator_step(self, real_a: torch.Tensor, real_b: torch.Tensor,
                           fake_a: torch.Tensor, fake_b: torch.Tensor) -> float:
        """Update D on real vs (pooled) fake, one call per domain (instance norm keeps the
        samples of a batch apart); the fakes are detached, so nothing flows back into G."""
        fake_a = self.pool_a.query(fake_a.detach().float())
        fake_b = self.pool_b.query(fake_b.detach().float())
        n = real_a.shape[0]
        with self.autocast():
            pa, pb = self.disc_run(torch.cat([real_a, fake_a]), torch.cat([real_b, fake_b]))
            loss_d = 0.5 * (lsgan_loss(pa[:n], True) + lsgan_loss(pa[n:], False)
                            + lsgan_loss(pb[:n], True) + lsgan_loss(pb[n:], False))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        return float(loss_d.detach())

    def state(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(), "step": self.step_index,
            "train_seconds": self.train_seconds,
            "gens": self.gens.state_dict(), "discs": self.discs.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
            "pool_a": self.pool_a.state(), "pool_b": self.pool_b.state(),
            "pool_rng": self.pool_gen.get_state(), "model_rng": self.model_gen.get_state(),
            "data_rng": self.data.state(),
        }

    def load(self, st: dict[str, Any]) -> None:
        self.gens.load_state_dict(st["gens"])
        self.discs.load_state_dict(st["discs"])
        self.opt_g.load_state_dict(st["opt_g"])
        self.opt_d.load_state_dict(st["opt_d"])
        self.sched_g.load_state_dict(st["sched_g"])
        self.sched_d.load_state_dict(st["sched_d"])
        self.pool_a.load(st["pool_a"], self.device)
        self.pool_b.load(st["pool_b"], self.device)
        self.pool_gen.set_state(st["pool_rng"])
        self.model_gen.set_state(st["model_rng"])
        self.data.load_state(st["data_rng"])
        self.step_index = int(st["step"])
        self.train_seconds = float(st["train_seconds"])


def save_checkpoint(trainer: Trainer, path: Path) -> None:
    """Write atomically (tmp + rename) so a kill mid-write never leaves a broken checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(trainer.state(), tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def write_preview(trainer: Trainer, path: Path) -> None:
    """PNG: reference crop | reference->site | site crop | site->reference."""
    from PIL import Image

    gens = trainer.gens
    gens.eval()
    with torch.no_grad():
        a = trainer.data.reference[0]
        b = trainer.data.site[0]
        m = gens.multiple
        a = a[: a.shape[0] // m * m, : a.shape[1] // m * m]
        b = b[: b.shape[0] // m * m, : b.shape[1] // m * m]
        ta = torch.from_numpy(a[None, None] * 2 - 1).float().to(trainer.device)
        tb = torch.from_numpy(b[None, None] * 2 - 1).float().to(trainer.device)
        if trainer.cfg.arch == "cyclegan":
            ab = gens.g_ab(ta)
        else:
            ab = gens.decode(gens.encode(ta, "a"), "b")
        ba = gens.translate(tb)
    gens.train()

    def img(t: torch.Tensor) -> np.ndarray:
        return ((t[0, 0].float().cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)

    row_a = np.concatenate([img(ta), img(ab)], axis=1)
    row_b = np.concatenate([img(tb), img(ba)], axis=1)
    width = max(row_a.shape[1], row_b.shape[1])
    canvas = np.zeros((row_a.shape[0] + row_b.shape[0], width), np.uint8)
    canvas[: row_a.shape[0], : row_a.shape[1]] = row_a
    canvas[row_a.shape[0]:, : row_b.shape[1]] = row_b
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``xray-harmonizer train generalizer``; returns the exit status."""
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(max(1, args.threads))
    if args.device == "cuda" and not torch.cuda.is_available():
        log.error("--device cuda asked for, but no CUDA device is usable")
        return 2
    use_cuda = args.device == "cuda" or (args.device is None and torch.cuda.is_available())
    device = torch.device("cpu")
    if use_cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    rank, world = setup_distributed(device)
    try:
        return _run(args, device, rank, world)
    except KeyboardInterrupt:
        # Ctrl+C: one line saying how to continue, no traceback. The last checkpoint (written
        # atomically every checkpoint_every steps) is intact; --resume continues from it.
        if rank == 0:
            cmd = ["xray-harmonizer", "train", "generalizer", *args.argv]
            if "--resume" not in cmd:
                cmd.append("--resume")
            hint = args.resume_hint or " ".join(shlex.quote(a) for a in cmd)
            print(f"\ninterrupted; continue with: {hint}", file=sys.stderr)
        return 130
    finally:
        if world > 1:
            dist.destroy_process_group()


def _run(args: argparse.Namespace, device: torch.device, rank: int, world: int) -> int:
    cfg = preset_config(args.arch, args.preset, seed=args.seed, steps=args.steps,
                        preview_every=args.preview_every, lambda_identity=args.lambda_identity,
                        lambda_structure=args.lambda_structure, upsample=args.upsample,
                        d_norm=args.d_norm)
    run_dir = args.run_dir or Path("runs") / args.output.name
    ckpt_path = run_dir / ("checkpoint.pt" if world == 1 else f"checkpoint-rank{rank}.pt")
    state = None
    if args.resume and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if TrainConfig.from_dict(state["config"]).to_dict() != cfg.to_dict():
            log.error("%s was written with another configuration; not resuming", ckpt_path)
            return 2
    ref = load_folder(args.reference, cfg.working_size, rank=rank)
    site = load_folder(args.site, cfg.working_size, rank=rank)
    data = UnpairedCrops(ref, site, cfg.crop_size, cfg.seed, rank)
    trainer = Trainer(cfg, data, device, world)
    if state is not None:
        trainer.load(state)
        if rank == 0:
            log.info("resumed at step %d", trainer.step_index)
    events = EventLog(args.events if rank == 0 else None)
    events.emit("start", step=trainer.step_index, steps=cfg.steps, device=str(device),
                resumed=state is not None)
    held_out = None
    if args.preview_image is not None and rank == 0:
        img = read_image(args.preview_image)
        held_out = resize(img, working_shape(img.shape, cfg.working_size))
    try:
        _loop(args, cfg, trainer, run_dir, ckpt_path, rank, events, held_out)
    except KeyboardInterrupt:
        events.emit("interrupted", step=trainer.step_index,
                    checkpoint_step=trainer.step_index // cfg.checkpoint_every
                    * cfg.checkpoint_every)
        raise
    if rank == 0:
        _package(args, trainer, ref, site, world)
        events.emit("done", step=trainer.step_index, package=str(args.output))
    return 0


def _loop(args: argparse.Namespace, cfg: TrainConfig, trainer: Trainer, run_dir: Path,
          ckpt_path: Path, rank: int, events: EventLog, held_out: np.ndarray | None) -> None:
    progress = None
    if rank == 0 and not args.no_progress:
        from tqdm import tqdm

        progress = tqdm(total=cfg.steps, initial=trainer.step_index, desc=cfg.arch,
                        dynamic_ncols=True, mininterval=2.0)
    while trainer.step_index < cfg.steps:
        t0 = time.perf_counter()
        logs = trainer.step()
        trainer.train_seconds += time.perf_counter() - t0
        i = trainer.step_index
        if progress is not None:
            progress.update(1)
            progress.set_postfix({k: f"{v:.3f}" for k, v in logs.items()}, refresh=False)
        events.step(i, cfg.steps, logs, trainer.train_seconds)
        if rank == 0 and cfg.preview_every and i % cfg.preview_every == 0:
            write_preview(trainer, run_dir / "previews" / f"step{i:06d}.png")
            if held_out is not None:
                path = run_dir / "previews" / f"heldout-step{i:06d}.png"
                events.emit("preview", step=i,
                            path=str(translate_preview(trainer.gens, held_out, trainer.device,
                                                       path)))
        if i % cfg.checkpoint_every == 0 or i == cfg.steps:
            save_checkpoint(trainer, ckpt_path)
            events.emit("checkpoint", step=i)
    if progress is not None:
        progress.close()


def _package(args: argparse.Namespace, trainer: Trainer, ref: list[np.ndarray],
             site: list[np.ndarray], world: int) -> None:
    from training.gan.export import data_summary, reference_id, write_package

    training = {
        "reference_data": {"folder": str(args.reference), "images": len(ref),
                           "files": len(list_images(args.reference))},
        "site_data": {"folder": str(args.site), "images": len(site),
                      "files": len(list_images(args.site))},
        "seed": trainer.cfg.seed, "steps": trainer.step_index, "world_size": world,
        "device": str(trainer.device), "train_seconds": round(trainer.train_seconds, 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(shlex.quote(a) for a in ["python -m training.gan.train", *args.argv]),
        "torch": torch.__version__,
    }
    if args.data_info is not None:
        training["data"] = data_summary(args.data_info)
    trainer.gens.eval()
    write_package(args.output, trainer.gens.cpu(), trainer.cfg, training=training,
                  parity_images=site[:4], name=args.name,
                  reference_site=reference_id(args.reference, args.reference_id))


if __name__ == "__main__":
    raise SystemExit(main())
