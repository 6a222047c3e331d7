"""Opening a study for display: one :class:`StudyEntry` per image, streamed as it decodes.

The entry owns what is computed once per image (thumbnail now; body mask and histogram on
first use, see :attr:`StudyEntry.prepared`), so no cache elsewhere is keyed by an address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from xray_harmonizer.analysis.measure import Cancelled, JobCancelled, Prepared, Progress, prepare
from xray_harmonizer.imaging.resample import downsample_to
from xray_harmonizer.io import describe, iter_study
from xray_harmonizer.io.image import XrayImage

THUMB_SIZE = 112
# A study is a handful of images; a folder of thousands would fill the memory (pixels stay
# loaded for instant switching), so opening stops here and says so.
MAX_STUDY_IMAGES = 200


@dataclass(frozen=True, eq=False)
class StudyEntry:
    """An opened image ready for the study list and the viewer.

    ``eq=False``: an entry is its own identity (hashable, usable as a weak key).
    """

    image: XrayImage
    thumbnail: np.ndarray  # uint8 (h, w), long side <= THUMB_SIZE
    info: dict[str, Any]
    load_s: float = 0.0

    @property
    def title(self) -> str:
        return self.image.meta.source.name

    @cached_property
    def prepared(self) -> Prepared:
        """Validated pixels, body mask and histogram: computed on first use, then kept here."""
        return prepare(self.image.pixels)


def thumbnail_u8(pixels: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    """uint8 thumbnail of a float32 [0, 1] image, long side <= ``size`` (block mean)."""
    small = downsample_to(pixels, size)
    return np.ascontiguousarray((small * 255.0 + 0.5).clip(0, 255).astype(np.uint8))


def prepare_study_image(image: XrayImage, load_s: float = 0.0) -> StudyEntry:
    """Thumbnail and description of a freshly opened image (cheap: the first image must show
    fast; mask and histogram follow in a second job, see :func:`body_histograms`)."""
    return StudyEntry(image=image, thumbnail=thumbnail_u8(image.pixels), info=dict(describe(image)),
                      load_s=load_s)


def body_histograms(entries: list[StudyEntry], report: Progress, cancelled: Cancelled
                    ) -> list[tuple[StudyEntry, np.ndarray]]:
    """Prepare each entry (mask + histogram, kept on the entry); returns its display histogram."""
    out = []
    for i, entry in enumerate(entries):
        if cancelled():
            raise JobCancelled()
        out.append((entry, entry.prepared.hist))
        report(int(100 * (i + 1) / len(entries)), "histograms")
    return out


def load_study(path: str | Path, report: Progress, cancelled: Cancelled, *,
               on_entry: Callable[[StudyEntry], None] | None = None,
               max_images: int | None = None) -> tuple[list[StudyEntry], list[str]]:
    """Open a file or folder one image at a time.

    ``on_entry`` is called with each entry as soon as it is ready, so the first image shows
    while the rest load. Returns the entries and one ``path: reason`` per refused file.
    """
    max_images = MAX_STUDY_IMAGES if max_images is None else max_images
    report(1, f"Opening {path}")
    entries: list[StudyEntry] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    for file, item in iter_study(path):
        if cancelled():
            raise JobCancelled()
        if len(entries) >= max_images:
            errors.append(f"{path}: more than {max_images} images; opened the first {max_images}")
            break
        if isinstance(item, Exception):
            errors.append(str(item))
            continue
        entry = prepare_study_image(item, time.perf_counter() - t0)
        t0 = time.perf_counter()
        entries.append(entry)
        if on_entry is not None:
            on_entry(entry)
        report(min(99, 5 + 5 * len(entries)), f"Opened {file.name}")
    return entries, errors
