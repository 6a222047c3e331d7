"""The model-package manifest schema (JSON Schema 2020-12, checked with jsonschema).

Checked before any file of a package is hashed or loaded. Besides the schema: the manifest file
is at most 1 MiB and nested at most 12 levels (``json`` itself recurses, and jsonschema walks
every level), and the entrypoint must be one of the hashed files.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

FORMAT = "xray-harmonizer/model-package"
FORMAT_VERSION = 1
KINDS = ("generalizer", "classifier")
GENERALIZER_KINDS = ("cyclegan", "unit", "universal")
MAX_BYTES = 1 << 20
MAX_DEPTH = 12

# A file of the package: a plain name in its top folder (no folders, no "..", no hidden files).
# The entrypoint is an ONNX model (what inference runs); other hashed files may only be ONNX or
# data-only formats that load without running code (NumPy .npz read with allow_pickle=False,
# JSON, safetensors) -- never pickles, torch checkpoints or scripts.
_ONNX_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}\.onnx$"
_DATA_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}\.(onnx|npz|json|safetensors)$"
_SHORT_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_FREE_OBJECT = {"type": "object"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "xray-harmonizer model package manifest",
    "type": "object",
    "required": ["format", "format_version", "name", "kind", "architecture", "input",
                 "reference_site", "entrypoint", "files"],
    "properties": {
        "format": {"const": FORMAT},
        "format_version": {"const": FORMAT_VERSION},
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"},
        "display_name": _SHORT_TEXT,
        "kind": {"enum": list(KINDS)},
        "generalizer_kind": {"enum": list(GENERALIZER_KINDS)},
        "architecture": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": _SHORT_TEXT},
        },
        "preset": _SHORT_TEXT,
        "input": {
            "type": "object",
            "properties": {
                "working_size": {"type": "integer", "minimum": 16, "maximum": 4096},
                "multiple": {"type": "integer", "minimum": 1, "maximum": 256},
                "size": {"type": "integer", "minimum": 16, "maximum": 4096},
                "channels": {"type": "integer", "minimum": 1, "maximum": 4},
                "tensor": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,63}$"},
                "output": {"type": "string", "maxLength": 64},
                "normalisation": {"type": "string", "maxLength": 64},
                "layout": {"type": "string", "maxLength": 64},
                "padding": {"type": "string", "maxLength": 64},
                "preprocess": {"type": "string", "maxLength": 500},
                "transfer": {"enum": ["affine", "affine+residual"]},
            },
        },
        "reference_site": _SHORT_TEXT,
        "label": _SHORT_TEXT,
        "entrypoint": {"type": "string", "pattern": _ONNX_NAME},
        "files": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 16,
            "propertyNames": {"pattern": _DATA_NAME},
            "additionalProperties": {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
        },
        "weights": {"type": "string", "maxLength": 200},
        "training": _FREE_OBJECT,
        "evaluation": _FREE_OBJECT,
        "export": _FREE_OBJECT,
        "domain": _FREE_OBJECT,
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": "classifier"}}},
         "then": {"required": ["label"]}},
        {"if": {"properties": {"kind": {"const": "generalizer"}}},
         "then": {"properties": {"input": {"required": ["working_size", "multiple"]}}}},
    ],
}

_VALIDATOR = Draft202012Validator(SCHEMA)
Draft202012Validator.check_schema(SCHEMA)


def parse_manifest(raw: bytes) -> Any:
    """JSON from ``raw`` bytes; ValueError with one line when too large, too deep or invalid."""
    if len(raw) > MAX_BYTES:
        raise ValueError(f"manifest.json is {len(raw)} bytes, more than {MAX_BYTES}")
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"manifest.json is nested more than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"manifest.json is not valid JSON ({exc})") from None
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"manifest.json is nested more than {MAX_DEPTH} levels")
    return value


def schema_errors(manifest: Any) -> list[str]:
    """One line per schema violation (empty when valid), naming where in the manifest."""
    if _depth(manifest) > MAX_DEPTH:
        return [f"nested more than {MAX_DEPTH} levels"]
    out = []
    for error in sorted(_VALIDATOR.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "manifest"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        out.append(f"{where}: {message}")
    if not out and manifest["entrypoint"] not in manifest["files"]:
        out.append("entrypoint: the entrypoint is not among the hashed files")
    return out


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion (scalars are depth 0)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
