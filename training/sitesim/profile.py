"""Site profiles: the parameters of a simulated imaging chain, loaded from JSON.

A site profile describes how *another* imaging chain would have rendered the same patient. The
simulator (:mod:`training.sitesim.simulate`) reads the reference image as relative attenuation
(presentation value ``p`` in [0, 1], higher = more attenuation) and re-images it:

``exposure`` and ``attenuation_range``
    Relative detector exposure ``E = exposure * exp(-attenuation_range * p)``. ``attenuation_range``
    is how many e-folds of transmitted exposure the reference's [0, 1] spans (about 3 for a chest).
    ``exposure`` is the relative dose (1 = nominal); the chain has no auto-ranging, so an
    over-exposed site (``exposure > 1``) looks darker. ``exposure_jitter`` is the standard
    deviation of the per-image log exposure (technique varies from patient to patient).
``blur_sigma``
    Detector MTF as a Gaussian point-spread function, sigma in pixels *at a 512 px long side*
    (scaled with the image so a full-resolution image gets the same physical blur).
``quantum_noise`` and ``electronic_noise``
    Quantum (Poisson) noise variance per unit exposure (``var = quantum_noise * E``: about
    1 / photons per pixel at nominal exposure) and additive electronic noise SD in exposure units.
``tone_curve``, ``gamma``, ``sigmoid_slope``, ``sigmoid_center``
    Detector response / characteristic curve applied to the log-exposure signal: ``"log"`` (a CR
    reader's logarithmic amplifier, linear in attenuation), ``"gamma"`` (power law ``u**gamma``)
    or ``"sigmoid"`` (an H&D film curve with the given slope and speed point, in normalised units).
``drc_strength``, ``drc_sigma``
    Vendor dynamic-range compression: subtract ``drc_strength`` times the large-scale (Gaussian,
    ``drc_sigma`` px at 512) deviation from the mean, flattening lung/mediastinum contrast.
``mce_gain``, ``mce_power``, ``mce_levels``
    Multi-scale contrast enhancement (MUSICA-like): detail bands (differences of Gaussians at
    1, 2, 4, ... px at 512) amplified by ``1 + mce_gain`` after a power compression ``mce_power``
    (< 1 boosts faint detail more than strong edges).
``usm_amount``, ``usm_sigma``
    Unsharp masking: ``y + usm_amount * (y - blur(y, usm_sigma))``.
``contrast``, ``brightness``
    Display window applied last: ``(y - 0.5) * contrast + 0.5 + brightness``.
``bits``
    Output bit depth (values quantised to ``2**bits - 1`` levels).
``photometric``, ``modality``
    How DICOM output is stored: ``MONOCHROME1`` stores inverted values (the presentation image is
    the same); ``CR`` or ``DX``.
``collimation``, ``collimation_value``
    Collimator shadow: for each side a fraction of the image drawn uniformly from
    ``collimation = [min, max]`` is replaced by ``collimation_value`` (unexposed = bright; an
    electronic shutter may also paint it black, ``collimation_value`` near 0).
``noise_correlation``
    Gaussian sigma (px at 512) of the noise's spatial correlation (scintillator/phosphor light
    spread); 0 = white noise.
``heel``
    Anode heel effect: relative exposure falls linearly by ``heel`` across the image; the anode
    side (top/bottom/left/right) is drawn per image.
``grid_amplitude``, ``grid_period``, ``grid_orientation``
    Anti-scatter grid lines: exposure modulated by up to ``grid_amplitude`` with a period of
    ``grid_period`` px at 512 (``vertical`` or ``horizontal`` lines, phase drawn per image).
``text_labels``, ``text_value``
    Number of burned-in text labels (blocky glyph strings near the corners, drawn per image) and
    their grey value.

The fields after ``collimation_value`` were added for the randomized chains of
:mod:`training.sitesim.random_chain`; their defaults leave a chain unchanged and draw nothing, so
the shipped profiles give the same pixels as before they existed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
TONE_CURVES = ("log", "gamma", "sigmoid")
PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2")
MODALITIES = ("CR", "DX")
GRID_ORIENTATIONS = ("vertical", "horizontal")


@dataclass(frozen=True)
class SiteProfile:
    """Physical parameters of a simulated imaging chain (see the module docstring).

    The defaults are the identity chain (apart from 12-bit quantisation).
    """

    name: str = "identity"
    description: str = ""
    exposure: float = 1.0
    exposure_jitter: float = 0.0
    attenuation_range: float = 3.0
    blur_sigma: float = 0.0
    quantum_noise: float = 0.0
    electronic_noise: float = 0.0
    tone_curve: str = "log"
    gamma: float = 1.0
    sigmoid_slope: float = 6.0
    sigmoid_center: float = 0.5
    drc_strength: float = 0.0
    drc_sigma: float = 40.0
    mce_gain: float = 0.0
    mce_power: float = 1.0
    mce_levels: int = 4
    usm_amount: float = 0.0
    usm_sigma: float = 2.0
    contrast: float = 1.0
    brightness: float = 0.0
    bits: int = 12
    photometric: str = "MONOCHROME2"
    modality: str = "CR"
    collimation: tuple[float, float] = (0.0, 0.0)
    collimation_value: float = 0.95
    noise_correlation: float = 0.0
    heel: float = 0.0
    grid_amplitude: float = 0.0
    grid_period: float = 3.0
    grid_orientation: str = "vertical"
    text_labels: int = 0
    text_value: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.tone_curve not in TONE_CURVES:
            raise ValueError(f"tone_curve must be one of {TONE_CURVES}, got {self.tone_curve!r}")
        if self.photometric not in PHOTOMETRICS:
            raise ValueError(f"photometric must be one of {PHOTOMETRICS}, got {self.photometric!r}")
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        if not 1 <= int(self.bits) <= 16:
            raise ValueError(f"bits must be in 1..16, got {self.bits}")
        if self.exposure <= 0 or self.attenuation_range <= 0:
            raise ValueError("exposure and attenuation_range must be positive")
        for name in ("exposure_jitter", "blur_sigma", "quantum_noise", "electronic_noise",
                     "drc_sigma", "usm_sigma", "gamma", "sigmoid_slope", "mce_power"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        lo, hi = self.collimation
        if not 0 <= lo <= hi < 0.5:
            raise ValueError(f"collimation must be [min, max] with 0 <= min <= max < 0.5, got {self.collimation}")
        if not 1 <= int(self.mce_levels) <= 8:
            raise ValueError("mce_levels must be in 1..8")
        if self.grid_orientation not in GRID_ORIENTATIONS:
            raise ValueError(f"grid_orientation must be one of {GRID_ORIENTATIONS}, "
                             f"got {self.grid_orientation!r}")
        if self.noise_correlation < 0 or not 0 <= self.heel < 1 or not 0 <= self.grid_amplitude < 1:
            raise ValueError("noise_correlation must be >= 0, heel and grid_amplitude in [0, 1)")
        if self.grid_period <= 0 or not 0 <= int(self.text_labels) <= 8:
            raise ValueError("grid_period must be > 0 and text_labels in 0..8")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict that :func:`profile_from_dict` reads back."""
        d = dataclasses.asdict(self)
        d.pop("extra")
        d["collimation"] = list(self.collimation)
        return d


def profile_from_dict(data: dict[str, Any]) -> SiteProfile:
    """Build a :class:`SiteProfile` from a dict; unknown keys are an error (typos must not pass)."""
    known = {f.name for f in dataclasses.fields(SiteProfile)} - {"extra"}
    unknown = sorted(k for k in data if k not in known and not k.startswith("_"))
    if unknown:
        raise ValueError(f"unknown site-profile parameter(s): {', '.join(unknown)}")
    kwargs = {k: v for k, v in data.items() if k in known}
    if "collimation" in kwargs:
        kwargs["collimation"] = tuple(float(v) for v in kwargs["collimation"])
    if "bits" in kwargs:
        kwargs["bits"] = int(kwargs["bits"])
    for key in ("mce_levels", "text_labels"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    return SiteProfile(**kwargs)


def available_profiles() -> list[str]:
    """Names of the bundled profiles (``training/sitesim/profiles/*.json``)."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.json"))


def resolve_profile_path(name_or_file: str | Path) -> Path:
    """A bundled profile name (``site_severe``) or a path to a JSON file -> the file's path."""
    path = Path(name_or_file)
    if path.suffix.lower() == ".json" and path.is_file():
        return path
    bundled = PROFILES_DIR / f"{path.stem if path.suffix == '.json' else name_or_file}.json"
    if bundled.is_file():
        return bundled
    raise FileNotFoundError(
        f"{name_or_file}: no such profile file or bundled profile ({', '.join(available_profiles())})")


def load_site_profile(name_or_file: str | Path) -> SiteProfile:
    """Load a bundled profile by name or a profile JSON file by path."""
    path = resolve_profile_path(name_or_file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a site profile must be a JSON object")
    data.setdefault("name", path.stem)
    return profile_from_dict(data)
