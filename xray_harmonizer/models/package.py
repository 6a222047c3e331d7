"""Model packages: a folder (or .zip of one) with ``manifest.json`` and ``.onnx`` files.

A package is checked completely before anything uses it: manifest schema, the sha256 of every
file the manifest lists, and that no unlisted ONNX file sits beside them. A package that fails
any check raises :class:`PackageError` and is never half-loaded.

Manifest (format ``xray-harmonizer/model-package``, version 1)::

    {
      "format": "xray-harmonizer/model-package", "format_version": 1,
      "name": "cyclegan-kermany-quick",        # unique, shown in the UI
      "kind": "generalizer" | "classifier",
      "architecture": {"name": "cyclegan-resnet", ...hyper-parameters},
      "input": {"working_size": 256, "multiple": 4, "normalisation": "minus1_1" | "zero_one" | ...},
      "reference_site": "kermany-pediatric",
      "label": "Pneumonia",                    # classifiers only
      "entrypoint": "generator.onnx",          # the file inference runs
      "files": {"generator.onnx": "<sha256>"},
      "training": {...}, "evaluation": {...}   # free-form, shown to the user
    }
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "xray-harmonizer/model-package"
FORMAT_VERSION = 1
KINDS = ("generalizer", "classifier")
_REQUIRED = ("format", "format_version", "name", "kind", "architecture", "input",
             "reference_site", "entrypoint", "files")


class PackageError(Exception):
    """A model package is malformed, tampered with or unusable."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ModelPackage:
    """A verified model package on disk."""

    root: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def architecture(self) -> str:
        return str(self.manifest["architecture"].get("name", "unknown"))

    @property
    def reference_site(self) -> str:
        return str(self.manifest["reference_site"])

    @property
    def label(self) -> str | None:
        label = self.manifest.get("label")
        return None if label is None else str(label)

    @property
    def entrypoint(self) -> Path:
        return self.root / self.manifest["entrypoint"]

    @property
    def input_spec(self) -> dict[str, Any]:
        return dict(self.manifest["input"])

    @property
    def content_hash(self) -> str:
        """sha256 of the entrypoint file: the id written into derived images and reports."""
        return str(self.manifest["files"][self.manifest["entrypoint"]])


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def validate_manifest(manifest: Any, where: Path) -> dict[str, Any]:
    """Check the manifest schema; return it unchanged or raise :class:`PackageError`."""
    if not isinstance(manifest, dict):
        raise PackageError(where, "manifest.json must hold a JSON object")
    missing = [k for k in _REQUIRED if k not in manifest]
    if missing:
        raise PackageError(where, f"manifest.json lacks {', '.join(missing)}")
    if manifest["format"] != FORMAT:
        raise PackageError(where, f"not a model package (format {manifest['format']!r})")
    if manifest["format_version"] != FORMAT_VERSION:
        raise PackageError(where, f"unsupported package version {manifest['format_version']!r}")
    if manifest["kind"] not in KINDS:
        raise PackageError(where, f"kind must be one of {KINDS}, got {manifest['kind']!r}")
    if manifest["kind"] == "classifier" and not manifest.get("label"):
        raise PackageError(where, "a classifier package must name its label")
    files = manifest["files"]
    if not isinstance(files, dict) or not files:
        raise PackageError(where, "manifest 'files' must map file names to sha256")
    if manifest["entrypoint"] not in files:
        raise PackageError(where, "the entrypoint is not among the hashed files")
    for name in files:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise PackageError(where, f"file name {name!r} leaves the package folder")
    if not isinstance(manifest["input"], dict) or not isinstance(manifest["architecture"], dict):
        raise PackageError(where, "manifest 'input' and 'architecture' must be objects")
    return manifest


def load_package(path: str | Path, *, extract_to: Path | None = None) -> ModelPackage:
    """Open and verify a model package folder or ``.zip``.

    Parameters
    ----------
    path : str or Path
        The package folder, or a zip holding ``manifest.json`` at its top level (or in one folder).
    extract_to : Path, optional
        Where a zip is unpacked; a fresh temporary folder by default.

    Raises
    ------
    PackageError
        Missing or malformed manifest, a listed file missing, a hash mismatch, an unlisted
        ``.onnx`` file, or an unreadable zip.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        root = _unzip(path, extract_to)
    elif path.is_dir():
        root = path
    else:
        raise PackageError(path, "not a model package folder or .zip")
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise PackageError(path, "manifest.json is missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(path, f"manifest.json is not valid JSON ({exc})") from None
    validate_manifest(manifest, path)
    for name, expected in manifest["files"].items():
        file = root / name
        if not file.is_file():
            raise PackageError(path, f"listed file {name} is missing")
        actual = sha256_file(file)
        if actual != expected:
            raise PackageError(path, f"{name} fails its sha256 check (package altered or damaged)")
    unlisted = [p.name for p in root.glob("*.onnx") if p.name not in manifest["files"]]
    if unlisted:
        raise PackageError(path, f"unlisted model file(s): {', '.join(unlisted)}")
    return ModelPackage(root=root, manifest=manifest)


def _unzip(path: Path, extract_to: Path | None) -> Path:
    target = Path(extract_to) if extract_to else Path(tempfile.mkdtemp(prefix="xrh-pkg-"))
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                parts = Path(info.filename).parts
                if Path(info.filename).is_absolute() or ".." in parts:
                    raise PackageError(path, f"zip entry {info.filename!r} leaves the package")
            zf.extractall(target)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise PackageError(path, f"not a readable zip ({exc})") from None
    if (target / "manifest.json").is_file():
        return target
    subdirs = [d for d in target.iterdir() if d.is_dir()]
    if len(subdirs) == 1 and (subdirs[0] / "manifest.json").is_file():
        return subdirs[0]
    return target


def write_manifest(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Fill ``files`` with the sha256 of every ``.onnx`` in ``root``, validate, write atomically."""
    root = Path(root)
    manifest = dict(manifest)
    manifest.setdefault("format", FORMAT)
    manifest.setdefault("format_version", FORMAT_VERSION)
    manifest["files"] = {p.name: sha256_file(p) for p in sorted(root.glob("*.onnx"))}
    validate_manifest(manifest, root)
    tmp = root / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(root / "manifest.json")
    return manifest
