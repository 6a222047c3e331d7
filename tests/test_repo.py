"""The README's commands and CI must not drift apart."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    test_commands = [c for c in commands if "pytest" in c]
    assert test_commands, "README gives no test command"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_commands[0] in [line.strip() for line in ci]


def test_readme_run_command_installs_and_starts_the_app():
    commands = _readme_commands()
    assert any(c.startswith("pip install") and c.endswith("xray-harmonizer") for c in commands)


def test_ci_runs_the_readme_headless_command():
    """Catches the README's headless app command rotting: CI must run it verbatim."""
    headless = [c for c in _readme_commands()
                if c.startswith("pip install") and "xray-harmonizer harmonize" in c]
    assert headless, "README gives no headless command"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert headless[0] in ci
