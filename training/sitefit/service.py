"""Steps the CLI and the wizard share after training (no torch, no Qt): the held-out files of a
run, the generalizer to judge, the installed classifier, the site record for the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.sitefit.scan import ScanResult, hold_out


def make_plan(scan: ScanResult, holdout: float, seed: int) -> dict[str, Any]:
    """The run's split of a scanned site, as saved in ``plan.json`` (held-out patients are never
    trained on; the same scan, share and seed always give the same split)."""
    train, held = hold_out(scan.accepted, holdout, seed)
    return {"site": str(scan.folder.resolve()), "holdout": holdout, "seed": seed,
            "scan": scan.summary(), "train": [str(i.path) for i in train],
            "held_out": [str(i.path) for i in held],
            "train_patients": len({i.patient for i in train}),
            "held_out_patients": len({i.patient for i in held})}


def save_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (tmp + rename): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def run_profile(run_dir: Path, reference: str, reference_id: str | None) -> Any:
    """The reference profile of a run: the bundled one, or the one built from the reference
    folder (once per run, saved as ``reference-profile.json``)."""
    from xray_harmonizer.reference.profile import build_profile, load_profile

    if reference == "bundled":
        return load_profile()
    saved = Path(run_dir) / "reference-profile.json"
    if saved.is_file():
        return load_profile(saved)
    profile, _errors = build_profile(Path(reference), str(reference_id))
    profile.save(saved)
    return profile


def universal_base(folders: list[Path] | None = None) -> Path | None:
    """The installed universal package a site fine-tune starts from: one of kind ``universal``
    with hashed weights that is not itself a site fit (bundled first); None when there is none."""
    from xray_harmonizer.models.discovery import bundled_models_dir, discover_packages

    packages, _errors = discover_packages(folders, kind="generalizer")
    bases = [p for p in packages if p.manifest.get("generalizer_kind") == "universal"
             and p.manifest.get("weights") in p.manifest["files"]
             and "fine_tune" not in (p.manifest.get("training") or {})]
    bases.sort(key=lambda p: p.root.parent != bundled_models_dir())
    return bases[0].root if bases else None


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
