"""Locate bundled resources (models, profiles, samples) in a checkout, a wheel or a frozen app."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources/`` folder: ``$XRH_RESOURCES``, PyInstaller's bundle, or the checkout's."""
    env = os.environ.get("XRH_RESOURCES")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def default_profile_path() -> Path:
    """The reference-site profile shipped as the default (Kermany pediatric)."""
    return resources_dir() / "profiles" / "kermany.json"
