"""Splice the generated benchmark tables into README.md (between <!-- NAME:start/end --> markers).

    python benchmarks/update_readme.py

Each block NAME is filled with benchmarks/results/NAME.md as the benchmark last wrote it, so no
figure in the README is typed by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def splice(readme: str, name: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(readme):
        return readme
    return pattern.sub(lambda m: m.group(1) + table.rstrip() + "\n" + m.group(2), readme)


def main() -> int:
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    for name in re.findall(r"<!-- ([\w-]+):start -->", readme):
        table = RESULTS / f"{name}.md"
        if table.is_file():
            readme = splice(readme, name, table.read_text(encoding="utf-8"))
        else:
            print(f"no {table.relative_to(ROOT)} yet; block {name} left as is", file=sys.stderr)
    readme_path.write_text(readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
