"""metrics.structure.outline: the boundary drawn over a flagged region."""

from __future__ import annotations

import numpy as np

from xray_harmonizer.metrics.structure import outline


def test_outline_is_the_one_pixel_boundary():
    """Catches an outline that fills the region, is two pixels thick, or spills outside it."""
    region = np.zeros((20, 30), bool)
    region[5:15, 8:22] = True  # 10 x 14
    ring = outline(region)
    assert ring.dtype == bool and ring.shape == region.shape
    assert not (ring & ~region).any()
    assert ring.sum() == 2 * 10 + 2 * 14 - 4
    assert not ring[6:14, 9:21].any()  # the interior
    assert ring[5, 8:22].all() and ring[14, 8:22].all() and ring[5:15, 8].all()
    assert not outline(np.zeros((4, 4), bool)).any()
