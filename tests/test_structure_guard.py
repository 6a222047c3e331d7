"""Structure guard: did harmonization keep the anatomy (issue 10), on real files and models."""

from __future__ import annotations

import numpy as np
import pytest

from xray_harmonizer.generalizers.registry import discover_generalizers, package_name
from xray_harmonizer.io import open_image
from xray_harmonizer.metrics.structure import structure_check
from xray_harmonizer.resources import resources_dir

GOOD = ("histogram", "unit-kermany-multisite-quick")  # they meet the chooser's bar


@pytest.fixture(scope="module")
def generalizers():
    gens, _ = discover_generalizers(use_gpu=False)
    return {package_name(g): g for g in gens}


def test_unit_site_severe_blotch_on_rg1_is_flagged_and_outlined(generalizers, dicom_dir):
    """Catches the dark blotch UNIT (site_severe) paints below the right hemidiaphragm of the
    RG1 CR chest going unnoticed."""
    image = open_image(dicom_dir / "RG1_J2KI.dcm").pixels
    check = structure_check(image, generalizers["unit-kermany-quick"].harmonize(image))
    assert not check.kept and check.message
    rows, cols = np.nonzero(check.region)
    # The blotch sits in the lower half of the image.
    assert rows.mean() > 0.55 * check.region.shape[0]


@pytest.mark.parametrize("name", GOOD)
def test_good_generalizers_are_not_flagged(generalizers, dicom_dir, name):
    """Catches a guard so sensitive that histogram matching or a package that meets the bar is
    flagged on RG1 or the bundled samples."""
    files = [dicom_dir / "RG1_J2KI.dcm"] + sorted((resources_dir() / "samples").glob("*.dcm"))
    for path in files:
        image = open_image(path).pixels
        check = structure_check(image, generalizers[name].harmonize(image))
        assert check.kept, (name, path.name, check.score)


def test_intensity_maps_keep_structure_and_a_painted_patch_does_not(dicom_dir):
    """Catches the check confusing a global monotone remap (allowed) with erased anatomy."""
    image = open_image(dicom_dir / "RG1_J2KI.dcm").pixels
    assert structure_check(image, image ** 2.2).kept
    painted = image.copy()
    h, w = image.shape
    painted[h // 3: 2 * h // 3, w // 5: w // 2] = 0.2
    assert not structure_check(image, painted).kept
