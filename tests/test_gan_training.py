"""CycleGAN/UNIT training: a few steps on tiny images, exact resume, export parity, DDP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from training.gan.config import TrainConfig, preset_config  # noqa: E402
from training.gan.data import UnpairedCrops, load_folder, random_crop  # noqa: E402
from training.gan.export import export_onnx, parity  # noqa: E402
from training.gan.train import Trainer, load_checkpoint, main, save_checkpoint  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory, kermany_dir: Path) -> tuple[Path, Path]:
    """Three reference and three 'site' images (the site side inverted-gamma'd)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("gan")
    files = sorted(kermany_dir.glob("*.png"))[:6]
    (root / "ref").mkdir()
    (root / "site").mkdir()
    for f in files[:3]:
        (root / "ref" / f.name).write_bytes(f.read_bytes())
    for f in files[3:]:
        arr = np.asarray(Image.open(f), dtype=np.float32) / 255.0
        Image.fromarray((arr ** 0.6 * 255).astype(np.uint8)).save(root / "site" / f.name)
    return root / "ref", root / "site"


def _data(cfg: TrainConfig, dirs: tuple[Path, Path]) -> UnpairedCrops:
    return UnpairedCrops(load_folder(dirs[0], cfg.working_size), load_folder(dirs[1], cfg.working_size),
                         cfg.crop_size, cfg.seed)


def _weights(trainer: Trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in trainer.gens.parameters()])


@pytest.mark.parametrize("arch", ["cyclegan", "unit"])
def test_resume_continues_exactly(arch: str, tiny_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = preset_config(arch, "tiny", steps=4)
    straight = Trainer(cfg, _data(cfg, tiny_dirs), torch.device("cpu"), 1)
    for _ in range(4):
        logs = straight.step()
    assert all(np.isfinite(v) for v in logs.values())

    first = Trainer(cfg, _data(cfg, tiny_dirs), torch.device("cpu"), 1)
    first.step()
    first.step()
    save_checkpoint(first, tmp_path / "ckpt.pt")
    resumed = Trainer(cfg, _data(cfg, tiny_dirs), torch.device("cpu"), 1)
    resumed.load(load_checkpoint(tmp_path / "ckpt.pt"))  # weights_only=True inside
    assert resumed.step_index == 2
    resumed.step()
    resumed.step()
    torch.testing.assert_close(_weights(resumed), _weights(straight), rtol=0, atol=0)


def test_main_trains_writes_package_and_resumes(tiny_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    from xray_harmonizer.models.package import load_package

    out, run = tmp_path / "pkg", tmp_path / "run"
    args = ["--arch", "cyclegan", "--reference", str(tiny_dirs[0]), "--site", str(tiny_dirs[1]),
            "-o", str(out), "--preset", "tiny", "--device", "cpu", "--run-dir", str(run),
            "--preview-every", "2", "--no-progress"]
    assert main(args) == 0
    pkg = load_package(out)
    assert pkg.manifest["training"]["steps"] == 4
    assert pkg.manifest["export"]["parity_max_abs_diff"] <= 1e-3
    # No --reference-id and no profile in the folder: the id comes from the folder ("ref" is
    # generic, so the folder above names it); it was a constant, kermany-pediatric, before.
    assert pkg.manifest["reference_site"] == f"{tiny_dirs[0].parent.name}-ref"
    assert (run / "checkpoint.pt").is_file() and (run / "previews" / "step000002.png").is_file()
    # A resumed run that has nothing left to do re-exports the same weights.
    first_hash = pkg.content_hash
    assert main([*args, "--resume"]) == 0
    assert load_package(out).content_hash == first_hash
    # A checkpoint from another configuration is refused, not silently mixed.
    assert main([*args, "--resume", "--seed", "1"]) == 2


def test_local_correlation_scores_structure_not_intensity() -> None:
    from torch.nn import functional as F

    from training.gan.networks import local_correlation, structure_loss

    gen = torch.Generator().manual_seed(0)
    x = F.avg_pool2d(torch.randn(1, 1, 72, 72, generator=gen), 3, stride=1) * 3
    assert float(local_correlation(x, 2.5 * x - 0.4)) > 0.99  # any positive affine map
    assert float(local_correlation(x, -x)) < -0.99  # an inversion is the worst case
    blurred = F.avg_pool2d(x, 7, stride=1, padding=3)
    assert 0.3 < float(local_correlation(x, blurred)) < 0.9
    assert float(structure_loss(x, blurred, 9)) > float(structure_loss(x, x, 9)) + 0.1


@pytest.mark.parametrize("arch", ["cyclegan", "unit"])
def test_structure_term_is_trained_and_recorded(arch: str, tiny_dirs: tuple[Path, Path]) -> None:
    """Catches a structure term that is logged but not added to the loss (G's update would be
    the plain one), or that pairs a translation with the wrong source (another value)."""
    from training.gan.cyclegan import structure_term

    torch.set_num_threads(1)
    cfg = preset_config(arch, "tiny", steps=2, lambda_structure=2.0)
    assert cfg.hparams.experimental.lambda_structure == 2.0
    assert TrainConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
    plain_cfg = preset_config(arch, "tiny", steps=2)
    real_a, real_b = _data(cfg, tiny_dirs).sample(1)
    with_st = Trainer(cfg, _data(cfg, tiny_dirs), torch.device("cpu"), 1)
    plain = Trainer(plain_cfg, _data(plain_cfg, tiny_dirs), torch.device("cpu"), 1)
    torch.testing.assert_close(_weights(with_st), _weights(plain), rtol=0, atol=0)  # same start
    out, logs = with_st.generator_step(real_a, real_b)
    expected = float(structure_term(cfg.hparams.experimental, out, real_a, real_b).detach())
    assert logs["st"] == pytest.approx(expected, rel=1e-5)
    swapped = float(structure_term(cfg.hparams.experimental,
                                   {"fake_a": out["fake_b"], "fake_b": out["fake_a"]},
                                   real_a, real_b).detach())
    assert abs(swapped - expected) > 1e-4  # the check above can tell the pairing apart
    _, plain_logs = plain.generator_step(real_a, real_b)
    assert "st" not in plain_logs  # off by default: the paper's objective
    assert not torch.equal(_weights(with_st), _weights(plain))  # the term moved G


@pytest.mark.parametrize("arch", ["cyclegan", "unit"])
def test_generator_step_leaves_discriminators_without_gradients(
        arch: str, tiny_dirs: tuple[Path, Path]) -> None:
    """Catches the G step back-propagating into D's weights (wasted compute, and gradients
    that a later change of the D step could silently accumulate): after a G step no D
    parameter has a .grad, every G parameter has one, and D's weights are unchanged."""
    torch.set_num_threads(1)
    cfg = preset_config(arch, "tiny", steps=2)
    trainer = Trainer(cfg, _data(cfg, tiny_dirs), torch.device("cpu"), 1)
    d_before = [p.detach().clone() for p in trainer.discs.parameters()]
    out, _ = trainer.generator_step(*_data(cfg, tiny_dirs).sample(1))
    assert all(p.grad is None for p in trainer.discs.parameters())
    assert all(p.grad is not None for p in trainer.gens.parameters())
    for before, p in zip(d_before, trainer.discs.parameters()):
        torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)
    assert all(p.requires_grad for p in trainer.discs.parameters())  # D trains next
    trainer.discriminator_step(*_data(cfg, tiny_dirs).sample(1), out["fake_a"], out["fake_b"])
    assert all(p.grad is not None for p in trainer.discs.parameters())


@pytest.mark.parametrize("arch", ["cyclegan", "unit"])
def test_same_seed_same_weights_whatever_the_global_rng(arch: str,
                                                        tiny_dirs: tuple[Path, Path]) -> None:
    """Catches initial weights or UNIT's latent noise drawn from the global torch RNG: two runs
    with the same seed after different global seeds (and draws) end identical; another seed
    gives other weights."""
    torch.set_num_threads(1)
    cfg = preset_config(arch, "tiny", steps=2)

    def run(global_seed: int, config: TrainConfig) -> torch.Tensor:
        torch.manual_seed(global_seed)
        torch.rand(global_seed + 1)  # something else consumed the global RNG
        trainer = Trainer(config, _data(config, tiny_dirs), torch.device("cpu"), 1)
        torch.rand(17)
        trainer.step()
        torch.rand(3)
        trainer.step()
        return torch.cat([_weights(trainer),
                          *[p.detach().flatten() for p in trainer.discs.parameters()]])

    first = run(1, cfg)
    torch.testing.assert_close(run(12345, cfg), first, rtol=0, atol=0)
    assert not torch.equal(run(1, preset_config(arch, "tiny", steps=2, seed=1)), first)


@pytest.mark.parametrize("arch", ["cyclegan", "unit"])
def test_discriminator_norm_and_upsampling_options(arch: str,
                                                   tiny_dirs: tuple[Path, Path]) -> None:
    from torch import nn

    torch.set_num_threads(1)
    cfg = preset_config(arch, "tiny", steps=2, d_norm="none", upsample="transpose")
    assert cfg.hparams.experimental.d_norm == "none" and cfg.hparams.upsample == "transpose"
    trainer = Trainer(cfg, _data(cfg, tiny_dirs), torch.device("cpu"), 1)
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in trainer.discs.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in trainer.gens.modules())
    assert all(np.isfinite(v) for v in trainer.step().values())
    with pytest.raises(ValueError):
        preset_config(arch, "tiny", upsample="bilinear")
    with pytest.raises(ValueError):
        Trainer(preset_config(arch, "tiny", d_norm="batch"), _data(cfg, tiny_dirs),
                torch.device("cpu"), 1)


def _inference_input(image: np.ndarray, multiple: int) -> np.ndarray:
    """What NeuralGeneralizer.run_network feeds its ONNX session for ``image``."""
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer

    seen: list[np.ndarray] = []

    class Recorder:
        def run(self, _outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            seen.append(feeds["image"][0, 0].copy())
            return [feeds["image"]]

    g = NeuralGeneralizer.__new__(NeuralGeneralizer)
    g.multiple, g._input_name, g._session = multiple, "image", Recorder()
    g.run_network(image)
    return seen[0]


@pytest.mark.parametrize("shape", [(40, 50), (37, 60), (64, 45), (33, 64)])
def test_training_crops_are_padded_like_inference(shape: tuple[int, int]) -> None:
    """Catches training padding that differs from inference (it was symmetric while
    run_network pads bottom/right): the image must sit at the crop's top-left, and the padded
    band must hold what inference puts there (reflect; sides shorter than their pad, which
    no working-size image has, are edge-padded by both)."""
    img = np.random.default_rng(1).random(shape, dtype=np.float32)
    want = {False: _inference_input(img, 4), True: _inference_input(img[:, ::-1].copy(), 4)}
    flips = set()
    for seed in range(8):
        crop = random_crop(img, 64, np.random.default_rng(seed))
        assert crop.shape == (64, 64)
        flipped = bool(np.array_equal(crop[: shape[0], : shape[1]], img[:, ::-1]))
        assert flipped or np.array_equal(crop[: shape[0], : shape[1]], img)
        ref = want[flipped]
        np.testing.assert_array_equal(crop[: ref.shape[0], : ref.shape[1]], ref)
        flips.add(flipped)
    assert flips == {False, True}  # both branches were checked


@pytest.mark.parametrize("arch", ["cyclegan", "unit"])
def test_export_parity_on_real_images(arch: str, tmp_path: Path, kermany_dir: Path) -> None:
    from training.gan import cyclegan, unit

    cfg = preset_config(arch, "quick")
    torch.manual_seed(0)
    gens, _ = (cyclegan if arch == "cyclegan" else unit).build(cfg.hparams)  # type: ignore[arg-type]
    gens.eval()
    path = export_onnx(gens, tmp_path / "g.onnx", gens.multiple)
    assert not list(tmp_path.glob("*.data"))  # one file, no external data
    from training.gan.data import read_image
    from xray_harmonizer.imaging.transfer import resize, working_shape

    files = sorted(kermany_dir.glob("*.png"))[:3]
    images = [resize(im, working_shape(im.shape, 256)) for im in map(read_image, files)]
    assert parity(gens, path, images, gens.multiple) <= 1e-3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_ddp_two_cpu_processes_gloo(tiny_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    """torchrun, 2 processes, gloo: both ranks end with identical weights (gradients averaged).

    Slow: two interpreters importing torch, 8-17 s on a quiet 2-core machine, 47 s with the
    cores shared; the Trainer's steps themselves are covered by the default run."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "training.gan.train", "--arch", "cyclegan", "--reference", str(tiny_dirs[0]),
           "--site", str(tiny_dirs[1]), "-o", str(tmp_path / "pkg"), "--preset", "tiny",
           "--steps", "2", "--device", "cpu", "--run-dir", str(run), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s0 = load_checkpoint(run / "checkpoint-rank0.pt")
    s1 = load_checkpoint(run / "checkpoint-rank1.pt")
    assert s0["step"] == s1["step"] == 2
    assert s0["data_rng"] != s1["data_rng"]  # each rank drew its own crops...
    for k in s0["gens"]:  # ...yet the averaged gradients kept the replicas identical
        torch.testing.assert_close(s0["gens"][k], s1["gens"][k], rtol=0, atol=0)
    assert (tmp_path / "pkg" / "manifest.json").is_file()


def test_reference_id_comes_from_option_profile_or_folder(tmp_path: Path) -> None:
    """Every package used to claim kermany-pediatric whatever --reference was (a wrong label in
    the chooser for a site trained against another reference)."""
    from training.gan.export import reference_id
    from xray_harmonizer.reference.profile import load_profile

    site_a = tmp_path / "hospital-a"
    site_a.mkdir()
    assert reference_id(site_a) == "hospital-a"
    assert reference_id(site_a, "hospital-a-2026") == "hospital-a-2026"
    (tmp_path / "hospital-b" / "reference").mkdir(parents=True)
    assert reference_id(tmp_path / "hospital-b" / "reference") == "hospital-b-reference"
    load_profile().save(site_a / "profile.json")  # a folder that carries its profile
    assert reference_id(site_a) == "kermany-pediatric"


@pytest.mark.slow  # a training subprocess: 95 s on the shared 2 cores (timed out once there)
def test_ctrl_c_prints_the_resume_command_without_traceback(tiny_dirs: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    """Ctrl+C in train generalizer printed a traceback and no hint that --resume continues."""
    import json
    import signal
    import time

    events = tmp_path / "events.jsonl"
    cmd = [sys.executable, "-m", "xray_harmonizer.cli", "train", "generalizer",
           "--arch", "cyclegan", "--reference", str(tiny_dirs[0]), "--site", str(tiny_dirs[1]),
           "-o", str(tmp_path / "pkg"), "--preset", "tiny", "--steps", "100000", "--device",
           "cpu", "--run-dir", str(tmp_path / "run"), "--no-progress", "--events", str(events)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if events.is_file() and '"checkpoint"' in events.read_text():
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "--resume" in ln]
    assert len(lines) == 1 and lines[0].startswith("interrupted; continue with: xray-harmonizer "
                                                   "train generalizer --arch cyclegan")
    kinds = [json.loads(ln)["event"] for ln in events.read_text().splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "interrupted"
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
