"""Study I/O: open DICOM and raster radiographs as XrayImage, export harmonized images.

``open_image(path)`` opens one file; ``open_study(path)`` a file, folder or DICOM series
(``iter_study`` streams the same, one file at a time); ``describe(image)`` gives the
identity-free facts printed by ``xray-harmonizer info``. Exporters live in
:mod:`xray_harmonizer.io.export`.

Decisions (details in each module):

- DICOM VOI: first VOI LUT item, else first window, else the actual min..max of the modality
  values (Pixel Padding left out) -- never the dtype or BitsStored range. MONOCHROME1 inverted.
- Only projection modalities (CR, DX, RG, MG, IO, PX, RF, XA, DF, OT, or none) and single frames.
- A compressed syntax with no installed decoder -> UnsupportedTransferSyntaxError naming the pip
  package. A decoder that is installed but fails -> CorruptImageError: the stream is bad and no
  package would help. ``RG2_JPLY_broken.dcm`` is that case (its JPEG Extended scan header has
  Se=0, which sequential JPEG forbids), so it is reported as corrupt.
- Rasters: 16-bit data scaled by its sBIT or inferred bit depth (see :mod:`.raster`); grey
  stored as RGB(A) read as grey silently; near-grey colour converted to luminance with a warning;
  truly coloured images refused (ColourImageError).
- Size: 32..16384 px a side and at most 2**28 pixels, checked from the header before decoding.
- Every file opened is remembered; exporters refuse to overwrite any of them.
- Damaged or hostile files: whatever fails inside a reader or a native decoder (pyo3
  ``PanicException`` is a BaseException) becomes a documented StudyError subclass for that file
  (MemoryError: ImageSizeError; only KeyboardInterrupt/SystemExit pass). Header values are read
  through :mod:`._dicom_values` and checked (finite rescale and window, single-number Rows);
  messages are one printable line naming elements, never their values (a damaged length makes
  the patient's name part of a "value"). Reads never ask for more than the file holds; PNG
  image data shorter than IHDR declares and decompression bombs are refused before decoding.
  ``tests/fuzz.py`` checks all this on mutated real files (figures in the README).
"""

from xray_harmonizer.io.errors import (
    ColourImageError,
    CorruptImageError,
    EmptyPixelDataError,
    ExportError,
    FileAccessError,
    ImageSizeError,
    NotAnImageError,
    NotProjectionRadiographError,
    StudyError,
    UnsupportedTransferSyntaxError,
)
from xray_harmonizer.io.image import ImageMetadata, XrayImage
from xray_harmonizer.io.reader import describe, open_image
from xray_harmonizer.io.study import StudyResult, iter_study, open_study, study_files

__all__ = [
    "ColourImageError",
    "CorruptImageError",
    "EmptyPixelDataError",
    "ExportError",
    "FileAccessError",
    "ImageMetadata",
    "ImageSizeError",
    "NotAnImageError",
    "NotProjectionRadiographError",
    "StudyError",
    "StudyResult",
    "UnsupportedTransferSyntaxError",
    "XrayImage",
    "describe",
    "iter_study",
    "open_image",
    "open_study",
    "study_files",
]
