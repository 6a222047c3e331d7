"""Model packages: a folder (or .zip of one) with ``manifest.json`` and ``.onnx`` files.

A package is checked completely before anything uses it: the manifest against its JSON schema
(:mod:`.schema`: types and ranges of ``input``, the entrypoint a hashed ``.onnx`` file, size and
depth limits), no symbolic link and nothing resolving outside the package folder, the sha256 of
every file the manifest lists, and that no unlisted ONNX file sits beside them. A package that
fails any check raises :class:`PackageError` (one line) and is never half-loaded. A ``.zip`` is
extracted once into the user cache (:mod:`.archive`).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xray_harmonizer.models import archive
from xray_harmonizer.models.schema import FORMAT, FORMAT_VERSION, KINDS, parse_manifest, schema_errors

__all__ = ["FORMAT", "FORMAT_VERSION", "KINDS", "ModelPackage", "PackageError", "load_package",
           "sha256_file", "validate_manifest", "write_manifest"]


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
    """Check the manifest against the schema; return it unchanged or raise :class:`PackageError`."""
    errors = schema_errors(manifest)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PackageError(where, f"manifest.json is invalid: {errors[0]}{more}")
    return manifest


# Written into ``files`` by write_manifest. An unlisted .onnx is refused at load (inference
# might pick it up); an unlisted .safetensors is never read (training reads only listed,
# hashed weights), so older packages with one beside them stay valid.
_HASHED = (".onnx", ".safetensors")


def load_package(path: str | Path, *, cache_dir: Path | None = None) -> ModelPackage:
    """Open and verify a model package folder or ``.zip``.

    Parameters
    ----------
    path : str or Path
        The package folder, or a zip holding ``manifest.json`` at its top level (or in one folder).
    cache_dir : Path, optional
        Where zips are extracted (once per zip content); the user cache folder by default.

    Raises
    ------
    PackageError
        Missing, oversized or invalid manifest, a symbolic link or a file resolving outside the
        package, a listed file missing, a hash mismatch, an unlisted ``.onnx`` file, or an
        unreadable, oversized or unsafe zip.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            root = _package_root(archive.extracted(path, cache_dir))
        except (archive.ArchiveError, OSError) as exc:
            raise PackageError(path, str(exc)) from None
    elif path.is_dir():
        root = path
    else:
        raise PackageError(path, "not a model package folder or .zip")
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise PackageError(path, "manifest.json is missing")
    _check_inside(path, root, manifest_path)
    try:
        manifest = parse_manifest(manifest_path.read_bytes()[: 1 << 21])
    except (ValueError, OSError) as exc:
        raise PackageError(path, str(exc)) from None
    validate_manifest(manifest, path)
    for name, expected in manifest["files"].items():
        file = root / name
        if not file.is_file():
            raise PackageError(path, f"listed file {name} is missing")
        _check_inside(path, root, file)
        if sha256_file(file) != expected:
            raise PackageError(path, f"{name} fails its sha256 check (package altered or damaged)")
    unlisted = [p.name for p in root.glob("*.onnx") if p.name not in manifest["files"]]
    if unlisted:
        raise PackageError(path, f"unlisted model file(s): {', '.join(unlisted)}")
    return ModelPackage(root=root, manifest=manifest)


def _check_inside(where: Path, root: Path, file: Path) -> None:
    """Refuse a symbolic link, or a file that resolves outside the package folder."""
    if file.is_symlink():
        raise PackageError(where, f"{file.name} is a symbolic link (refused)")
    if not file.resolve().is_relative_to(root.resolve()):
        raise PackageError(where, f"{file.name} resolves outside the package folder")


def _package_root(folder: Path) -> Path:
    """The extracted zip's folder holding manifest.json: its top, or its only sub-folder."""
    if (folder / "manifest.json").is_file():
        return folder
    subdirs = [d for d in folder.iterdir() if d.is_dir()]
    if len(subdirs) == 1 and (subdirs[0] / "manifest.json").is_file():
        return subdirs[0]
    return folder


def write_manifest(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Fill ``files`` with the sha256 of every ``.onnx`` and ``.safetensors`` in ``root`` (the
    weights a fine-tune starts from), validate, write atomically."""
    root = Path(root)
    manifest = dict(manifest)
    manifest.setdefault("format", FORMAT)
    manifest.setdefault("format_version", FORMAT_VERSION)
    manifest["files"] = {p.name: sha256_file(p) for p in sorted(root.iterdir())
                         if p.suffix in _HASHED and p.is_file()}
    validate_manifest(manifest, root)
    tmp = root / ".manifest.json.part"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(root / "manifest.json")
    return manifest
