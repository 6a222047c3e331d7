"""Classifier inference (onnxruntime) and its input preparation."""

from xray_harmonizer.classifier.model import Assessment, ClassifierModel, bundled_classifier

__all__ = ["Assessment", "ClassifierModel", "bundled_classifier"]
