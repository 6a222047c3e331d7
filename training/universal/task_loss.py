"""What the reference classifier sees, as a training loss for the universal generalizer.

L1 + SSIM reward a network for shrinking detail it is unsure of (the mean of the plausible
answers is a blur), and the reference classifier reads lost detail as pneumonia: a perfect
network's output blurred by one working pixel costs half the specificity on a chain's normals
(``benchmarks/universal_diagnostics.py``). This term compares the classifier's own feature maps
of the output and of the truth, both prepared the way the app prepares the classifier's input
(centred square of the short side, bilinear resize to its input size), so that the detail the
classifier relies on is what the loss asks for. It matches the truth's features, never a
label: the network is pulled towards the reference image, not towards an answer.

The classifier is loaded from its package's hashed safetensors weights (schema and sha256
checked first), frozen, in eval mode (batch-norm running statistics).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class ClassifierFeatureLoss:
    """Mean over the classifier's blocks of ``|f(out) - f(truth)|`` relative to ``|f(truth)|``,
    plus ``logit_weight`` times ``|logit(out) - logit(truth)|``: the classifier's own output for
    the truth, i.e. its operating point, not a label (what the protocol's specificity reads)."""

    def __init__(self, package_dir: Path, logit_weight: float = 0.0) -> None:
        from training.classifier.export import config_from_manifest, load_weights
        from xray_harmonizer.models.package import PackageError, load_package

        pkg = load_package(package_dir)
        m = pkg.manifest
        if m.get("kind") != "classifier" or m.get("weights") not in m["files"]:
            raise PackageError(pkg.root, "is not a classifier package with hashed weights")
        net = load_weights(pkg.root / m["weights"], config_from_manifest(m["architecture"]))
        for p in net.parameters():
            p.requires_grad_(False)
        self.net = net
        self.logit_weight = logit_weight
        self.size = int(m["input"]["size"])
        # What a universal package's manifest records of the classifier its loss used (a site
        # fit trains with the same term, :func:`loss_of_base`).
        self.record = {"classifier": str(m["name"]), "sha256": str(m["files"][m["weights"]])}
        # One feature map per resolution: what enters each pooling, and the last block's output.
        layers = list(net.features)
        self.taps = [i for i, layer in enumerate(layers)
                     if not isinstance(layer, nn.MaxPool2d)
                     and (i + 1 == len(layers) or isinstance(layers[i + 1], nn.MaxPool2d))]

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """(1, 1, H, W) -> the classifier's normalised (1, 1, S, S) input."""
        h, w = x.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        sq = x[..., top:top + side, left:left + side]
        sq = F.interpolate(sq, size=(self.size, self.size), mode="bilinear", align_corners=False,
                           antialias=side > self.size)
        return (sq.clamp(0, 1) - self.net.mean) / self.net.std

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], self.prepare(x)
        for i, layer in enumerate(self.net.features):
            h = layer(h)
            if i in self.taps:
                out.append(h)
        return out

    def __call__(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            want = self.features(target)
        got = self.features(out)
        terms = [(g - t).abs().mean() / (t.abs().mean() + 1e-6) for g, t in zip(got, want)]
        loss = torch.stack(terms).mean()
        if self.logit_weight > 0:  # the last tap is what the head pools
            loss = loss + self.logit_weight * (self.net.head(got[-1]) - self.net.head(want[-1])).abs().mean()
        return loss


def loss_of_base(base: dict[str, Any]) -> tuple[ClassifierFeatureLoss | None, float]:
    """The classifier-feature term a universal package was trained with and its weight, for a
    site fit that starts from it (none and 0 for a package trained without it). The classifier
    is the installed package of the recorded name whose weights have the recorded sha256: a
    fit never trains towards another classifier than its base did."""
    from xray_harmonizer.models.discovery import discover_packages

    weight = float(base["training"]["settings"].get("task_weight", 0.0))
    record = base["training"].get("task_loss")
    if weight <= 0 or record is None:
        return None, 0.0
    packages, _ = discover_packages(kind="classifier")
    for pkg in packages:
        m = pkg.manifest
        if m["name"] == record["classifier"] and m["files"].get(m.get("weights", "")) == record["sha256"]:
            return ClassifierFeatureLoss(pkg.root, float(base["training"]["settings"].get("logit_weight", 0.0))), weight
    raise LookupError(f"the classifier {record['classifier']} this package was trained with is not installed")
