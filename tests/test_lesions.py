"""The lesion benchmark's insertion and measurement math (benchmarks/lesions.py), on phantoms."""

from __future__ import annotations

import numpy as np

from benchmarks.lesions import (CONTRASTS, RADII, blob_thresholds, contrast_kept, created_blobs,
                                insert, lesion_field, place_lesions)


def _phantom(h: int = 256, w: int = 320) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = 0.3 + 0.3 * np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (h / 3) ** 2))
    return img.astype(np.float32)


def test_lesions_placed_where_and_as_strong_as_said():
    """Catches lesions off their centre, overlapping, outside the lung band, or with the wrong
    peak contrast (every 'kept' figure would be relative to the wrong amount)."""
    img = _phantom()
    lesions = place_lesions(img, np.random.default_rng(0))
    assert sorted(les.radius for les in lesions) == sorted(RADII)
    for les in lesions:
        assert les.contrast in CONTRASTS
        assert abs(float(les.field.max()) - les.contrast) < 1e-6
        cy, cx = les.center
        assert 0.25 * img.shape[0] <= cy <= 0.65 * img.shape[0]
        peak = np.unravel_index(np.argmax(les.field), les.field.shape)
        assert np.hypot(peak[0] - cy, peak[1] - cx) <= les.radius * max(img.shape) / 512 + 1
    fields = [les.field > 0.05 * les.contrast for les in lesions]
    assert not any((a & b).any() for i, a in enumerate(fields) for b in fields[i + 1:])
    assert np.allclose(insert(img, lesions), img + sum(les.field for les in lesions), atol=1e-6)


def test_contrast_kept_measures_gain_and_erasure():
    """Catches a kept-contrast figure that is not 1 for the identity, not 0.5 for a map that halves
    local contrast, or that is fooled by a global offset (a level change is not erasure)."""
    img = _phantom()
    les = lesion_field(img.shape, (128, 100), 6, 0.05, "patchy", np.random.default_rng(1))
    from benchmarks.lesions import Lesion

    lesion = Lesion("patchy", 6, 0.05, (128, 100), les)
    with_ = img + les
    assert abs(contrast_kept(with_, img, with_, img, lesion) - 1.0) < 1e-6
    assert abs(contrast_kept(0.5 * with_ + 0.2, 0.5 * img + 0.2, with_, img, lesion) - 0.5) < 1e-6
    assert abs(contrast_kept(img + 0.1, img + 0.1, with_, img, lesion)) < 1e-6  # erased


def test_created_blobs_counts_added_structure_not_tone():
    """Catches a blob count that charges a global tone change, or misses an added opacity."""
    img = _phantom()
    thr = blob_thresholds(img.shape)
    assert created_blobs(img, img, thr) == 0
    assert created_blobs(np.clip(0.8 * img + 0.1, 0, 1), img, thr) == 0  # a tone map is no lesion
    fake = img + lesion_field(img.shape, (120, 160), 6, 0.06, "nodule", np.random.default_rng(0))
    assert created_blobs(fake, img, thr) == 1


def test_merge_replaces_a_remeasured_row() -> None:
    """Catches ``--merge`` keeping a retrained package's old figures (and ``--annotate`` then
    writing them into the new package's manifest), and merging runs on different images."""
    import pytest

    from benchmarks.lesions import merge

    def run(rows: dict, n: int = 24) -> dict:
        return {"sites": [{"site": "s", "n_images": n, "rows": rows}], "command": "c",
                "seconds": 1.0, "generated": "t"}

    old = run({"original": {"v": 1}, "Universal": {"v": "old"}, "UNIT": {"v": 3}})
    merged = merge(old, run({"original": {"v": 1}, "Universal": {"v": "new"}}))
    assert merged["sites"][0]["rows"] == {"original": {"v": 1}, "Universal": {"v": "new"},
                                          "UNIT": {"v": 3}}
    with pytest.raises(ValueError):
        merge(run({}), run({}, n=40))


def test_merge_lists_each_command_once() -> None:
    """Catches the merged file's provenance growing with every re-measure of the same package
    (the same command listed four times, and its time added four times: 816 s for runs whose
    rows mostly no longer existed)."""
    from benchmarks.lesions import merge

    def run(command: str, seconds: float) -> dict:
        return {"sites": [{"site": "s", "n_images": 24, "rows": {"x": {}}}], "command": command,
                "seconds": seconds, "generated": "t"}

    merged = run("all", 600.0)
    for _ in range(3):
        merged = merge(merged, run("universal", 44.0))
    assert merged["command"] == "all; universal"
    assert merged["seconds"] == 44.0


def test_oracle_rows_are_a_bound_that_reads_the_lesions() -> None:
    """Catches the perfect-network bound row fed the lesion-free truth for both outputs (it
    would keep 0 % of every lesion and make the bound look unreachable), or not carried by the
    residual transfer (the universal kind's)."""
    from benchmarks.lesions import oracle_row, run_site

    result = run_site("site_mild", [], n_images=3, seed=0, oracles=(128,))
    rows = result["rows"]
    assert list(rows) == ["original", oracle_row(128)]
    kept = rows[oracle_row(128)]["contrast_kept"]
    # site_mild barely touches mid-sized lesions; the perfect network gives them back whole.
    assert all(0.85 <= kept[str(r)]["mean"] <= 1.15 for r in (6, 12))
    assert rows[oracle_row(128)]["blobs_per_image"] < rows["original"]["blobs_per_image"] + 5
