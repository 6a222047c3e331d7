#!/usr/bin/env bash
# Size of the README's app install (`pip install -e .`) in a fresh venv from a fresh clone, and
# that it brings no torch. Writes benchmarks/results/install_size.md.
#   bash benchmarks/install_size.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
git clone -q "$repo" "$work/clone"
python -m venv "$work/venv"
(cd "$work/clone" && "$work/venv/bin/pip" install -q -e .)
size="$(du -sh "$work/venv" | cut -f1)"
torch="$("$work/venv/bin/python" -c 'import importlib.util as u; print("yes" if u.find_spec("torch") else "no")')"
pyside="$(du -sh "$work/venv"/lib/python*/site-packages/PySide6 | cut -f1)"
ort="$(du -sh "$work/venv"/lib/python*/site-packages/onnxruntime | cut -f1)"
cat > "$repo/benchmarks/results/install_size.md" <<MD
# App install size

\`bash benchmarks/install_size.sh\` ($(date -u +%Y-%m-%d), $(uname -m), $(python --version)):
fresh clone, fresh venv, the README's \`pip install -e .\`.

| venv total | PySide6 (Essentials) | onnxruntime | torch installed |
|---|---|---|---|
| $size | $pyside | $ort | $torch |
MD
cat "$repo/benchmarks/results/install_size.md"
rm -rf "$work"
