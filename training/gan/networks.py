"""Network building blocks for the generalizers, single-channel throughout.

CycleGAN (Zhu et al. 2017, appendix 7.2): ResNet generator ``c7s1-w, d2w, d4w, R4w x n, u2w, uw,
c7s1-1`` with instance norm, and the 70x70 PatchGAN ``C64-C128-C256-C512``. UNIT (Liu et al. 2017)
reuses the same blocks for its encoders/decoders (see :mod:`training.gan.unit`).

Every constructor takes explicit typed arguments; no option namespace reaches in here.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

UPSAMPLE_MODES = ("transpose", "resize")


def conv_norm_act(c_in: int, c_out: int, kernel: int, stride: int = 1, *, norm: bool = True,
                  act: str = "relu", reflect: bool = True) -> nn.Sequential:
    """Conv (reflect-padded when stride 1) + InstanceNorm + activation."""
    pad = kernel // 2
    layers: list[nn.Module] = []
    if reflect and pad and stride == 1:
        layers += [nn.ReflectionPad2d(pad), nn.Conv2d(c_in, c_out, kernel, stride, 0)]
    else:
        layers += [nn.Conv2d(c_in, c_out, kernel, stride, pad)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=False))
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "lrelu":
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    elif act != "none":
        raise ValueError(f"unknown activation {act!r}")
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """Two reflect-padded 3x3 convs with instance norm and an identity skip (R``c``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_norm_act(channels, channels, 3),
            conv_norm_act(channels, channels, 3, act="none"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def upsample_block(c_in: int, c_out: int, mode: str) -> nn.Sequential:
    """x2 upsampling: transposed conv (the paper) or nearest resize + conv.

    Resize-conv avoids the checkerboard pattern that stride-2 transposed convs leave behind
    (Odena et al. 2016), which on an X-ray would read as texture that is not anatomy.
    """
    if mode == "transpose":
        return nn.Sequential(
            nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(c_out), nn.ReLU(inplace=True))
    if mode == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                             conv_norm_act(c_in, c_out, 3))
    raise ValueError(f"upsample mode must be one of {UPSAMPLE_MODES}, got {mode!r}")


class ResnetGenerator(nn.Module):
    """CycleGAN ResNet generator on images in [-1, 1], shape (N, 1, H, W), H and W multiples of 4.

    Parameters
    ----------
    width : int
        Channels of the first layer (``w``; the paper uses 64).
    n_blocks : int
        Residual blocks at the bottleneck (the paper: 9 at 256 px).
    upsample : str
        ``"transpose"`` or ``"resize"`` (:func:`upsample_block`).

    The output layer is the paper's 7x7 conv + tanh. Whatever the network outputs, the app
    keeps only its local intensity mapping (``xray_harmonizer/imaging/transfer.py``), so it
    cannot add structure to the full-resolution image.
    """

    multiple = 4

    def __init__(self, width: int, n_blocks: int, upsample: str = "resize") -> None:
        super().__init__()
        w = width
        layers: list[nn.Module] = [
            conv_norm_act(1, w, 7),
            conv_norm_act(w, 2 * w, 3, stride=2),
            conv_norm_act(2 * w, 4 * w, 3, stride=2),
        ]
        layers += [ResidualBlock(4 * w) for _ in range(n_blocks)]
        layers += [upsample_block(4 * w, 2 * w, upsample), upsample_block(2 * w, w, upsample)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, 1, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``C(w)-C(2w)-C(4w)-C(8w)`` then a 1-channel 4x4 conv (70x70 receptive field at
    ``n_layers=3``); no norm on the first layer, LeakyReLU 0.2, raw scores (LSGAN).

    ``norm=False`` drops the instance norms (``Experimental.d_norm = "none"``): they normalise
    every feature map per image and so may let D discount a global brightness or contrast
    offset, what a site shift mostly is. Tried, not adopted (training/gan/README.md).
    """

    def __init__(self, width: int = 64, n_layers: int = 3, norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c = width
        for i in range(1, n_layers + 1):
            c_next = width * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers.append(nn.Conv2d(c, c_next, 4, stride, 1))
            if norm:
                layers.append(nn.InstanceNorm2d(c_next))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def init_weights(module: nn.Module, generator: torch.Generator, gain: float = 0.02) -> None:
    """Normal(0, 0.02) conv weights, zero biases (the CycleGAN/pix2pix initialisation).

    Every conv of these networks is drawn here from ``generator`` (they have no other
    parameters), so the initial weights depend on the seed only, not on the global RNG.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def lsgan_loss(pred: torch.Tensor, target_real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017): mean (D(x) - t)^2, t = 1 real / 0 fake."""
    target = torch.ones_like(pred) if target_real else torch.zeros_like(pred)
    return torch.mean((pred.float() - target.float()) ** 2)


def local_correlation(x: torch.Tensor, y: torch.Tensor, window: int = 9,
                      eps: float = 1e-4) -> torch.Tensor:
    """Mean local Pearson correlation of ``x`` and ``y`` over ``window``-square boxes, in [-1, 1].

    Invariant to any local affine change of intensity with a positive slope, so it scores
    whether ``y`` keeps ``x``'s structure while leaving its local brightness and contrast free.
    Boxes are taken inside the image (no padding); ``eps`` (in [-1, 1] intensity units squared)
    keeps flat regions such as collimation from dividing by zero.
    """
    x, y = x.float(), y.float()

    def box(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(t, window, stride=1)

    mx, my = box(x), box(y)
    vx = (box(x * x) - mx * mx).clamp_min(0)
    vy = (box(y * y) - my * my).clamp_min(0)
    cov = box(x * y) - mx * my
    return torch.mean(cov / torch.sqrt(vx * vy + eps))


def structure_loss(source: torch.Tensor, translated: torch.Tensor, window: int) -> torch.Tensor:
    """``1 - local_correlation``: 0 when the translation is a local affine map of its source."""
    return 1.0 - local_correlation(source, translated, window)


class ImagePool:
    """History of generated images (Shrivastava et al. 2017) so D sees older fakes too.

    With probability 0.5 a query returns a stored image and stores the new one in its place.
    Uses a seeded ``torch.Generator`` so training stays deterministic; ``state()`` is saved
    with the checkpoint.
    """

    def __init__(self, size: int, generator: torch.Generator) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.gen = generator

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for img in images.detach():
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand(1, generator=self.gen).item() > 0.5:
                idx = int(torch.randint(0, self.size, (1,), generator=self.gen).item())
                old = self.images[idx].clone()
                self.images[idx] = img.clone()
                out.append(old)
            else:
                out.append(img)
        return torch.cat(out, 0)

    def state(self) -> list[torch.Tensor]:
        return [i.cpu() for i in self.images]

    def load(self, images: list[torch.Tensor], device: torch.device) -> None:
        self.images = [i.to(device) for i in images]
