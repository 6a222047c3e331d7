"""House rules that keep the app light and layered (STYLE.md rules 1-2)."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xray_harmonizer"
QT_MODULES = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_qt_outside_gui():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if "gui" not in p.relative_to(PACKAGE).parts
                 and _imports(p, top_level_only=False) & set(QT_MODULES)]
    assert offenders == []


def test_app_never_imports_torch_at_module_level():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if {"torch", "torchvision"} & _imports(p, top_level_only=True)]
    assert offenders == []


def test_lower_layers_do_not_import_upper_layers():
    lower = ("imaging", "metrics", "io", "reference", "runtime", "models")
    for part in lower:
        for p in (PACKAGE / part).rglob("*.py"):
            text = p.read_text(encoding="utf-8")
            assert "xray_harmonizer.gui" not in text, p
            assert "xray_harmonizer.generalizers" not in text, p
            assert "xray_harmonizer.classifier" not in text, p


def test_cli_start_up_does_not_load_torch_or_qt():
    code = ("import sys, xray_harmonizer.cli, xray_harmonizer.generalizers.registry; "
            "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; print(bad); "
            "raise SystemExit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
