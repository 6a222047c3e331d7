"""Reference-site profiles: the intensity distribution a classifier was trained on.

A profile pools, with equal weight per image, the intensity histograms of a site's images —
over the body region (:func:`xray_harmonizer.imaging.masks.body_mask`) and over the whole
image — and stores them as quantile functions on fixed levels plus coarse 256-bin histograms.
It is a dataset-level target: histogram matching maps a study onto it, the distribution metrics
measure distance to it, and the app warns when a study is far from it.

File format (JSON, ``format: xray-harmonizer/reference-profile``, version 1)::

    site_id, description, n_images, mask_method, content_hash (sha256 over the sorted
    (file name, file sha256) pairs), levels, body_quantiles, image_quantiles,
    body_histogram, image_histogram
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from xray_harmonizer.imaging.masks import body_mask
from xray_harmonizer.imaging.validation import check_image
from xray_harmonizer.metrics.histograms import quantiles_from_counts
from xray_harmonizer.resources import default_profile_path

FORMAT = "xray-harmonizer/reference-profile"
FORMAT_VERSION = 1
MASK_METHOD = "body-v1"
N_LEVELS = 1001
HIST_BINS = 256
FINE_BINS = 4096


class ProfileError(ValueError):
    """A reference profile file is missing, malformed or from an unknown format."""


@dataclass(frozen=True)
class ReferenceProfile:
    """Intensity distribution of a reference site (all arrays float64, values in [0, 1])."""

    site_id: str
    n_images: int
    levels: np.ndarray = field(repr=False)
    body_quantiles: np.ndarray = field(repr=False)
    image_quantiles: np.ndarray = field(repr=False)
    body_histogram: np.ndarray = field(repr=False)
    image_histogram: np.ndarray = field(repr=False)
    content_hash: str = ""
    mask_method: str = MASK_METHOD
    description: str = ""

    def quantiles(self, masked: bool = True) -> np.ndarray:
        return self.body_quantiles if masked else self.image_quantiles

    def histogram(self, masked: bool = True) -> np.ndarray:
        return self.body_histogram if masked else self.image_histogram

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "site_id": self.site_id, "description": self.description,
            "n_images": self.n_images, "mask_method": self.mask_method,
            "content_hash": self.content_hash,
            "levels": _rounded(self.levels), "body_quantiles": _rounded(self.body_quantiles),
            "image_quantiles": _rounded(self.image_quantiles),
            "body_histogram": _rounded(self.body_histogram, 9),
            "image_histogram": _rounded(self.image_histogram, 9),
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "profile") -> "ReferenceProfile":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProfileError(f"{where}: not a reference-site profile")
        if data.get("format_version") != FORMAT_VERSION:
            raise ProfileError(f"{where}: unsupported profile version {data.get('format_version')!r}")
        try:
            arrays = {k: np.asarray(data[k], dtype=np.float64) for k in
                      ("levels", "body_quantiles", "image_quantiles", "body_histogram",
                       "image_histogram")}
            profile = cls(site_id=str(data["site_id"]), n_images=int(data["n_images"]),
                          content_hash=str(data.get("content_hash", "")),
                          mask_method=str(data.get("mask_method", MASK_METHOD)),
                          description=str(data.get("description", "")), **arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"{where}: malformed profile ({exc})") from None
        _check_consistent(profile, where)
        return profile

    def save(self, path: str | Path) -> Path:
        """Write the profile as JSON atomically (temp file in the same folder, then rename)."""
        from xray_harmonizer.io.export import atomic_write  # pydicom: only when saving

        text = json.dumps(self.to_dict(), indent=1) + "\n"
        return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def load_profile(path: str | Path | None = None) -> ReferenceProfile:
    """Load a profile JSON file; the bundled Kermany profile when ``path`` is None."""
    path = Path(path) if path is not None else default_profile_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: profile file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{path}: not valid JSON ({exc})") from None
    return ReferenceProfile.from_dict(data, where=str(path))


class ProfileAccumulator:
    """Pools per-image histograms (equal weight per image) into a :class:`ReferenceProfile`."""

    def __init__(self) -> None:
        self._body = np.zeros(FINE_BINS, np.float64)
        self._whole = np.zeros(FINE_BINS, np.float64)
        self.n_images = 0

    def add(self, image: np.ndarray) -> None:
        """Add one float32 (H, W) image in [0, 1]."""
        check_image(image)
        idx = fine_bin_index(image)
        whole = np.bincount(idx.ravel(), minlength=FINE_BINS).astype(np.float64)
        body = np.bincount(idx[body_mask(image)], minlength=FINE_BINS).astype(np.float64)
        self._whole += whole / whole.sum()
        self._body += body / max(body.sum(), 1.0)
        self.n_images += 1

    def finish(self, site_id: str, content_hash: str = "", description: str = "") -> ReferenceProfile:
        if self.n_images == 0:
            raise ProfileError("no usable images to build a profile from")
        levels = np.linspace(0.0, 1.0, N_LEVELS)
        return ReferenceProfile(
            site_id=site_id, n_images=self.n_images, levels=levels,
            body_quantiles=quantiles_from_histogram(self._body, levels),
            image_quantiles=quantiles_from_histogram(self._whole, levels),
            body_histogram=_coarsen(self._body), image_histogram=_coarsen(self._whole),
            content_hash=content_hash, description=description,
        )


def fine_bin_index(image: np.ndarray) -> np.ndarray:
    """Index of each pixel in the FINE_BINS-bin grid over [0, 1] (uint16, same shape).

    ``image`` must already be checked to lie in [0, 1] (up to float rounding): the scale keeps
    1.0 in the last bin and tiny negative rounding truncates to bin 0, so no clip pass is needed.
    """
    idx = np.multiply(image, np.float32(FINE_BINS - 1e-3), dtype=np.float32)
    return idx.astype(np.uint16)


def quantiles_from_histogram(counts: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantile function of a histogram over [0, 1], linear within bins (see
    :func:`xray_harmonizer.metrics.histograms.quantiles_from_counts`)."""
    return quantiles_from_counts(counts, levels)


def content_hash_of(files: Iterable[Path]) -> str:
    """sha256 over the sorted (file name, file sha256) pairs: identifies the image set."""
    digest = hashlib.sha256()
    for name, file_hash in sorted((Path(f).name, _sha256(Path(f))) for f in files):
        digest.update(f"{name}\0{file_hash}\n".encode())
    return digest.hexdigest()


def build_profile(folder: str | Path, site_id: str, description: str = "",
                  progress: bool = False) -> tuple[ReferenceProfile, list]:
    """Build a profile from every readable image under ``folder``.

    Returns the profile and the list of :class:`~xray_harmonizer.io.errors.StudyError` for the
    files that were skipped (a bad file never stops the build).
    """
    from xray_harmonizer.io import iter_study, study_files  # io is heavier; only builders need it
    from xray_harmonizer.io.errors import StudyError

    acc = ProfileAccumulator()
    used: list[Path] = []
    errors: list = []
    items = iter_study(folder)  # one image in memory at a time
    if progress:
        from tqdm import tqdm
        items = tqdm(items, total=len(study_files(folder)[0]), desc="profile", unit="img")
    for path, item in items:
        if isinstance(item, StudyError):
            errors.append(item)
            continue
        acc.add(item.pixels)
        used.append(path)
    profile = acc.finish(site_id, content_hash_of(used), description)
    return profile, errors


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _coarsen(fine: np.ndarray) -> np.ndarray:
    coarse = fine.reshape(HIST_BINS, FINE_BINS // HIST_BINS).sum(axis=1)
    return coarse / coarse.sum()


def _rounded(values: np.ndarray, digits: int = 7) -> list[float]:
    return [round(float(v), digits) for v in values]


def _check_consistent(p: ReferenceProfile, where: str) -> None:
    n = p.levels.size
    if n < 2 or p.body_quantiles.size != n or p.image_quantiles.size != n:
        raise ProfileError(f"{where}: quantile arrays must match the levels")
    for name in ("body_quantiles", "image_quantiles"):
        q = getattr(p, name)
        if np.any(np.diff(q) < -1e-9) or q.min() < 0 or q.max() > 1:
            raise ProfileError(f"{where}: {name} must be non-decreasing within [0, 1]")
    if p.body_histogram.size != HIST_BINS or p.image_histogram.size != HIST_BINS:
        raise ProfileError(f"{where}: histograms must have {HIST_BINS} bins")
