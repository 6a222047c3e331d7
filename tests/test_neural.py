"""NeuralGeneralizer: ONNX at the working resolution, full-resolution output of the input's shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xray_harmonizer.generalizers.base import Generalizer
from xray_harmonizer.generalizers.neural import NeuralGeneralizer
from xray_harmonizer.models.package import PackageError

REPO = Path(__file__).resolve().parents[1]
BUNDLED = sorted(p for p in (REPO / "resources" / "models").glob("*")
                 if (p / "manifest.json").is_file() and p.name.split("-")[0] in ("cyclegan", "unit"))
# The app ships GAN packages; none found means a broken checkout, never a reason to skip.
assert BUNDLED, "no bundled CycleGAN/UNIT packages under resources/models"


@pytest.fixture(scope="module", params=["cyclegan", "unit"])
def package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised (untrained) quick-preset network exported as a package."""
    import torch

    from training.gan import cyclegan, unit
    from training.gan.config import preset_config
    from training.gan.export import write_package

    cfg = preset_config(request.param, "quick")
    torch.manual_seed(0)
    gens, _ = (cyclegan if request.param == "cyclegan" else unit).build(cfg.hparams)  # type: ignore[arg-type]
    out = tmp_path_factory.mktemp(f"{request.param}-pkg")
    write_package(out, gens.eval(), cfg, training={"note": "untrained, for tests"}, parity_images=[],
                  reference_site="kermany-pediatric")
    return out


@pytest.fixture(scope="module")
def affine_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package whose "network" is the ONNX graph ``0.6 * image + 0.2``: every method's
    exact expected output is known, so a wrong crop, pad, resize or transfer shows."""
    import onnx
    from onnx import TensorProto, helper

    from xray_harmonizer.models.package import write_manifest

    root = tmp_path_factory.mktemp("affine-pkg")
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", 1, "h", "w"])
          for n in ("image", "harmonized")]
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "a"], ["ax"]),
         helper.make_node("Add", ["ax", "b"], ["harmonized"])], "affine", io[:1], io[1:],
        [helper.make_tensor("a", TensorProto.FLOAT, [], [0.6]),
         helper.make_tensor("b", TensorProto.FLOAT, [], [0.2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(root / "generator.onnx"))
    write_manifest(root, {"name": "affine-test", "kind": "generalizer",
                          "architecture": {"name": "affine"}, "reference_site": "test",
                          "input": {"working_size": 128, "multiple": 4,
                                    "normalisation": "zero_one", "tensor": "image"},
                          "entrypoint": "generator.onnx"})
    return root


def _texture(shape: tuple[int, int]) -> np.ndarray:
    """Smooth shading plus a fine noise-free texture that a 128 px working image cannot hold."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    s = max(shape)
    img = 0.5 + 0.3 * np.sin(7 * xx / s) * np.cos(5 * yy / s) + 0.05 * np.sin(1.3 * xx) * np.sin(0.9 * yy)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 5), (97, 255), (300, 1201), (1001, 777)])
def test_network_output_is_cropped_back_in_place(affine_package: Path,
                                                 shape: tuple[int, int]) -> None:
    """Catches run_network cropping its padded output at the wrong offset (e.g. padding on
    the top/left or taking the last h rows), transposing axes, or leaking the pad: with a
    pixel-wise network the full-resolution run must be exactly 0.6 * x + 0.2."""
    g = NeuralGeneralizer(affine_package, use_gpu=False)
    img = _texture(shape)
    np.testing.assert_allclose(g.harmonize_full_network(img), 0.6 * img + 0.2, atol=1e-6)


@pytest.mark.parametrize("shape", [(97, 255), (1001, 777)])
def test_harmonize_carries_the_mapping_and_keeps_detail(affine_package: Path,
                                                        shape: tuple[int, int]) -> None:
    """Catches harmonize returning its input, the upsampled working-size output (detail
    lost), or a transfer fitted on the wrong pair: with the gate off, the network's global
    affine map must come back at full resolution on the fine texture too."""
    from xray_harmonizer.imaging.transfer import TransferConfig

    img = _texture(shape)
    want = 0.6 * img + 0.2
    exact = NeuralGeneralizer(affine_package, use_gpu=False,
                              transfer_config=TransferConfig(noise_gate=(0, 0)))
    assert np.abs(exact.harmonize(img) - want).max() < 5e-3
    upsampled_err = np.abs(exact.harmonize_upsampled(img) - want).mean()
    assert upsampled_err > 0.008  # the working size really loses the texture...
    assert np.abs(exact.harmonize(img) - want).mean() < upsampled_err / 4  # ...harmonize keeps it
    default = NeuralGeneralizer(affine_package, use_gpu=False)  # with the noise gate
    assert np.abs(default.harmonize(img) - want).mean() < 0.3 * np.abs(img - want).mean()


def _xray(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    img = 0.5 + 0.3 * np.sin(7 * xx) * np.cos(5 * yy) + 0.02 * rng.standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)


def test_contract_and_odd_size(package: Path) -> None:
    g = NeuralGeneralizer(package, use_gpu=False)
    assert isinstance(g, Generalizer)
    assert g.kind in ("cyclegan", "unit") and g.reference_site == "kermany-pediatric"
    assert g.provider == "CPUExecutionProvider" and g.model_hash
    img = _xray((1001, 777))
    out = g.harmonize(img)
    assert out.shape == img.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(out, g.harmonize(img))  # deterministic


@pytest.mark.parametrize("shape", [(3, 5), (97, 255), (300, 1201)])
def test_baselines_and_small_sizes(package: Path, shape: tuple[int, int]) -> None:
    g = NeuralGeneralizer(package, working_size=128, use_gpu=False)
    img = _xray(shape, seed=1)
    for fn in (g.harmonize, g.harmonize_upsampled, g.harmonize_full_network):
        out = fn(img)
        assert out.shape == shape and out.dtype == np.float32
        assert np.isfinite(out).all() and 0.0 <= out.min() and out.max() <= 1.0


def test_rejects_bad_input(package: Path) -> None:
    g = NeuralGeneralizer(package, use_gpu=False)
    with pytest.raises(TypeError):
        g.harmonize(_xray((64, 64)).astype(np.float64))
    with pytest.raises(ValueError):
        g.harmonize(_xray((64, 64)) + 2)


def test_refuses_a_classifier_package(package: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from xray_harmonizer.models.package import write_manifest

    target = tmp_path / "clf"
    shutil.copytree(package, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest.update(kind="classifier", label="Pneumonia")
    write_manifest(target, manifest)
    with pytest.raises(PackageError):
        NeuralGeneralizer(target, use_gpu=False)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_bundled_packages_bring_a_shifted_image_back(path: Path, kermany_dir: Path) -> None:
    """Catches a bundled package that does nothing (identity), inverts or flattens the image:
    a reference image passed through site_mono1_dr (SSIM to the original 0.59) must come
    back closer to the original (measured 0.68-0.86; mean |error| 0.175 -> 0.03-0.10)."""
    from training.gan.data import read_image
    from training.sitesim import apply_site, load_site_profile
    from xray_harmonizer.metrics.ssim import ssim

    assert sum(f.stat().st_size for f in path.iterdir()) <= 25 * 1024 * 1024
    g = NeuralGeneralizer(path, use_gpu=False)
    truth = read_image(sorted(kermany_dir.glob("*.png"))[0])
    shifted = apply_site(truth, load_site_profile("site_mono1_dr"), seed=0)
    out = g.harmonize(shifted)
    assert out.shape == truth.shape and 0.0 <= out.min() and out.max() <= 1.0
    assert ssim(out, truth) > ssim(shifted, truth) + 0.05
    assert np.abs(out - truth).mean() < 0.75 * np.abs(shifted - truth).mean()


def test_bundled_packages_keep_the_laterality_marker() -> None:
    """Sample 2 carries a burned-in "R" in the air beside the chest; several networks erase it
    at 128 px. The output must still show it white on the dark background."""
    from xray_harmonizer.io.reader import open_image

    img = open_image(REPO / "resources" / "samples"
                     / "sample2_kermany_pneumonia_site_mono1_dr.dcm").pixels
    marker = np.zeros(img.shape, bool)
    marker[:, :60] = img[:, :60] >= 0.999  # the "R" (the collimation edge is at 0.97)
    assert 200 < marker.sum() < 1000
    rows = np.flatnonzero(marker.any(axis=1))
    background = np.zeros(img.shape, bool)
    background[rows.min():rows.max() + 1, 40:60] = True  # air right of the letter
    background &= ~marker
    for path in BUNDLED:
        out = NeuralGeneralizer(path, use_gpu=False).harmonize(img)
        letter, air = float(out[marker].mean()), float(np.median(out[background]))
        assert letter > 0.85 and letter - air > 0.6, (path.name, letter, air)


def _copy_with_input(src: Path, dst: Path, **fields: object) -> Path:
    """``src`` package with extra ``input`` fields, its manifest re-hashed."""
    import json
    import shutil

    from xray_harmonizer.models.package import write_manifest

    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    manifest["input"].update(fields)
    manifest.pop("files", None)
    write_manifest(dst, manifest)
    return dst


def test_package_chooses_the_residual_transfer(affine_package: Path, tmp_path: Path) -> None:
    """Catches the manifest's ``input.transfer`` being ignored (a universal package carried by
    the map alone loses the band it was trained to restore) or applied to every package (GAN
    texture carried into the output), and an unknown value being accepted silently."""
    assert NeuralGeneralizer(affine_package, use_gpu=False).transfer_config.residual is False
    residual = _copy_with_input(affine_package, tmp_path / "res", transfer="affine+residual")
    assert NeuralGeneralizer(residual, use_gpu=False).transfer_config.residual is True
    import json

    bad = _copy_with_input(affine_package, tmp_path / "bad", transfer="affine")
    manifest = json.loads((bad / "manifest.json").read_text(encoding="utf-8"))
    manifest["input"]["transfer"] = "magic"
    (bad / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(PackageError, match="transfer"):
        NeuralGeneralizer(bad, use_gpu=False)
