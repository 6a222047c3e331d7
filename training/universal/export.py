"""Write the universal network as a normal generalizer package (ONNX + manifest).

The ONNX graph and its parity check are ``training.gan.export``'s (the network exposes the same
``translate`` in [-1, 1] and ``multiple``); the manifest says ``generalizer_kind: universal``
and records the chain sampler's ranges, the seeds and the command.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from training.gan.export import ENTRYPOINT, export_onnx, parity
from training.sitesim.random_chain import EVAL_SEEDS, ranges_record
from training.universal.data import NATIVE_LONG_SIDE, SHRINK_NOISE_SD
from training.universal.model import UniversalUNet

log = logging.getLogger(__name__)
DISPLAY_NAME = "Universal (randomized sites)"


WEIGHTS = "weights.safetensors"


def write_package(out_dir: Path, model: UniversalUNet, settings: Any, *, name: str | None,
                  reference_site: str,
                  command: str, train_seconds: float, n_images: int,
                  parity_images: list, fine_tune: dict[str, Any] | None = None,
                  task_loss: dict[str, str] | None = None) -> dict[str, Any]:
    """Export ONNX, check parity, write ``manifest.json`` into ``out_dir``; ``reference_site`` is
    the site of the classifier whose training split the pairs came from. The weights are saved
    as safetensors beside the ONNX (hashed in the manifest): a site fine-tune starts from them
    (:mod:`training.universal.finetune`). ``fine_tune`` records such a fit, ``task_loss`` the
    classifier of the classifier-feature term (``ClassifierFeatureLoss.record``)."""
    from safetensors.torch import save_file

    from xray_harmonizer.models.package import write_manifest

    out_dir = Path(out_dir)
    onnx_path = export_onnx(model, out_dir / ENTRYPOINT, model.multiple)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(out_dir / WEIGHTS))
    diff = parity(model, onnx_path, parity_images, model.multiple) if parity_images else None
    manifest: dict[str, Any] = {
        "name": name or out_dir.name,
        "display_name": DISPLAY_NAME,
        "kind": "generalizer",
        "generalizer_kind": "universal",
        "architecture": {"name": "universal-unet", "direction": "site_to_reference",
                         **model.config.to_dict(), "parameters": sum(p.numel() for p in model.parameters())},
        "input": {"working_size": int(settings.working_size), "multiple": int(model.multiple),
                  "normalisation": "zero_one", "layout": "NCHW, C=1", "padding": "reflect",
                  "tensor": "image", "output": "harmonized",
                  # trained against pixel-aligned truth: its output is carried whole
                  "transfer": "affine+residual"},
        "reference_site": reference_site,
        "entrypoint": ENTRYPOINT,
        "weights": WEIGHTS,
        "training": {
            "command": command, "seed": settings.seed, "steps": settings.steps,
            "settings": dict(settings.__dict__), "train_seconds": round(train_seconds, 1),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "device": "cpu, 1 thread", "torch": torch.__version__,
            "data": {"reference": "kermany (classifier splits.json, part 'train')", "images": n_images,
                     "pairs": "(random_chain(x), x), a new chain per step; identity pairs "
                              f"{settings.identity_share:.0%}",
                     "chain_noise": "chain run at the working size, its noise SDs scaled by "
                                    f"{SHRINK_NOISE_SD} * working / native with native long side "
                                    f"log-uniform in {list(NATIVE_LONG_SIDE)} px"},
            "chain_sampler": {"module": "training.sitesim.random_chain", "ranges": ranges_record(),
                              "evaluation_chain_seeds": list(EVAL_SEEDS)},
            **({"fine_tune": fine_tune} if fine_tune else {}),
            **({"task_loss": task_loss} if task_loss else {}),
        },
        "export": {"onnx_opset": 17, "parity_max_abs_diff": diff, "parity_images": len(parity_images),
                   "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "evaluation": {},
    }
    manifest = write_manifest(out_dir, manifest)
    log.info("package written to %s (parity %.2e)", out_dir, diff or 0.0)
    return manifest


def load_weights(package_dir: Path) -> tuple[UniversalUNet, dict[str, Any]]:
    """The network of a universal package, from its hashed safetensors weights.

    The package is verified first (schema, every listed file's sha256); weights that are not
    listed, or a package of another kind, are refused: nothing unverified is loaded.
    """
    from safetensors.torch import load_file

    from training.universal.model import UNetConfig
    from xray_harmonizer.models.package import PackageError, load_package

    pkg = load_package(package_dir)
    m = pkg.manifest
    weights = m.get("weights")
    if m.get("generalizer_kind") != "universal":
        raise PackageError(pkg.root, "is not a universal generalizer package")
    if weights not in m["files"]:
        raise PackageError(pkg.root, "has no hashed weights to fine-tune from")
    arch = m["architecture"]
    model = UniversalUNet(UNetConfig(tuple(arch["widths"]), int(arch["knots"]), int(arch["cdf_levels"])))
    model.load_state_dict(load_file(str(pkg.root / weights)))
    return model, m
