"""Universal generalizer training (training/universal): tiny run, export parity, app loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from training.sitesim.random_chain import training_rng
from training.universal.data import make_pair
from training.universal.model import UNetConfig, UniversalUNet
from training.universal.train import main as train_main
from training.universal.train import pair_loss

REPO = Path(__file__).resolve().parents[1]


def _phantom(h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = 0.2 + 0.5 * np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (h / 4) ** 2))
    return np.clip(img + 0.1 * (np.sin(xx / 3.0) > 0), 0, 1).astype(np.float32)


def test_pairs_are_aligned_and_targets_keep_shutters():
    """Catches pairs of different shapes, or targets asking the network to invent anatomy under a
    collimator / text (the target there must be the chain's own output)."""
    rng = training_rng(0)
    for _ in range(6):
        p = make_pair(_phantom(), rng, 64, 0.0)
        assert p.shifted.shape == p.target.shape == (48, 64)
        assert p.shifted.dtype == np.float32 and 0 <= p.shifted.min() and p.shifted.max() <= 1
    ident = make_pair(_phantom(), training_rng(1), 64, 1.0)
    assert ident.identity and np.array_equal(ident.shifted, ident.target)


def test_untrained_network_is_identity_and_a_few_steps_fit_one_pair():
    """Catches a residual head that does not start at the identity (chain = identity must give
    back the input) and a loss/gradient path that cannot reduce the loss."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: OpenMP hand-offs cost more than the maths (90 s vs 1 s)
    try:
        _fit_one_pair()
    finally:
        torch.set_num_threads(threads)


def _fit_one_pair() -> None:
    model = UniversalUNet(UNetConfig((4, 8, 8)))
    x = torch.rand(1, 1, 32, 40)
    assert torch.equal(model(x), x)
    pair = make_pair(_phantom(), training_rng(3), 48, 0.0)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    first = float(pair_loss(model, pair, 0.5)[0])
    for _ in range(40):
        loss = pair_loss(model, pair, 0.5)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.8 * first


def test_tiny_training_run_exports_a_package_the_app_loads(tmp_path):
    """Catches a training CLI, ONNX export or manifest that the app's neural path cannot use:
    the package must verify, say kind 'universal', match torch (parity) and harmonize."""
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer
    from xray_harmonizer.generalizers.registry import discover_generalizers

    out = tmp_path / "universal-tiny"
    rc = train_main(["-o", str(out), "--steps", "3", "--limit", "3", "--eval-images", "2",
                     "--eval-every", "3", "--working-size", "64", "--widths", "4", "8",
                     "--run-dir", str(tmp_path / "run")])
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generalizer_kind"] == "universal"
    assert manifest["display_name"] == "Universal (randomized sites)"
    assert manifest["export"]["parity_max_abs_diff"] < 1e-4
    assert "exposure" in manifest["training"]["chain_sampler"]["ranges"]["continuous"]
    assert manifest["input"]["working_size"] == 64 and manifest["input"]["multiple"] == 2
    g = NeuralGeneralizer(out)
    assert g.kind == "universal"
    img = _phantom(150, 190)
    y = g.harmonize(img)
    assert y.shape == img.shape and y.dtype == np.float32
    found, refused = discover_generalizers(None, [tmp_path])
    assert not refused and [x.kind for x in found] == ["histogram", "universal"]


def test_chain_noise_is_scaled_to_what_the_working_size_sees():
    """Catches training pairs whose chain noise is the native per-pixel noise applied at the
    working size (3-12x the SD the network meets after the app's shrink; the first package
    learned to blur), a wrong power on the quantum term (a variance coefficient), and a
    non-deterministic draw."""
    from training.sitesim.random_chain import random_chain
    from training.universal.data import NATIVE_LONG_SIDE, SHRINK_NOISE_SD, noise_at_working_size

    chain = random_chain(training_rng(5))
    factors = []
    for seed in range(40):
        scaled = noise_at_working_size(chain, training_rng(seed), 256)
        assert scaled == noise_at_working_size(chain, training_rng(seed), 256)
        sd = scaled.electronic_noise / chain.electronic_noise
        assert np.isclose(scaled.quantum_noise / chain.quantum_noise, sd * sd)
        assert scaled.gamma == chain.gamma and scaled.blur_sigma == chain.blur_sigma
        factors.append(sd)
    lo, hi = SHRINK_NOISE_SD * 256 / NATIVE_LONG_SIDE[1], SHRINK_NOISE_SD * 256 / NATIVE_LONG_SIDE[0]
    assert lo - 1e-9 <= min(factors) and max(factors) <= hi + 1e-9
    assert max(factors) / min(factors) > 3  # the draw spans the range, not one size


def test_shrink_noise_constant_is_what_the_apps_resize_does():
    """Catches SHRINK_NOISE_SD drifting from what ``imaging.transfer.resize`` really leaves of a
    white noise when it shrinks by f (the training noise is scaled by it; too high and the
    network learns to blur, as the first package did)."""
    from training.universal.data import SHRINK_NOISE_SD
    from xray_harmonizer.imaging.transfer import resize

    rng = np.random.default_rng(0)
    for f in (2, 4, 8):
        noise = rng.normal(0, 1, (128 * f, 128 * f)).astype(np.float32)
        kept = float(resize(noise, (128, 128)).std()) * f
        assert abs(kept - SHRINK_NOISE_SD) < 0.04, (f, kept)  # 0.63 at f = 2, 0.66 from f = 4


def test_oversampled_pairs_match_what_the_app_feeds_the_network():
    """Catches training pairs whose chain ran at the working size while the app (and the
    protocol) run the chain at the image's own size and shrink afterwards: clipping of
    overshoots and the log response of a noisy exposure do not commute with the shrink, and
    the network met inputs it was not trained on. With ``oversample`` the chain runs at the
    image's size and the pair's input matches the app's shrink of it; also catches an
    oversampled target that is not the truth at the working size."""
    from dataclasses import replace

    from scipy.ndimage import gaussian_filter

    from training.sitesim import apply_site, load_site_profile
    from training.universal.data import with_noise_sd
    from xray_harmonizer.imaging.transfer import resize, working_shape

    yy, xx = np.mgrid[0:384, 0:512]
    img = np.clip(0.35 + 0.35 * np.sin(xx / 9.0) * np.sin(yy / 13.0) + 0.25 * (yy / 384), 0, 1)
    img = img.astype(np.float32)
    # A clipping, sharpening chain without per-image random geometry (no collimation, text).
    chain = replace(load_site_profile("site_severe"), usm_amount=1.0, brightness=0.1, contrast=1.3,
                    collimation=(0.0, 0.0), text_labels=0, exposure_jitter=0.0, heel=0.0,
                    grid_amplitude=0.0)
    app = resize(apply_site(img, chain, 0), working_shape(img.shape, 128))

    def draw(_rng: np.random.Generator, long: int):
        return with_noise_sd(chain, min(1.0, long / 512))

    def error(oversample: int) -> float:
        errs = []
        for seed in range(4):
            p = make_pair(img, np.random.default_rng(seed), 128, 0.0, draw, oversample)
            assert p.shifted.shape == p.target.shape == app.shape
            ref_truth = resize(img, app.shape)
            flipped = not np.allclose(p.target, ref_truth, atol=1e-6)
            assert np.allclose(p.target[:, ::-1] if flipped else p.target, ref_truth, atol=1e-6)
            x = p.shifted[:, ::-1] if flipped else p.shifted
            errs.append(np.abs(gaussian_filter(x - app, 1.5)).mean())
        return float(np.mean(errs))

    at_working, native = error(1), error(4)
    assert native < 0.5 * at_working, (native, at_working)


def test_init_starts_from_a_packages_weights_at_another_working_size(tmp_path):
    """Catches ``--init`` being ignored (a fresh identity network would be trained instead of
    the package's), or the package's architecture not being taken over (--widths would then
    build a network the weights do not fit)."""
    from safetensors.torch import load_file

    base, grown = tmp_path / "base", tmp_path / "grown"
    common = ["--limit", "2", "--eval-images", "1", "--eval-every", "3", "--seed", "0"]
    assert train_main(["-o", str(base), "--steps", "3", "--lr", "1e-2", "--working-size", "48",
                       "--widths", "4", "8", "--run-dir", str(tmp_path / "r1"), *common]) == 0
    assert train_main(["-o", str(grown), "--steps", "1", "--lr", "1e-9", "--working-size", "64",
                       "--init", str(base), "--run-dir", str(tmp_path / "r2"), *common]) == 0
    a, b = load_file(str(base / "weights.safetensors")), load_file(str(grown / "weights.safetensors"))
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6
    fresh = UniversalUNet(UNetConfig((4, 8))).state_dict()
    assert max(float((a[k] - fresh[k]).abs().max()) for k in a) > 1e-3  # the base did train
    manifest = json.loads((grown / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["working_size"] == 64


def test_classifier_feature_loss_reads_blur_and_is_zero_on_the_truth(tmp_path):
    """Catches a task term that does not see what the classifier reads as pneumonia (lost
    detail): blurring the truth must cost more than a small intensity shift of the same mean
    absolute size, the truth itself nothing; its gradient must reach the network's output;
    and a package that is not a classifier (or whose weights are not hashed) is refused."""
    import pytest

    from training.universal.task_loss import ClassifierFeatureLoss
    from xray_harmonizer.models.package import PackageError
    from xray_harmonizer.resources import resources_dir

    loss = ClassifierFeatureLoss(resources_dir() / "models" / "classifier-kermany-pneumonia")
    truth = torch.from_numpy(_phantom(120, 140) * 0.8 + 0.1)[None, None]
    blurred = torch.nn.functional.avg_pool2d(truth, 5, 1, 2, count_include_pad=False)
    shifted = truth + (blurred - truth).abs().mean()
    assert float(loss(truth, truth)) == 0.0
    assert float(loss(blurred, truth)) > 1.5 * float(loss(shifted, truth))
    out = blurred.clone().requires_grad_(True)
    loss(out, truth).backward()
    assert out.grad is not None and float(out.grad.abs().sum()) > 0
    # With a logit share the term adds |logit(out) - logit(truth)|, the classifier's own
    # logits (the exported graph's probabilities, before the sigmoid), nothing on the truth.
    with_logit = ClassifierFeatureLoss(resources_dir() / "models" / "classifier-kermany-pneumonia", 0.5)
    logit = [float(with_logit.net(with_logit.prepare(x) * with_logit.net.std + with_logit.net.mean))
             for x in (blurred, truth)]
    assert float(with_logit(truth, truth)) == 0.0
    assert abs(logit[0] - logit[1]) > 1e-3
    assert float(with_logit(blurred, truth)) == pytest.approx(
        float(loss(blurred, truth)) + 0.5 * abs(logit[0] - logit[1]), rel=1e-4)
    with pytest.raises(PackageError):
        ClassifierFeatureLoss(resources_dir() / "models" / "universal-kermany")
    import shutil

    tampered = tmp_path / "classifier"
    shutil.copytree(resources_dir() / "models" / "classifier-kermany-pneumonia", tampered)
    with (tampered / "weights.safetensors").open("r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(PackageError):
        ClassifierFeatureLoss(tampered)


def test_loss_terms_are_recorded_and_a_site_fit_trains_with_the_same_ones(tmp_path):
    """Catches a package trained with the classifier-feature term whose manifest does not say
    which classifier (a site fit would then silently train without the term, undoing what it
    gives, or towards another classifier), a fit that accepts a classifier whose weights
    are not the recorded ones, and a fit that drops the base's lesion-like error term."""
    import copy

    import pytest

    from training.universal.detail_loss import DetailGainLoss, LesionLikeErrorLoss
    from training.universal.task_loss import ClassifierFeatureLoss, loss_of_base
    from training.universal.train import terms_of_base

    out = tmp_path / "tasked"
    assert train_main(["-o", str(out), "--steps", "2", "--limit", "2", "--eval-images", "1",
                       "--eval-every", "2", "--working-size", "48", "--widths", "4", "8",
                       "--task-weight", "0.5", "--logit-weight", "0.3", "--blob-weight", "0.2",
                       "--gain-weight", "2", "--run-dir", str(tmp_path / "run")]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (w_task, t_task), (w_blob, t_blob), (w_gain, t_gain) = terms_of_base(manifest)
    assert (w_task, w_blob, w_gain) == (0.5, 0.2, 2.0)
    assert isinstance(t_task, ClassifierFeatureLoss) and t_task.logit_weight == 0.3
    assert isinstance(t_blob, LesionLikeErrorLoss) and t_blob.radii == LesionLikeErrorLoss(48).radii
    assert isinstance(t_gain, DetailGainLoss) and t_gain.radii == DetailGainLoss(48).radii
    record = manifest["training"]["task_loss"]
    classifier = json.loads((REPO / "resources" / "models" / "classifier-kermany-pneumonia"
                             / "manifest.json").read_text(encoding="utf-8"))
    assert record == {"classifier": classifier["name"], "sha256": classifier["files"]["weights.safetensors"]}
    task, weight = loss_of_base(manifest)
    assert isinstance(task, ClassifierFeatureLoss) and weight == 0.5
    other = copy.deepcopy(manifest)
    other["training"]["task_loss"]["sha256"] = "0" * 64
    with pytest.raises(LookupError):
        loss_of_base(other)
    plain = copy.deepcopy(manifest)
    del plain["training"]["task_loss"]
    plain["training"]["settings"]["task_weight"] = 0.0
    assert loss_of_base(plain) == (None, 0.0)
    plain["training"]["settings"].update(blob_weight=0.0, gain_weight=0.0)
    assert terms_of_base(plain) == []
    # A fit records every term weight of its base, so a fit of a fit trains with them too.
    from dataclasses import fields

    from training.universal.finetune import FitSettings
    from training.universal.train import TERM_WEIGHTS, TrainSettings

    assert set(TERM_WEIGHTS) <= {f.name for f in fields(FitSettings)} & {f.name for f in fields(TrainSettings)}


def test_hard_of_two_steps_on_the_pair_with_the_higher_loss():
    """Catches ``--hard-of`` training on the first or the easiest draw (an identity pair costs
    the untrained network nothing; only the shifted pair may move the weights, and the step
    reports that pair's figures)."""
    from training.universal.data import Pair
    from training.universal.train import train_step

    torch.manual_seed(0)
    model = UniversalUNet(UNetConfig((4, 8, 8)))
    hard = make_pair(_phantom(), training_rng(3), 48, 0.0)
    easy = Pair(hard.target, hard.target, True)
    l1_hard = float(pair_loss(model, hard, 0.5)[1])
    assert float(pair_loss(model, easy, 0.5)[0]) < 1e-6 < l1_hard
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    l1, _ = train_step(model, opt, [easy, hard], 0.5)
    assert abs(l1 - l1_hard) < 1e-6
    assert float(pair_loss(model, hard, 0.5)[1]) < l1_hard  # the step was taken on it


def test_lesion_like_error_term_prices_invented_bright_nodules_only():
    """Catches a lesion-like error term that costs the truth something, misses a bright
    nodule-sized blob the truth does not have, prices a dark one (the term is about invented
    opacities; erasure is L1's and the lesion benchmark's contrast kept), or is fooled by what
    is not a lesion: a global intensity shift, a smooth tone ramp, errors under its margin."""
    from training.universal.detail_loss import LesionLikeErrorLoss, nodule_peak

    term = LesionLikeErrorLoss(128)
    assert [round(r, 2) for r in term.radii] == [0.75, 1.5, 3.0]
    truth = torch.from_numpy(_phantom(96, 128))[None, None]
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
    nodule = 0.03 * torch.sqrt(torch.clamp(1 - ((yy - 40) ** 2 + (xx - 50) ** 2) / 9.0, min=0))
    assert float(term(truth, truth)) == 0.0
    bright = float(term(truth + nodule, truth))
    assert bright > 0.0
    assert float(term(truth - nodule, truth)) < 0.05 * bright
    assert float(term(truth + 0.05, truth)) == 0.0
    assert float(term(truth + 0.1 * xx / 128, truth)) < 1e-6
    small = 0.4 * nodule_peak(3.0) * torch.cos(xx / 2.0) * torch.cos(yy / 2.0)
    assert float(term(truth + small * 0.5, truth)) == 0.0


def test_detail_gain_term_asks_for_the_truths_detail_not_for_sharpening():
    """Catches a detail-gain term that costs the truth something, misses detail lost (the
    clipped chains' failure: the output carries ~0.7 of the truth's fine detail) or
    exaggerated, is fooled by an intensity shift, or prices added noise like lost detail (it
    would then ask for blur, or reward sharpening noise)."""
    from training.universal.detail_loss import DetailGainLoss

    term = DetailGainLoss(128)
    rng = np.random.default_rng(0)
    truth = torch.from_numpy(_phantom(96, 128) + 0.03 * rng.standard_normal((96, 128)).astype(np.float32))[None, None]
    assert float(term(truth, truth)) < 1e-10
    assert float(term(truth + 0.1, truth)) < 1e-10
    detail = truth - torch.nn.functional.avg_pool2d(truth, 5, 1, 2, count_include_pad=False)
    lost, doubled = float(term(truth - 0.3 * detail, truth)), float(term(truth + 0.3 * detail, truth))
    assert lost > 0.01 and doubled > 0.01
    noisy = truth + 0.03 * torch.from_numpy(rng.standard_normal((96, 128)).astype(np.float32))[None, None]
    assert float(term(noisy, truth)) < 0.1 * lost
