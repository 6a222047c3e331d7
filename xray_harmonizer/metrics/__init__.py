"""Image-quality and distribution metrics: SSIM (+ map), PSNR, histograms, W1/JS distances, AUC.

All functions are pure numpy (scipy-free at import) and check their inputs on entry.
"""

from xray_harmonizer.metrics.distances import (
    jensen_shannon,
    jensen_shannon_to_profile,
    wasserstein1,
    wasserstein1_to_profile,
)
from xray_harmonizer.metrics.histograms import body_histogram, histogram, quantile_function
from xray_harmonizer.metrics.psnr import psnr
from xray_harmonizer.metrics.roc import (
    AucResult,
    operating_point,
    roc_auc,
    roc_curve,
    threshold_at_youden,
)
from xray_harmonizer.metrics.ssim import ssim, ssim_map

__all__ = [
    "AucResult",
    "body_histogram",
    "histogram",
    "jensen_shannon",
    "jensen_shannon_to_profile",
    "operating_point",
    "psnr",
    "quantile_function",
    "roc_auc",
    "roc_curve",
    "ssim",
    "ssim_map",
    "threshold_at_youden",
    "wasserstein1",
    "wasserstein1_to_profile",
]
