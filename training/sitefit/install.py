"""Name a trained package, record the site, data and figures in its manifest, and install it in
the user's model folder, where the app's chooser finds it (at once and after a restart)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str, models_dir: Path) -> str | None:
    """Why ``name`` cannot be used (None when it can)."""
    if not _NAME.match(name or ""):
        return "use 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
    if (models_dir / name).exists():
        return f"a package named {name} is already installed"
    return None


def install_package(staging: Path, name: str, *, site: dict[str, Any],
                    evaluation: dict[str, Any], models_dir: Path | None = None) -> Path:
    """Copy the package in ``staging`` to ``models_dir/name`` with its manifest completed.

    Written to a temporary folder beside the target and renamed, so the chooser never sees a
    half-copied package; the staging package is left as it was.
    """
    from xray_harmonizer.models.discovery import user_models_dir
    from xray_harmonizer.models.package import load_package, write_manifest

    models_dir = Path(models_dir) if models_dir is not None else user_models_dir()
    problem = check_name(name, models_dir)
    if problem:
        raise ValueError(problem)
    source = load_package(staging)  # verified before anything is copied
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".{name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for entry in source.manifest["files"]:
            shutil.copy2(source.root / entry, tmp / entry)
        manifest = dict(source.manifest)
        label = manifest.get("display_name", name).split(" (")[0]
        manifest.update(name=name, display_name=f"{name} ({label}, {site.get('site', '?')})",
                        site=site, evaluation={**manifest.get("evaluation", {}), **evaluation})
        write_manifest(tmp, manifest)
        load_package(tmp)
        tmp.rename(models_dir / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return models_dir / name


def installed_rows(folders: list[Path] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per installed package (bundled and the user's): name, kind, site, reference,
    figures; and the reasons of packages refused."""
    from xray_harmonizer.models.discovery import bundled_models_dir, discover_packages

    packages, errors = discover_packages(folders)
    rows = []
    for p in packages:
        m = p.manifest
        data = (m.get("training") or {}).get("data")
        site = (m.get("site") or {}).get("site") or (
            data.get("profile") if isinstance(data, dict) else None) or ""
        ev = m.get("evaluation") or {}
        figures = {k: ev[k] for k in ("ssim", "w1_before", "w1_after", "auc_before", "auc_after",
                                       "specificity_after", "validation_auc") if k in ev}
        for key, value in ev.items():  # the bundled packages' protocol figures, AUC per site
            mine = value.get("this_generalizer") if isinstance(value, dict) else None
            if key.startswith("protocol_") and isinstance(mine, dict) and mine.get("auc"):
                figures[f"auc@{key[len('protocol_'):]}"] = round(float(mine["auc"]), 3)
        rows.append({"name": p.name, "kind": m.get("generalizer_kind") or p.kind,
                     "site": site if isinstance(site, str) else f"{len(site)} profiles",
                     "reference": p.reference_site,
                     "where": "bundled" if p.root.parent == bundled_models_dir() else str(p.root),
                     "figures": figures})
    return rows, [str(e) for e in errors]


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A plain table for the terminal."""
    head = ("name", "kind", "site", "reference", "figures")
    body = [(r["name"], r["kind"], r["site"], r["reference"],
             " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in r["figures"].items())) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
             for line in [head, *body]]
    return "\n".join(lines)


def to_json(rows: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(r) for r in rows)
