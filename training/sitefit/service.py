"""Steps the CLI and the wizard share after training (no torch, no Qt): the held-out files of a
run, the generalizer to judge, the installed classifier, the site record for the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def held_out_files(plan: dict[str, Any]) -> list[Path]:
    return [Path(p) for p in plan["held_out"]]


def load_generalizer(method: str, run_dir: Path, profile: Any) -> Any:
    """The run's trained package through the app's inference, or histogram matching."""
    if method == "histogram":
        from xray_harmonizer.generalizers.histogram import HistogramMatching

        return HistogramMatching(profile, masked=True)
    from xray_harmonizer.generalizers.registry import neural_generalizer
    from xray_harmonizer.models.package import load_package

    return neural_generalizer(load_package(run_dir / "package"))


def load_installed_classifier() -> Any:
    """The first installed classifier package (bundled or the user's)."""
    from xray_harmonizer.classifier import ClassifierModel
    from xray_harmonizer.models.discovery import discover_packages

    packages, errors = discover_packages(kind="classifier")
    if not packages:
        raise LookupError("no classifier installed" + (f" ({errors[0]})" if errors else ""))
    return ClassifierModel(packages[0])


def site_record(site: Path, plan: dict[str, Any], method: str, preset: str) -> dict[str, Any]:
    """What the manifest says about the site the package was fitted to (counts, no file names)."""
    scan = plan["scan"]
    return {"site": Path(site).resolve().name, "method": method, "preset": preset,
            "usable_images": scan["usable"], "patients": scan["patients"],
            "left_out": scan["left_out"], "train_images": len(plan["train"]),
            "held_out_images": len(plan["held_out"]),
            "held_out_patients": plan["held_out_patients"], "holdout_share": plan["holdout"],
            "seed": plan["seed"]}
