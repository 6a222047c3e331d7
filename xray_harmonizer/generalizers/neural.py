"""ONNX generalizers (CycleGAN, UNIT): network at a working resolution, detail from the input.

The network sees the image resized to the package's working size (long side, aspect kept),
reflect-padded to its multiple; its output is carried to full resolution by
:func:`xray_harmonizer.imaging.transfer.transfer`. The two naive alternatives are kept as
methods (:meth:`NeuralGeneralizer.harmonize_full_network`,
:meth:`NeuralGeneralizer.harmonize_upsampled`) because the benchmark compares against them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape
from xray_harmonizer.imaging.validation import check_image
from xray_harmonizer.models.package import ModelPackage, PackageError, load_package
from xray_harmonizer.runtime.sessions import create_session

log = logging.getLogger(__name__)

_KINDS = {"cyclegan-resnet": "cyclegan", "cyclegan": "cyclegan", "unit": "unit"}


class NeuralGeneralizer:
    """A generalizer package's ONNX network behind the Generalizer contract.

    Parameters
    ----------
    package : ModelPackage, str or Path
        A verified package, or a folder/zip to verify and load.
    working_size : int, optional
        Long side the network runs at; the package's ``input.working_size`` by default.
    use_gpu : bool, optional
        Ask for the CUDA provider (default: when allowed and present). :attr:`provider` says
        which one really runs.
    transfer_config : TransferConfig, optional
        Settings of the full-resolution transfer; by default :class:`TransferConfig` with
        ``residual`` as the package's ``input.transfer`` asks (``"affine+residual"``: the
        network was trained against pixel-aligned truth; default ``"affine"``).

    Notes
    -----
    Thread-safe after construction: no mutable state; onnxruntime sessions allow concurrent
    ``run`` calls.
    """

    def __init__(self, package: ModelPackage | str | Path, working_size: int | None = None,
                 use_gpu: bool | None = None,
                 transfer_config: TransferConfig | None = None) -> None:
        pkg = package if isinstance(package, ModelPackage) else load_package(package)
        if pkg.kind != "generalizer":
            raise PackageError(pkg.root, f"is a {pkg.kind} package, not a generalizer")
        spec = pkg.input_spec
        if spec.get("normalisation") != "zero_one":
            raise PackageError(pkg.root, f"unsupported input normalisation "
                                         f"{spec.get('normalisation')!r}")
        self.package = pkg
        self.working_size = int(working_size or spec.get("working_size", 256))
        self.multiple = int(spec.get("multiple", 4))
        if self.working_size < self.multiple:
            raise ValueError(f"working_size must be >= {self.multiple}")
        self._input_name = str(spec.get("tensor", "image"))
        self.transfer_config = transfer_config or TransferConfig(
            residual=spec.get("transfer", "affine") == "affine+residual")
        runtime = create_session(pkg.entrypoint, use_gpu=use_gpu)
        self._session = runtime.session
        self.provider: str = runtime.provider
        manifest = pkg.manifest
        self.kind: str = str(manifest.get("generalizer_kind")
                             or _KINDS.get(pkg.architecture, pkg.architecture))
        self.name: str = str(manifest.get("display_name") or pkg.name)
        self.reference_site: str = pkg.reference_site
        self.model_hash: str | None = pkg.content_hash

    def __repr__(self) -> str:
        return (f"NeuralGeneralizer({self.package.name!r}, working_size={self.working_size}, "
                f"provider={self.provider!r})")

    def run_network(self, image: np.ndarray) -> np.ndarray:
        """The network on ``image`` at its own size (reflect-padded to the multiple, cropped back).

        Parameters
        ----------
        image : ndarray, float32, (h, w), [0, 1]

        Returns
        -------
        ndarray, float32, (h, w), [0, 1]
        """
        h, w = image.shape
        m = self.multiple
        # Up to the multiple, and to at least 4 multiples: the bottleneck's reflect pads need
        # two pixels per side.
        ph, pw = max((-h) % m, 4 * m - h), max((-w) % m, 4 * m - w)
        # Reflect needs the pad smaller than the side; edge-replicate for tiny images.
        mode = "reflect" if ph < h and pw < w else "edge"
        x = np.pad(image, ((0, ph), (0, pw)), mode=mode) if ph or pw else image
        x = np.ascontiguousarray(x, dtype=np.float32)[None, None]
        out = self._session.run(None, {self._input_name: x})[0]
        return np.clip(out[0, 0, :h, :w], 0.0, 1.0).astype(np.float32, copy=False)

    def _low(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low_in = resize(image, working_shape(image.shape, self.working_size))
        return low_in, self.run_network(low_in)

    def harmonize(self, image: np.ndarray) -> np.ndarray:
        """Harmonize a float32 (H, W) image in [0, 1]; returns float32 (H, W) in [0, 1].

        The network runs at the working resolution; a local affine intensity transform fitted
        there is applied to the full-resolution input (anatomy and detail kept).
        """
        check_image(image)
        low_in, low_out = self._low(image)
        return transfer(image, low_in, low_out, self.transfer_config)

    def harmonize_upsampled(self, image: np.ndarray) -> np.ndarray:
        """Baseline: the working-resolution output resized bilinearly to the input size."""
        check_image(image)
        _, low_out = self._low(image)
        return np.clip(resize(low_out, image.shape), 0.0, 1.0)

    def harmonize_full_network(self, image: np.ndarray) -> np.ndarray:
        """Baseline: the network run on the full-resolution image directly."""
        check_image(image)
        return self.run_network(image)
