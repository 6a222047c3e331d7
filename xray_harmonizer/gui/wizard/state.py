"""What the wizard's pages share: the user's choices so far and what the background work found.

Plain data plus one ``changed`` signal; every page reads and writes it, and
:meth:`WizardState.request` turns it into the one CLI command the training runs (and the wizard
shows), so the wizard and ``xray-harmonizer train site`` cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from training.sitefit.job import BUNDLED, FitRequest, default_runs_dir
from training.sitefit.scan import MIN_IMAGES, ScanResult


def default_reference_images() -> Path | None:
    """Where the bundled reference site's images sit in a source checkout (the shared data
    folder beside the repository); None when absent: the user then chooses the folder."""
    from xray_harmonizer.resources import resources_dir

    candidate = resources_dir().parent.parent / "shared" / "data" / "cxr" / "kermany"
    return candidate if candidate.is_dir() else None


class WizardState(QObject):
    changed = Signal()

    def __init__(self, runs_dir: Path | None = None, models_dir: Path | None = None,
                 min_images: int = MIN_IMAGES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs_dir = runs_dir or default_runs_dir()
        self.models_dir = models_dir  # None: the user's model folder (platformdirs)
        self.min_images = min_images
        self.site: Path | None = None
        self.scan: ScanResult | None = None
        self.holdout = 0.2
        self.seed = 0
        self.reference = BUNDLED  # or a folder path (str)
        self.reference_id = ""
        self.reference_images: Path | None = default_reference_images()
        self.method = "universal"  # the method page falls back when none is installed
        self.preset = "quick"
        self.device = "auto"
        self.steps: int | None = None  # None: the preset's
        self.preview_every = 50
        self.estimate: dict[str, Any] | None = None
        self.labels: str | None = None
        self.evaluation: Any = None
        self.name = ""
        self.installed: Path | None = None

    def set(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        self.changed.emit()

    @property
    def run_dir(self) -> Path:
        site = self.site.name if self.site else "site"
        return self.runs_dir / f"{site}-{self.method}-{self.preset}"

    def request(self, *, train_only: bool = True, with_name: bool = False) -> FitRequest | None:
        """The run as a :class:`FitRequest`; None while the data page is not filled in."""
        if self.site is None:
            return None
        custom = self.reference != BUNDLED
        try:
            return FitRequest(
                site=self.site, run_dir=self.run_dir, method=self.method, preset=self.preset,
                device=self.device, holdout=self.holdout, seed=self.seed,
                reference=str(self.reference), reference_id=self.reference_id if custom else None,
                reference_images=None if custom else self.reference_images,
                name=(self.name or None) if with_name else None,
                labels=self.labels if with_name else None, steps=self.steps,
                preview_every=self.preview_every, min_images=self.min_images,
                train_only=train_only)
        except ValueError:
            return None

    def command_line(self) -> str:
        """The one command that does what the wizard does (shown on every page)."""
        req = self.request(train_only=False, with_name=True)
        return req.command_line() if req else "xray-harmonizer train site SITE_DIR ..."
