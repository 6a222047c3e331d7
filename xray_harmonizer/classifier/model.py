"""Classifier inference on onnxruntime: a verified model package -> probability per image."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xray_harmonizer.classifier.domain import DomainReference, DomainVerdict, tag_reason
from xray_harmonizer.classifier.preprocess import prepare_batch
from xray_harmonizer.imaging.validation import check_image
from xray_harmonizer.models.package import ModelPackage, PackageError, load_package

if TYPE_CHECKING:  # the DICOM header, for the tag checks; only typed here
    from pydicom import Dataset

log = logging.getLogger(__name__)

FEATURES_OUTPUT = "features"  # the penultimate layer, exported beside "probability"


@dataclass(frozen=True)
class Assessment:
    """The classifier's answer for one image: ``probability`` is None outside its domain, and
    ``verdict.reason`` then says why."""

    probability: float | None
    verdict: DomainVerdict


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
        outputs = [o.name for o in self._session.get_outputs()]
        self._features_index = outputs.index(FEATURES_OUTPUT) if FEATURES_OUTPUT in outputs \
            else None
        self.domain = self._load_domain()

    def _load_domain(self) -> DomainReference | None:
        """The package's image-domain reference (hash-checked with the package), if it has one
        and the ONNX exports the features it is measured on."""
        section = self.package.manifest.get("domain")
        if not section or self._features_index is None:
            return None
        if section["reference"] not in self.package.manifest["files"]:  # never load unverified
            raise PackageError(self.package.root, f"domain reference {section['reference']} is "
                                                  "not among the hashed files")
        return DomainReference.load(self.package.root / section["reference"], section)

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

    def assess(self, image: np.ndarray, dataset: Dataset | None = None) -> Assessment:
        """Probability of ``label`` if the image is in the classifier's domain (DICOM tags of
        ``dataset`` first, then the image against the package's domain reference)."""
        check_image(image)
        reason = tag_reason(dataset)
        if reason is not None:
            return Assessment(None, DomainVerdict(False, reason))
        x = prepare_batch([image], self.size)
        outputs = self._session.run(None, {self._input: x})
        probability = float(np.asarray(outputs[0]).reshape(-1)[0])
        if self.domain is None:
            return Assessment(probability, DomainVerdict(True))
        verdict = self.domain.verdict(x[0, 0], np.asarray(outputs[self._features_index])[0])
        return Assessment(probability if verdict.in_domain else None, verdict)


def bundled_classifier(name: str = "classifier-kermany-pneumonia", *,
                       use_gpu: bool | None = None) -> ClassifierModel:
    """The classifier shipped in ``resources/models``."""
    from xray_harmonizer.models.discovery import bundled_models_dir

    return ClassifierModel(bundled_models_dir() / name, use_gpu=use_gpu)
