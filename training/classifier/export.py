"""ONNX export of the classifier, the model package, and the ONNX-vs-torch parity check."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xray_harmonizer.models.package import write_manifest

from .model import CnnConfig, ProbabilityModel, SmallCnn

log = logging.getLogger(__name__)
ONNX_NAME = "classifier.onnx"
WEIGHTS_NAME = "weights.safetensors"


def export_onnx(net: SmallCnn, path: Path, size: int) -> Path:
    """Write a one-file ONNX graph: input ``image`` (N, 1, size, size) [0, 1] -> ``probability`` (N,)."""
    model = ProbabilityModel(net).eval()
    dummy = torch.rand(2, 1, size, size)
    with torch.no_grad():
        torch.onnx.export(model, (dummy,), str(path), input_names=["image"], output_names=["probability"],
                          dynamic_axes={"image": {0: "batch"}, "probability": {0: "batch"}},
                          opset_version=17, dynamo=False)
    import onnx

    onnx.checker.check_model(onnx.load(str(path)))
    return path


def save_weights(net: SmallCnn, path: Path) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def load_weights(path: Path, config: CnnConfig) -> SmallCnn:
    """Rebuild the torch network from a package's safetensors weights (eval mode)."""
    from safetensors.torch import load_file

    net = SmallCnn(config)
    net.load_state_dict(load_file(str(path)))
    return net.eval()


def config_from_manifest(architecture: dict[str, Any]) -> CnnConfig:
    fields = {f.name for f in dataclasses.fields(CnnConfig)}
    kwargs = {k: v for k, v in architecture.items() if k in fields}
    if "channels" in kwargs:
        kwargs["channels"] = tuple(kwargs["channels"])
    return CnnConfig(**kwargs)


def parity(net: SmallCnn, onnx_path: Path, size: int, n: int = 4, seed: int = 0) -> float:
    """Max |ONNX - torch| probability on random [0, 1] inputs."""
    import onnxruntime as ort

    x = np.random.default_rng(seed).random((n, 1, size, size), dtype=np.float32)
    with torch.no_grad():
        ref = ProbabilityModel(net.eval())(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"image": x})[0]
    return float(np.abs(out - ref).max())


def build_package(root: Path, net: SmallCnn, *, name: str, size: int, label: str,
                  reference_site: str, training: dict[str, Any],
                  evaluation: dict[str, Any]) -> dict[str, Any]:
    """Export ``net`` into the package folder ``root`` and write its manifest."""
    root.mkdir(parents=True, exist_ok=True)
    export_onnx(net, root / ONNX_NAME, size)
    save_weights(net, root / WEIGHTS_NAME)
    max_diff = parity(net, root / ONNX_NAME, size)
    log.info("ONNX vs torch max |diff| = %.2e", max_diff)
    arch = {"name": net.config.name, **{k: (list(v) if isinstance(v, tuple) else v)
                                          for k, v in dataclasses.asdict(net.config).items() if k != "name"}}
    manifest = {
        "name": name,
        "kind": "classifier",
        "architecture": arch,
        "input": {"size": size, "channels": 1, "layout": "NCHW", "normalisation": "zero_one",
                  "preprocess": "centre square crop of the short side, bilinear antialiased resize",
                  "output": "probability"},
        "reference_site": reference_site,
        "label": label,
        "entrypoint": ONNX_NAME,
        "weights": WEIGHTS_NAME,
        "training": training,
        "evaluation": {**evaluation, "onnx_torch_max_abs_diff": max_diff},
    }
    return write_manifest(root, manifest)
