"""training.gan.split_site: a real site's folder split by patient, nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.gan.split_site import patient_of, split_site


def _folder(tmp_path):
    src = tmp_path / "site"
    src.mkdir()
    for pid in range(6):
        for k in range(pid % 3 + 1):  # patients with 1-3 follow-ups
            Image.fromarray(np.full((8, 8), 40 * k, np.uint8)).save(src / f"{pid:08d}_{k:03d}.png")
    (src / "notes.txt").write_text("not an image")
    return src


def test_split_keeps_each_patient_on_one_side(tmp_path) -> None:
    src = _folder(tmp_path)
    info = split_site(src, tmp_path / "split", "site-x", seed=0)
    train = {p.name for p in (tmp_path / "split" / "train").iterdir()}
    test = {p.name for p in (tmp_path / "split" / "test").iterdir()}
    assert len(train) + len(test) == 12 and not train & test
    assert not {patient_of(f) for f in train} & {patient_of(f) for f in test}
    assert info["train_patients"] == info["test_patients"] == 3
    saved = json.loads((tmp_path / "split" / "split.json").read_text())
    assert sorted(saved["train"]) == sorted(train) and saved["profile"] == "site-x"
    # Same seed, same split; the source folder is untouched.
    again = split_site(src, tmp_path / "split2", "site-x", seed=0)
    assert again == info
    assert sorted(p.name for p in src.iterdir())[-1] == "notes.txt"


def test_split_refuses_an_existing_output_and_too_few_images(tmp_path) -> None:
    src = _folder(tmp_path)
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError):
        split_site(src, tmp_path / "taken", "x")
    one = tmp_path / "one"
    one.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(one / "a.png")
    with pytest.raises(ValueError):
        split_site(one, tmp_path / "out", "x")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    assert patient_of("00000075_000.png") == "00000075" and patient_of("scan.png") == "scan"
