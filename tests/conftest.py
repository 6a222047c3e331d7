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


def pytest_sessionstart(session: pytest.Session) -> None:
    """No data, no run: a third of the suite reads it, and skipping those tests would turn a
    broken data path into a green run (CI clones the repo with ../shared beside it)."""
    missing = [p for p in (SHARED_DATA / "dicom", SHARED_DATA / "cxr" / "kermany",
                           SHARED_DATA / "cxr" / "nih", SHARED_DATA / "cxr" / "fullres")
               if not p.is_dir()]
    if missing:
        raise pytest.UsageError(
            f"test data missing: {', '.join(map(str, missing))} (the tests need ../shared/data "
            "beside the repository)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
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
