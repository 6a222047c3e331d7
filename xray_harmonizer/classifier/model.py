"""Classifier inference on onnxruntime: a verified model package -> probability per image."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from xray_harmonizer.classifier.preprocess import prepare_batch
from xray_harmonizer.imaging.validation import check_image
from xray_harmonizer.models.package import ModelPackage, PackageError, load_package

log = logging.getLogger(__name__)


class ClassifierModel:
    """Run a classifier model package.

    Parameters
    ----------
    package : ModelPackage or path
        A verified package (or a folder / .zip, verified here) of kind ``classifier``.
    use_gpu : bool, optional
        Ask for the CUDA execution provider (default: unless ``XRH_DISABLE_GPU=1``).

    Thread-safe after construction (onnxruntime's ``run`` is).
    """

    def __init__(self, package: ModelPackage | str | Path, *, use_gpu: bool | None = None) -> None:
        from xray_harmonizer.runtime.sessions import create_session

        self.package = package if isinstance(package, ModelPackage) else load_package(package)
        if self.package.kind != "classifier":
            raise PackageError(self.package.root, f"not a classifier package (kind {self.package.kind!r})")
        spec = self.package.input_spec
        if spec.get("normalisation", "zero_one") != "zero_one":
            raise PackageError(self.package.root, f"unsupported normalisation {spec.get('normalisation')!r}")
        self.size = int(spec.get("size", 224))
        runtime = create_session(self.package.entrypoint, use_gpu=use_gpu)
        self._session = runtime.session
        self.provider = runtime.provider
        self._input = self._session.get_inputs()[0].name

    @property
    def name(self) -> str:
        return self.package.name

    @property
    def label(self) -> str:
        return self.package.label or "positive"

    @property
    def model_hash(self) -> str | None:
        """sha256 identifying the package (shown in reports)."""
        return self.package.content_hash

    @property
    def reference_site(self) -> str:
        return self.package.reference_site

    @property
    def threshold(self) -> float:
        """Operating threshold chosen on the reference validation split (0.5 if not recorded)."""
        return float(self.package.manifest.get("evaluation", {}).get("operating_threshold", 0.5))

    def predict_batch(self, images: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Probabilities of ``label`` for float32 (H, W) [0, 1] images -> float64 (N,)."""
        for im in images:
            check_image(im)
        out = []
        for i in range(0, len(images), batch_size):
            x = prepare_batch(list(images[i:i + batch_size]), self.size)
            out.append(np.asarray(self._session.run(None, {self._input: x})[0]).reshape(-1))
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def predict(self, image: np.ndarray) -> float:
        """Probability of ``label`` for one float32 (H, W) [0, 1] image."""
        return float(self.predict_batch([image])[0])


def bundled_classifier(name: str = "classifier-kermany-pneumonia", *,
                       use_gpu: bool | None = None) -> ClassifierModel:
    """The classifier shipped in ``resources/models``."""
    from xray_harmonizer.models.discovery import bundled_models_dir

    return ClassifierModel(bundled_models_dir() / name, use_gpu=use_gpu)
