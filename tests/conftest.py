"""Shared fixtures: where the real data lives, offscreen Qt."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt must never need a screen in the default test run; the Xvfb screenshot test sets its own.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests must not depend on whether this machine has a usable GPU.
os.environ.setdefault("XRH_DISABLE_GPU", "1")

# Importing the gui package first applies its PySide6 6.12 reference-count workaround
# (see xray_harmonizer/gui/_compat.py) before any test touches Qt.
import xray_harmonizer.gui  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dicom_dir(shared_data: Path) -> Path:
    return shared_data / "dicom"


@pytest.fixture(scope="session")
def kermany_dir(shared_data: Path) -> Path:
    return shared_data / "cxr" / "kermany"


@pytest.fixture(scope="session")
def nih_dir(shared_data: Path) -> Path:
    return shared_data / "cxr" / "nih"


@pytest.fixture(scope="session")
def fullres_dir(shared_data: Path) -> Path:
    return shared_data / "cxr" / "fullres"
