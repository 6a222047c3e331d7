"""The one harmonize-and-measure path (xray_harmonizer.analysis) and its three callers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.gui_support import SAMPLES, FakeClassifier, FakeGeneralizer
from xray_harmonizer.analysis import harmonize_and_measure, prepare, record
from xray_harmonizer.analysis.measure import measure_output
from xray_harmonizer.imaging.masks import body_mask
from xray_harmonizer.metrics.distances import wasserstein1
from xray_harmonizer.metrics.histograms import quantile_function
from xray_harmonizer.metrics.ssim import ssim
from xray_harmonizer.reference.profile import load_profile

SAMPLE = sorted(SAMPLES.glob("*.dcm"))[0]


@pytest.fixture(scope="module")
def profile():
    return load_profile()


@pytest.fixture(scope="module")
def sample_pixels() -> np.ndarray:
    from xray_harmonizer.io import open_image

    return open_image(SAMPLE).pixels


def test_w1_after_is_measured_on_the_input_mask(sample_pixels, profile):
    """Catches the GUI's old rule (W1 after on a mask recomputed from the output): a strong
    gamma moves the output's own mask, so only the input-mask figure equals this."""
    gen = FakeGeneralizer(gamma=0.25)
    res = harmonize_and_measure(prepare(sample_pixels), gen, profile, None)
    in_mask = body_mask(sample_pixels)
    out_mask = body_mask(res.harmonized)
    assert (in_mask != out_mask).any()  # the test means something only if the masks differ

    def w1(img, mask):
        return wasserstein1(quantile_function(img, profile.levels, mask), profile.body_quantiles,
                            profile.levels)

    assert res.w1_harmonized == pytest.approx(w1(res.harmonized, in_mask), abs=1e-9)
    assert res.w1_original == pytest.approx(w1(sample_pixels, in_mask), abs=1e-9)
    assert abs(res.w1_harmonized - w1(res.harmonized, out_mask)) > 1e-4
    # The histograms the panel draws are over the same region.
    assert res.hist_harmonized.sum() == pytest.approx(1.0)
    counts = np.bincount(np.clip((res.harmonized[in_mask] * 128).astype(int), 0, 127),
                         minlength=128)
    assert np.allclose(res.hist_harmonized, counts / counts.sum(), atol=1e-9)


def test_ssim_does_not_depend_on_keeping_the_map_and_classifier_is_optional(sample_pixels,
                                                                             profile):
    """Catches a compare-all grid (no map) showing another SSIM than the main panel, and a
    probability reported without a classifier."""
    src = prepare(sample_pixels)
    with_map = harmonize_and_measure(src, FakeGeneralizer(), profile, FakeClassifier())
    without = harmonize_and_measure(src, FakeGeneralizer(), profile, None, with_map=False)
    assert with_map.ssim == without.ssim and without.ssim_map is None
    assert with_map.ssim_map.shape == sample_pixels.shape
    # ...and it is SSIM(output, input), not of an image with itself (which would read 1).
    assert with_map.ssim == pytest.approx(ssim(with_map.harmonized, sample_pixels), abs=1e-5)
    assert with_map.ssim < 0.99
    assert without.p_original is None and without.p_harmonized is None
    assert with_map.p_original == pytest.approx(float(sample_pixels.mean()))
    assert with_map.p_harmonized == pytest.approx(float(with_map.harmonized.mean()))
    assert with_map.p_harmonized != pytest.approx(with_map.p_original, abs=1e-3)
    assert with_map.classifier_hash == FakeClassifier.model_hash
    # An identity generalizer: SSIM 1, W1 unchanged, no difference.
    ident = FakeGeneralizer(gamma=1.0)
    same = harmonize_and_measure(src, ident, profile, None)
    assert same.ssim == pytest.approx(1.0, abs=1e-6)
    assert same.w1_harmonized == pytest.approx(same.w1_original, abs=1e-12)
    assert not same.difference.any()


def test_bad_generalizer_output_is_refused(sample_pixels):
    """Catches an output of the wrong shape or outside [0, 1] reaching the panels."""
    class Shrinks(FakeGeneralizer):
        def harmonize(self, image):
            return image[:-1]

    class Overflows(FakeGeneralizer):
        def harmonize(self, image):
            return image * 2

    src = prepare(sample_pixels)
    with pytest.raises(ValueError, match="shape"):
        harmonize_and_measure(src, Shrinks(), None, None)
    with pytest.raises(ValueError, match=r"output of .*\[0, 1\]"):  # names the generalizer
        harmonize_and_measure(src, Overflows(), None, None)
    with pytest.raises(ValueError, match="differs"):
        measure_output(src, sample_pixels[:-1], None)



def test_ssim_of_a_huge_image_is_block_averaged_to_the_cap():
    """Catches a changed or ignored SSIM size cap (the panel states the side used)."""
    from xray_harmonizer.analysis import SSIM_MAX_SIDE

    rng = np.random.default_rng(7)
    tall = rng.random((SSIM_MAX_SIDE + 4, 40), dtype=np.float32)
    res = harmonize_and_measure(prepare(tall), FakeGeneralizer(), None, None)
    assert res.ssim_side == (SSIM_MAX_SIDE + 4) // 2 and res.ssim_map.shape == (res.ssim_side, 20)
    # A usual radiograph (up to ~3000 px) is measured at full resolution, as the panel says.
    usual = rng.random((3000, 24), dtype=np.float32)
    assert harmonize_and_measure(prepare(usual), FakeGeneralizer(), None, None).ssim_side == 3000


@pytest.mark.gui
def test_same_image_same_figures_in_gui_cli_and_protocol(qtbot, monkeypatch, tmp_path, capsys,
                                                         sample_pixels, profile):
    """The issue-10 bug: GUI and CLI printed different "W1 after" for one image and method.

    The same sample and histogram matching go through the GUI's harmonize worker (the view
    model, in its thread pool), the CLI's ``harmonize --json`` and the protocol's per-image
    function; SSIM and W1 before/after must agree (the CLI prints 4 decimals)."""
    from benchmarks.protocol import harmonize_one
    from tests.gui_support import make_store, patch_models
    from xray_harmonizer.analysis.study import prepare_study_image
    from xray_harmonizer.cli import main
    from xray_harmonizer.generalizers.histogram import HistogramMatching
    from xray_harmonizer.gui.viewmodels.harmonize import HarmonizeModel
    from xray_harmonizer.gui.workers import JobRunner
    from xray_harmonizer.io import open_image

    gen = HistogramMatching(profile, masked=True)
    patch_models(monkeypatch, generalizers=[gen])
    runner = JobRunner()
    model = HarmonizeModel(runner, make_store(tmp_path).load())
    with qtbot.waitSignal(model.generalizers_changed, timeout=30000):
        model.reload_models()
    with qtbot.waitSignal(model.result_changed, timeout=30000,
                          check_params_cb=lambda r: r is not None):
        model.set_entry(prepare_study_image(open_image(SAMPLE)))
        model.harmonize()
    gui = model.result
    runner.shutdown()

    capsys.readouterr()
    assert main(["harmonize", str(SAMPLE), "--method", "histogram", "-o",
                 str(tmp_path / "out"), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out.strip())

    proto = harmonize_one(gen, prepare(sample_pixels), profile)

    assert gui.generalizer == cli["generalizer"] == proto.generalizer
    for key, value in record(gui).items():
        if key in ("ssim_to_input", "w1_before", "w1_after"):
            assert record(proto)[key] == value, key
            assert cli[key] == round(value, 4), key
    assert gui.w1_harmonized < gui.w1_original  # histogram matching moves toward the reference
    assert Path(cli["output"]).is_file()
