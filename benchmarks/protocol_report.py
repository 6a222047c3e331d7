"""Tables and figures of the evaluation protocol (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _fmt_ms(v: dict | None, digits: int = 3) -> str:
    return "–" if not v else f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f}"


def write_table(result: dict) -> str:
    """Markdown table of one site's rows."""
    labelled = result["labelled"]
    truth = any("ssim_to_truth" in r for r in result["rows"])
    head = ["method"]
    if labelled:
        head += ["AUC [95% CI]", "sens / spec"]
    head += ["SSIM(output, input)", "W1 to reference (per image)", "W1 pooled"]
    if truth:
        head += ["SSIM to truth", "SSIM to truth, informative field", "PSNR to truth (dB)"]
    lines = [f"**{result['site']}** — {result['description']}; {result['n_images']} images"
             + (f" ({result['n_positive']} {result['classifier']['label'].lower()})" if labelled else "")
             + f"; classifier `{result['classifier']['name']}`.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["rows"]:
        cells = [r["row"]]
        if labelled:
            cells += [f"{r['auc']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]" if "auc" in r else "–",
                      f"{r['sensitivity']:.2f} / {r['specificity']:.2f}" if "auc" in r else "–"]
        cells += [_fmt_ms(r["ssim_to_input"]), _fmt_ms(r["w1_to_reference"], 4),
                  f"{r['w1_pooled']:.4f}" if r.get("w1_pooled") is not None else "–"]
        if truth:
            cells += [_fmt_ms(r.get("ssim_to_truth")), _fmt_ms(r.get("ssim_to_truth_informative")),
                      _fmt_ms(r.get("psnr_to_truth"), 1)]
        lines.append("| " + " | ".join(cells) + " |")
    neural = [g for g in result.get("generalizers", []) if g["kind"] not in ("histogram",)]
    if neural:
        lines += ["", "Each neural generalizer names the site profile(s) of its training data (see its "
                  "package manifest); a row for another site shows how it transfers: "
                  + "; ".join(f"{g['name']} ({g['kind']}, {str(g['model_hash'])[:12]})" for g in neural) + "."]
    lines += ["W1 pooled: all outputs' body-region pixels pooled like a reference profile, against "
              "the reference profile (does the site as a whole move to the reference?); the per-image "
              "W1 also counts each image's own difference from the reference average."]
    if truth:
        lines += ["SSIM to truth, informative field: the same SSIM map averaged only where the site "
                  "image still carries the anatomy (no window touching a shutter, burned-in text or "
                  "a solidly clipped area; `benchmarks/protocol.py: informative_field`)."]
    if any(r["row"].startswith("oracle") for r in result["rows"]):
        lines += ["Oracle rows read the truth: the truth at the working size carried by the same "
                  "transfer; a ceiling for any network at that size, not a method."]
    if any(r["row"] == "site-augmented classifier" for r in result["rows"]):
        lines += ["The site-augmented classifier row scores the original (unharmonized) images."]
    return "\n".join(lines) + "\n"


def write_plots(out: Path, result: dict, site, outputs_by_row: dict[str, list[np.ndarray]],
                profile) -> None:
    """roc.png (labelled sites), histograms.png and examples.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xray_harmonizer.metrics.histograms import body_histogram

    if result["labelled"]:
        fig, ax = plt.subplots(figsize=(5.5, 5))
        for r in result["rows"]:
            if "roc" in r:
                ax.plot(r["roc"]["fpr"], r["roc"]["tpr"], label=f"{r['row']} (AUC {r['auc']:.3f})")
        ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
        ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC, site {result['site']}")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(out / "roc.png", dpi=110)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    centres = (np.arange(256) + 0.5) / 256
    ax.plot(centres, np.asarray(profile.body_histogram), color="k", lw=2, label=f"reference ({profile.site_id})")
    for name, outs in outputs_by_row.items():
        if name == "site-augmented classifier":
            continue
        h = np.mean([body_histogram(o, bins=256)[0] / max(1, body_histogram(o, bins=256)[0].sum())
                     for o in outs], axis=0)
        ax.plot(centres, h, lw=1, label=name)
    ax.set(xlabel="intensity (body region)", ylabel="probability", title=f"Mean histograms, site {result['site']}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "histograms.png", dpi=110)
    plt.close(fig)

    names = [n for n in outputs_by_row if n != "site-augmented classifier"]
    k = min(3, len(site.images))
    fig, axes = plt.subplots(k, len(names), figsize=(2.4 * len(names), 2.4 * k), squeeze=False)
    for i in range(k):
        for j, name in enumerate(names):
            axes[i, j].imshow(outputs_by_row[name][i], cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_axis_off()
            if i == 0:
                axes[i, j].set_title(name, fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "examples.png", dpi=90)
    plt.close(fig)
