"""The Generalizer contract."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Generalizer(Protocol):
    """Maps an image from any site to the intensity distribution of one reference site.

    ``harmonize`` takes and returns a float32 (H, W) array in [0, 1]; output shape equals input
    shape; deterministic; safe to call from several threads once constructed. No I/O, no Qt.

    Attributes
    ----------
    name : str
        Human-readable name shown in the UI and written into derived DICOM.
    kind : str
        ``"histogram"``, ``"cyclegan"``, ``"unit"``...
    reference_site : str
        Id of the reference site it maps to (matches a profile's ``site_id``).
    model_hash : str or None
        sha256 identifying the model (package manifest or profile content hash).
    """

    name: str
    kind: str
    reference_site: str
    model_hash: str | None

    def harmonize(self, image: np.ndarray) -> np.ndarray: ...
