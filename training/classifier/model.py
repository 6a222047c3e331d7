"""A small CNN for chest X-ray classification, trained from scratch on a CPU.

Input (N, 1, S, S) float in [0, 1] (presentation orientation); the fixed normalisation lives in
the network so the ONNX file takes the same [0, 1] image the app holds. No per-image
standardisation on purpose: the reference classifier must see intensity the way the reference
site renders it (that sensitivity is what harmonization exists to fix).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CnnConfig:
    """Architecture hyper-parameters (saved in the package manifest)."""

    name: str = "xrh-cnn-small"
    channels: tuple[int, ...] = (24, 48, 96, 160, 256)
    stem_kernel: int = 5
    dropout: float = 0.3
    input_mean: float = 0.5
    input_std: float = 0.25


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SmallCnn(nn.Module):
    """Stride-2 stem, then conv-BN-ReLU blocks each followed by 2x2 max-pooling, global average
    pooling and one linear unit (the logit)."""

    def __init__(self, config: CnnConfig = CnnConfig()) -> None:
        super().__init__()
        c = config.channels
        self.config = config
        layers: list[nn.Module] = [
            nn.Conv2d(1, c[0], config.stem_kernel, stride=2, padding=config.stem_kernel // 2, bias=False),
            nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        for i in range(1, len(c)):
            layers.append(_block(c[i - 1], c[i]))
            if i < len(c) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(config.dropout),
                                  nn.Linear(c[-1], 1))
        self.register_buffer("mean", torch.tensor(config.input_mean))
        self.register_buffer("std", torch.tensor(config.input_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, S, S) in [0, 1] -> (N,) logits."""
        return self.head(self.features((x - self.mean) / self.std)).squeeze(1)


class ProbabilityModel(nn.Module):
    """The exported graph: (N, 1, S, S) in [0, 1] -> (N,) probabilities."""

    def __init__(self, net: SmallCnn) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))
