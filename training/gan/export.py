"""Export the site -> reference translator to ONNX (one file, dynamic H/W) and write the package.

The exported graph takes and returns images in [0, 1] (N, 1, H, W) with H and W multiples of
the network's ``multiple``; the [-1, 1] scaling lives inside the graph so that inference cannot
get it wrong.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training.gan.config import TrainConfig

log = logging.getLogger(__name__)

ENTRYPOINT = "generator.onnx"
# Folder names that say nothing about which site a reference folder holds (demo_data's
# ``reference/``, split_site's ``train/``): the id is then taken from the folder above.
_GENERIC_FOLDERS = {"reference", "ref", "train", "test", "images", "png", "dicom", "data"}


def reference_id(folder: Path, explicit: str | None = None) -> str:
    """The reference site's id for the manifest: ``explicit`` (``--reference-id``), else the
    ``site_id`` of a reference profile (``profile.json``) saved in the folder, else the folder's
    name (the name of the folder above when the folder's own name is generic, see above)."""
    if explicit:
        return explicit
    folder = Path(folder).resolve()
    profile = folder / "profile.json"
    if profile.is_file():
        from xray_harmonizer.reference.profile import load_profile

        return load_profile(profile).site_id
    if folder.name.lower() in _GENERIC_FOLDERS and folder.parent.name:
        return f"{folder.parent.name}-{folder.name}"
    return folder.name


class SiteToReference(nn.Module):
    """[0, 1] in, [0, 1] out wrapper around a generator pair's ``translate``."""

    def __init__(self, generators: nn.Module) -> None:
        super().__init__()
        self.generators = generators

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        out = self.generators.translate(image * 2.0 - 1.0)
        return torch.clamp((out + 1.0) * 0.5, 0.0, 1.0)


def export_onnx(generators: nn.Module, path: Path, multiple: int) -> Path:
    """Write ``generators.translate`` as a single-file ONNX model with dynamic height/width."""
    model = SiteToReference(generators).eval().cpu()
    dummy = torch.rand(1, 1, 8 * multiple, 6 * multiple)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation/constant-folding notes
        # The TorchScript exporter handles the symbolic H/W of reflect pads and resize-convs
        # without dynamo's divisibility guards; the graph is plain conv/norm/relu either way.
        torch.onnx.export(model, (dummy,), str(tmp), input_names=["image"],
                          output_names=["harmonized"], opset_version=17, dynamo=False,
                          dynamic_axes={"image": {0: "n", 2: "height", 3: "width"},
                                        "harmonized": {0: "n", 2: "height", 3: "width"}})
    import onnx

    onnx.checker.check_model(str(tmp))
    tmp.replace(path)
    return path


def parity(generators: nn.Module, onnx_path: Path, images: list[np.ndarray], multiple: int) -> float:
    """Max |torch - onnxruntime| over ``images`` (float32 (h, w) in [0, 1], cropped to multiples)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    model = SiteToReference(generators).eval().cpu()
    worst = 0.0
    for img in images:
        h, w = (img.shape[0] // multiple) * multiple, (img.shape[1] // multiple) * multiple
        x = np.ascontiguousarray(img[:h, :w], dtype=np.float32)[None, None]
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run(None, {"image": x})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def display_name(arch: str, preset: str, training: dict[str, Any],
                 lambda_structure: float = 0.0) -> str:
    """``CycleGAN (quick, site_severe)``: packages for different sites must not share a name;
    ``quick+structure`` marks the optional structure term."""
    label = "CycleGAN" if arch == "cyclegan" else "UNIT"
    if lambda_structure > 0:
        preset = f"{preset}+structure"
    site = (training.get("data") or {}).get("profile") if isinstance(training, dict) else None
    if isinstance(site, list):  # a many-sites domain B (demo_data with several profiles)
        site = f"{len(site)} site profiles"
    return f"{label} ({preset}, {site})" if site else f"{label} ({preset})"


def write_package(out_dir: Path, generators: nn.Module, config: TrainConfig, *,
                  training: dict[str, Any], parity_images: list[np.ndarray],
                  reference_site: str, name: str | None = None) -> dict[str, Any]:
    """Export ONNX, check parity and write ``manifest.json`` into ``out_dir``; ``reference_site``
    is the id of domain A (see :func:`reference_id`)."""
    from xray_harmonizer.models.package import write_manifest

    out_dir = Path(out_dir)
    multiple = int(generators.multiple)
    onnx_path = export_onnx(generators, out_dir / ENTRYPOINT, multiple)
    diff = parity(generators, onnx_path, parity_images, multiple) if parity_images else None
    arch_name = "cyclegan-resnet" if config.arch == "cyclegan" else "unit"
    manifest: dict[str, Any] = {
        "name": name or out_dir.name,
        "display_name": display_name(config.arch, config.preset, training,
                                     config.hparams.lambda_structure),
        "kind": "generalizer",
        "generalizer_kind": config.arch,
        "architecture": {"name": arch_name, "direction": "site_to_reference",
                         **asdict(config.hparams)},
        "preset": config.preset,
        "input": {"working_size": config.working_size, "multiple": multiple,
                  "normalisation": "zero_one", "layout": "NCHW, C=1", "padding": "reflect",
                  "tensor": "image", "output": "harmonized"},
        "reference_site": reference_site,
        "entrypoint": ENTRYPOINT,
        "training": {**training, "config": config.to_dict()},
        "export": {"onnx_opset": 17, "parity_max_abs_diff": diff,
                   "parity_images": len(parity_images), "exported": time.strftime(
                       "%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "evaluation": {},
    }
    manifest = write_manifest(out_dir, manifest)
    log.info("package written to %s (parity %.2e)", out_dir, diff or 0.0)
    return manifest


def data_summary(path: Path) -> dict[str, Any]:
    """The small fields of a data-description JSON: scalars, and lists or mappings of at most 16
    entries (a list of site profiles, files per profile); file lists stay out of the manifest."""
    import json

    info = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in info.items()
            if not isinstance(v, (list, dict)) or len(v) <= 16}


def update_manifest(out_dir: Path, section: str, values: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into the manifest's ``section`` (e.g. ``training``); hashes refreshed."""
    import json

    from xray_harmonizer.models.package import write_manifest

    manifest = json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
    manifest.setdefault(section, {}).update(values)
    return write_manifest(Path(out_dir), manifest)


def update_evaluation(out_dir: Path, figures: dict[str, Any]) -> dict[str, Any]:
    """Merge protocol/benchmark figures into the manifest's ``evaluation`` (hashes refreshed)."""
    return update_manifest(out_dir, "evaluation", figures)


def main(argv: list[str] | None = None) -> int:
    """Re-export a checkpoint (e.g. trained on a GPU machine) as a package on this machine.

        python -m training.gan.export --checkpoint runs/NAME/checkpoint.pt -o PACKAGE_DIR \
            [--parity-dir SITE_DIR] [--data-info split.json]
    """
    import argparse

    from training.gan import cyclegan, unit
    from training.gan.data import load_folder

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--parity-dir", type=Path, default=None, help="images for the parity check")
    p.add_argument("--data-info", type=Path, default=None)
    p.add_argument("--name", default=None)
    p.add_argument("--reference-id", required=True,
                   help="id of the reference site the checkpoint maps to (e.g. kermany-pediatric)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    config = TrainConfig.from_dict(state["config"])
    gens, _ = (cyclegan if config.arch == "cyclegan" else unit).build(config.hparams)  # type: ignore[arg-type]
    gens.load_state_dict(state["gens"])
    images = load_folder(args.parity_dir, config.working_size)[:4] if args.parity_dir else []
    training: dict[str, Any] = {"seed": config.seed, "steps": int(state["step"]),
                                "train_seconds": round(float(state["train_seconds"]), 1),
                                "checkpoint": args.checkpoint.name}
    if args.data_info is not None:
        training["data"] = data_summary(args.data_info)
    write_package(args.output, gens.eval(), config, training=training, parity_images=images,
                  reference_site=args.reference_id, name=args.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
