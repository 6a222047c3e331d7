"""One-page HTML report: both images, histograms, figures, model names and hashes.

Self-contained (images embedded as PNG data URIs, histograms as inline SVG) so it can be
mailed or archived as one file. No Qt here.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from xray_harmonizer.analysis.measure import HarmonizeResult
from xray_harmonizer.analysis.study import StudyEntry
from xray_harmonizer.imaging.resample import downsample_to
from xray_harmonizer.io.export import atomic_write

REPORT_SIDE = 768
_COLOURS = {"original": "#1f77b4", "harmonized": "#ff7f0e", "reference": "#2ca02c"}


def png_data_uri(pixels: np.ndarray, max_side: int = REPORT_SIDE) -> str:
    """8-bit PNG data URI of a float32 [0, 1] image, downsampled to ``max_side``."""
    from PIL import Image
    small = downsample_to(np.asarray(pixels, np.float32), max_side)
    buf = io.BytesIO()
    Image.fromarray((np.clip(small, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def histogram_svg(hists: dict[str, np.ndarray | None], width: int = 520, height: int = 200) -> str:
    """Inline SVG polyline plot of probability histograms over [0, 1]."""
    present = {k: np.asarray(v, float) for k, v in hists.items() if v is not None}
    top = max((float(v.max()) for v in present.values()), default=1.0) or 1.0
    lines = []
    for key, hist in present.items():
        xs = np.linspace(0, width, hist.size)
        ys = height - hist / top * (height - 10)
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        lines.append(f'<polyline fill="none" stroke="{_COLOURS.get(key, "#888")}" '
                     f'stroke-width="1.5" points="{pts}"/>')
    ticks = "".join(f'<text x="{min(max(v * width, 8), width - 8):.0f}" y="{height - 2}" '
                    f'font-size="10" text-anchor="middle">{v:g}</text>' for v in (0, 0.25, 0.5,
                                                                              0.75, 1))
    lines.append(ticks)
    legend = " ".join(f'<span style="color:{_COLOURS.get(k, "#888")}">■ {html.escape(k)}</span>'
                      for k in present)
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'style="border:1px solid #ccc">{"".join(lines)}</svg><div>{legend} — body-region '
            f'intensity (0 = black, 1 = white)</div>')


def _row(name: str, value: Any) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def build_report(entry: StudyEntry, result: HarmonizeResult, *, reference_hist: np.ndarray | None,
                 classifier_text: str, profile_hash: str | None = None) -> str:
    """The report as an HTML string."""
    m = entry.image.meta
    h, w = entry.image.shape
    rows = [
        _row("Study file", m.source.name),
        _row("Image", f"{w}×{h}, {m.bits_stored}-bit {m.format.upper()} {m.photometric}"),
        _row("Generalizer", f"{result.generalizer} ({result.kind})"),
        _row("Generalizer hash", result.model_hash or "—"),
        _row("Reference site", result.reference_site),
        _row("Reference profile hash", profile_hash or "—"),
        _row("Classifier", classifier_text),
        _row("Classifier hash", result.classifier_hash or "—"),
        _row("SSIM (harmonized vs original)", f"{_fmt(result.ssim, '.4f')} at {result.ssim_side} px (long side)"),
        _row("W1 to reference, original", _fmt(result.w1_original, ".4f")),
        _row("W1 to reference, harmonized", _fmt(result.w1_harmonized, ".4f")),
        _row(f"P({result.classifier_label or 'positive'}) original", _fmt(result.p_original, ".3f")),
        _row(f"P({result.classifier_label or 'positive'}) harmonized",
             _fmt(result.p_harmonized, ".3f")),
        _row("Execution provider", f"generalizer {result.generalizer_provider}, classifier "
                                   f"{result.classifier_provider or '—'}"),
        _row("Timings (s)", ", ".join(f"{k} {v:.3f}" for k, v in result.timings.items())),
    ]
    warn = "".join(f"<p class='warn'>⚠ {html.escape(t)}</p>" for t in result.warnings)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    hist = histogram_svg({"original": result.hist_original, "harmonized": result.hist_harmonized,
                          "reference": reference_hist})
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>X-Ray Harmonizer report — {html.escape(m.source.name)}</title>
<style>body{{font-family:sans-serif;margin:24px;max-width:1100px}} img{{max-width:100%;
background:#000}} figure{{margin:0;flex:1}} .pair{{display:flex;gap:16px}} th{{text-align:left;padding-right:16px}}
.warn{{color:#a05000;font-weight:bold}} figcaption{{font-size:90%;color:#555}}</style></head>
<body><h1>X-Ray Harmonizer report</h1><p>{when}. Research tool; not for diagnosis.</p>
<div class="pair"><figure><img alt="original" src="{png_data_uri(entry.image.pixels)}">
<figcaption>Original</figcaption></figure>
<figure><img alt="harmonized" src="{png_data_uri(result.harmonized)}">
<figcaption>Harmonized ({html.escape(result.generalizer)})</figcaption></figure></div>
<h2>Histograms</h2>{hist}{warn}<h2>Figures</h2><table>{''.join(rows)}</table></body></html>
"""


def write_report(path: str | Path, entry: StudyEntry, result: HarmonizeResult, **kwargs: Any
                 ) -> Path:
    """Build and atomically write the report."""
    data = build_report(entry, result, **kwargs).encode("utf-8")
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
