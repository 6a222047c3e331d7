"""Helpers shared by the GUI tests (not a test module): fakes, a window factory, waiting."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"


class FakeGeneralizer:
    """A deterministic stand-in (gamma curve) so tests do not depend on trained models."""

    kind = "fake"
    reference_site = "test-site"
    provider = "CPUExecutionProvider"

    def __init__(self, name: str = "Gamma 0.7", gamma: float = 0.7, delay_s: float = 0.0) -> None:
        self.name = name
        self.model_hash = "0" * 64
        self.gamma = gamma
        self.delay_s = delay_s

    def harmonize(self, image: np.ndarray) -> np.ndarray:
        if self.delay_s:
            time.sleep(self.delay_s)
        return np.power(image, self.gamma, dtype=np.float32)


class BrokenGeneralizer(FakeGeneralizer):
    def harmonize(self, image: np.ndarray) -> np.ndarray:
        raise RuntimeError("model exploded")


class FakeClassifier:
    """Probability = mean intensity: changes when the image does, which is all tests need."""

    label = "Pneumonia"
    name = "fake-classifier"
    provider = "CPUExecutionProvider"
    model_hash = "1" * 64

    def predict(self, image: np.ndarray) -> float:
        return float(np.clip(image.mean(), 0, 1))

    def assess(self, image: np.ndarray, dataset=None):
        """Every image is in this fake's domain."""
        from xray_harmonizer.classifier import Assessment
        from xray_harmonizer.classifier.domain import DomainVerdict

        return Assessment(self.predict(image), DomainVerdict(True))


def patch_models(monkeypatch, generalizers=None, classifier=None) -> None:
    """Make the app see the given generalizers (default: histogram matching + a fake)."""
    from xray_harmonizer.analysis import models

    if generalizers is None:
        real, _ = models.available_generalizers()
        generalizers = [g for g in real if g.kind == "histogram"] + [FakeGeneralizer()]
    monkeypatch.setattr(models, "available_generalizers",
                        lambda **kw: (list(generalizers), []))
    monkeypatch.setattr(models, "load_classifier",
                        lambda **kw: classifier if classifier is not None
                        else models.Unavailable("no classifier installed"))


def make_store(tmp_path: Path):
    from PySide6.QtCore import QSettings

    from xray_harmonizer.gui.settings import SettingsStore

    return SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def make_window(qtbot, tmp_path: Path, paths=None):
    """A shown MainWindow on ``paths`` (the sample study by default), models loaded."""
    from xray_harmonizer.gui.app import create_window

    _, win = create_window([str(p) for p in paths] if paths else None, store=make_store(tmp_path))
    qtbot.addWidget(win)
    win.show()
    # Images stream in one by one: wait for the whole study, not only the first image.
    qtbot.waitUntil(lambda: win.study.current is not None and win.harm.models_loaded
                    and not win.study.loading, timeout=30000)
    return win


def harmonize(qtbot, win, timeout: int = 30000):
    with qtbot.waitSignal(win.harm.result_changed, timeout=timeout,
                          check_params_cb=lambda r: r is not None):
        win.actions_.by_name["harmonize"].trigger()
    return win.harm.result


def write_dicom_2048(path: Path, shared_data: Path) -> Path:
    """A 2048x2048 12-bit MONOCHROME2 CR DICOM made from a full-resolution Kermany image."""
    from PIL import Image

    from training.sitesim.output import write_dicom

    with Image.open(shared_data / "cxr" / "fullres" / "NORMAL2-IM-0927-0001.png") as im:
        im = im.convert("L")
        side = min(im.size)
        im = im.crop((0, 0, side, side)).resize((2048, 2048), Image.Resampling.BILINEAR)
        pixels = np.asarray(im, dtype=np.float32) / 255.0
    return write_dicom(pixels, path, bits=12, photometric="MONOCHROME2", modality="CR")
