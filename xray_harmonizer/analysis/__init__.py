"""Harmonize and measure: the one path from an opened image to the figures shown anywhere.

The GUI (its workers), the CLI ``harmonize`` command and ``benchmarks/protocol.py`` all call

    prepared = prepare(pixels)                       # validate, body mask, histogram: once
    result = harmonize_and_measure(prepared, generalizer, profile, classifier)

so the same image and generalizer give the same SSIM, W1 and probabilities everywhere. Rules
kept here (and nowhere else):

* the body mask is computed once per *input* image and every region-based figure of that
  image and of its harmonized output (histograms, W1 before and after) uses it;
* SSIM is computed at full resolution up to ``SSIM_MAX_SIDE`` (block-mean above), always with
  the same routine whether or not the map is kept;
* the result is a frozen :class:`HarmonizeResult`; warnings come from :func:`warnings_for`.

Extension points (guards, further scores). To add one:

1. add a field with a default to :class:`HarmonizeResult` (e.g. ``domain: DomainCheck | None =
   None``), with a frozen dataclass of its own if it has several parts;
2. compute it in :func:`harmonize_and_measure` as one ``step("name", pct, fn)`` (so it is
   timed, cancellable and reported), from ``source`` (the prepared input: pixels, mask) and
   ``harmonized``; anything that depends only on the input belongs on :class:`Prepared`;
3. add its plain-language sentence to :func:`warnings_for` and, if the CLI should print it,
   a key to :func:`record`.

Modules: :mod:`.measure` (the path and its result), :mod:`.study` (opening a study for the
viewer), :mod:`.models` (loading profile, generalizers, classifier), :mod:`.report` (HTML
report), :mod:`.export` (export of a result). No Qt, no torch: usable headless.
"""

from xray_harmonizer.analysis.measure import (
    DISPLAY_BINS,
    SSIM_MAX_SIDE,
    Cancelled,
    Classifier,
    HarmonizeResult,
    JobCancelled,
    Prepared,
    Progress,
    WarningThresholds,
    harmonize_and_measure,
    prepare,
    record,
    warnings_for,
)

__all__ = [
    "DISPLAY_BINS",
    "SSIM_MAX_SIDE",
    "Cancelled",
    "Classifier",
    "HarmonizeResult",
    "JobCancelled",
    "Prepared",
    "Progress",
    "WarningThresholds",
    "harmonize_and_measure",
    "prepare",
    "record",
    "warnings_for",
]
