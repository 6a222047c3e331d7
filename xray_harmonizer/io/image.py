"""The Image contract: what an opened study yields, per image."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ImageMetadata:
    """What we know about where an image came from; never holds patient identity in text form.

    Attributes
    ----------
    source : Path
        The file the image was read from.
    format : str
        ``"dicom"``, ``"png"``, ``"jpeg"``, ``"tiff"`` or ``"bmp"``.
    photometric : str
        Photometric interpretation as stored (``MONOCHROME1`` is already inverted in the pixels).
    bits_stored : int
        Significant bits of the stored samples (8 for 8-bit rasters, 10-16 for DICOM).
    pixel_spacing_mm : tuple of float or None
        (row, column) spacing from PixelSpacing or ImagerPixelSpacing.
    window : tuple of float or None
        (center, width) of the VOI window applied, in modality units; None if a full-range
        fallback or a VOI LUT sequence was used.
    modality : str or None
        DICOM Modality (``CR``, ``DX``...); None for rasters.
    transfer_syntax : str or None
        DICOM transfer syntax UID; None for rasters.
    series_uid : str or None
        SeriesInstanceUID, used to group a series.
    dataset : Any
        The pydicom Dataset (pixel data removed), kept for derived-DICOM export. Not compared.
    warnings : tuple of str
        Conversions the user should know about (e.g. colour converted to grey).
    voi : str or None
        How stored values became [0, 1]: ``"window"``, ``"voi_lut"``, ``"full_range"`` (DICOM
        min..max fallback), ``"bits"`` (raster divided by 2**bits_stored - 1) or ``"float"``.
    instance_number : int or None
        DICOM InstanceNumber, used to order a series.
    """

    source: Path
    format: str
    photometric: str
    bits_stored: int
    pixel_spacing_mm: tuple[float, float] | None = None
    window: tuple[float, float] | None = None
    modality: str | None = None
    transfer_syntax: str | None = None
    series_uid: str | None = None
    dataset: Any = field(default=None, repr=False, compare=False)
    warnings: tuple[str, ...] = ()
    voi: str | None = None
    instance_number: int | None = None


@dataclass(frozen=True)
class XrayImage:
    """A presentation-ready radiograph.

    ``pixels`` is float32, 2-D (H, W), in [0, 1], MONOCHROME2 orientation (higher = brighter =
    more attenuation), after the modality LUT and the VOI LUT/window.
    """

    pixels: np.ndarray
    meta: ImageMetadata

    def __post_init__(self) -> None:
        p = self.pixels
        if not isinstance(p, np.ndarray) or p.dtype != np.float32 or p.ndim != 2:
            raise TypeError("XrayImage.pixels must be a float32 2-D numpy array")

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape  # type: ignore[return-value]
