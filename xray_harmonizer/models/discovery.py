"""Where model packages live: bundled in ``resources/models`` and in the user's data folder."""

from __future__ import annotations

import logging
from pathlib import Path

from platformdirs import user_data_path

from xray_harmonizer.models.package import ModelPackage, PackageError, load_package
from xray_harmonizer.resources import resources_dir

log = logging.getLogger(__name__)


def bundled_models_dir() -> Path:
    return resources_dir() / "models"


def user_models_dir() -> Path:
    """Per-user folder for packages trained at this site (created on demand by writers)."""
    return user_data_path("xray-harmonizer", appauthor=False) / "models"


def discover_packages(
    folders: list[Path] | None = None, kind: str | None = None
) -> tuple[list[ModelPackage], list[PackageError]]:
    """Load every package found directly under the given folders.

    Returns the verified packages (sorted by name) and the errors of those refused, so that a
    caller can show both; one bad package never hides the others.
    """
    folders = folders if folders is not None else [bundled_models_dir(), user_models_dir()]
    packages: list[ModelPackage] = []
    errors: list[PackageError] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if not ((entry / "manifest.json").is_file() or entry.suffix.lower() == ".zip"):
                continue
            try:
                pkg = load_package(entry)
            except PackageError as exc:
                log.warning("refused model package %s", exc)
                errors.append(exc)
                continue
            if kind is None or pkg.kind == kind:
                packages.append(pkg)
    packages.sort(key=lambda p: p.name)
    return packages, errors
