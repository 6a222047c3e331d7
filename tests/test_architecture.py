"""House rules that keep the app light and layered (STYLE.md rules 1-2)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "xray_harmonizer"


def test_import_contracts_hold():
    """Qt only in gui, no torch in xray_harmonizer, and the layers of ARCHITECTURE.md.

    import-linter follows every import, also those inside functions, so a lazy ``import torch``
    in a generalizer or a ``from xray_harmonizer.gui import ...`` in analysis fails here."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(no_cache=True))"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def test_every_subpackage_is_in_a_layer():
    """A new subpackage outside the layers or the no-Qt contract would be unchecked."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    layered = {m.strip() for layer in layers for m in re.split(r"[|:]", layer)}
    modules = {f"xray_harmonizer.{p.stem if p.is_file() else p.name}" for p in PACKAGE.iterdir()
               if (p.is_dir() and (p / "__init__.py").is_file())
               or (p.suffix == ".py" and p.stem != "__init__")}
    assert modules - layered == set(), "add the new module to a layer in pyproject.toml"
    no_qt = next(c for c in contracts if c["name"] == "Qt only in xray_harmonizer.gui")
    outside_gui = modules - {"xray_harmonizer.gui", "xray_harmonizer.cli"}
    assert outside_gui - set(no_qt["source_modules"]) == set(), "add it to the no-Qt contract"
    assert {"torch", "torchvision"} <= {m for c in contracts
                                        for m in c.get("forbidden_modules", [])}


def test_cli_start_up_does_not_load_torch_or_qt():
    code = ("import sys, xray_harmonizer.cli, xray_harmonizer.generalizers.registry; "
            "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; print(bad); "
            "raise SystemExit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
