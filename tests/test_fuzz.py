"""The loader fuzz test in the default run: 2,000 mutated real files, limited subprocesses.

The long run (20,000 cases, figures in the README) is ``python -m tests.fuzz --cases 20000
--json benchmarks/results/fuzz.json``; see :mod:`tests.fuzz`.
"""

from __future__ import annotations

from pathlib import Path

from tests.fuzz import run_fuzz


def test_two_thousand_mutated_files_end_in_an_image_or_a_documented_error(shared_data: Path) -> None:
    """Bugs of issue 12 found by this kind of probe: decoder panics killing a batch, NaN images,
    other exception types, patient data or control characters in messages, 1.3-4.9 GB loads.
    Each case runs in a worker with RLIMIT_AS = 2 GiB and a 30 s limit; a MemoryError, hang,
    crash, undocumented exception or bad message fails the test."""
    summary = run_fuzz(cases=2000, seed=0, workers=2)
    assert summary.cases == 2000
    assert not summary.failures, summary.as_json()["failures"][:5]
    # The harness must really exercise the loader: images and many kinds of refusal.
    assert summary.outcomes["image"] >= 100
    refusals = {k for k in summary.outcomes if k.endswith("Error")}
    assert {"CorruptImageError", "NotAnImageError", "ImageSizeError"} <= refusals and len(refusals) >= 5
    assert summary.as_json()["worst_peak_rss_mb"] < 2048
