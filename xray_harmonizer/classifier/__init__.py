"""Classifier inference (onnxruntime) and its input preparation."""

from xray_harmonizer.classifier.model import ClassifierModel, bundled_classifier

__all__ = ["ClassifierModel", "bundled_classifier"]
