import json
import zipfile

import numpy as np
import pytest

from xray_harmonizer.models.discovery import discover_packages
from xray_harmonizer.models.package import PackageError, load_package, write_manifest
from xray_harmonizer.runtime.sessions import create_session


def _identity_onnx(path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, "h", "w"])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, "h", "w"])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "id", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def _make_package(root, **overrides):
    root.mkdir(parents=True, exist_ok=True)
    _identity_onnx(root / "net.onnx")
    manifest = {
        "name": "identity-test", "kind": "generalizer",
        "architecture": {"name": "identity"}, "input": {"working_size": 64, "multiple": 1},
        "reference_site": "test-site", "entrypoint": "net.onnx",
    }
    manifest.update(overrides)
    return write_manifest(root, manifest)


def test_valid_package_loads_and_runs_on_cpu(tmp_path):
    _make_package(tmp_path / "pkg")
    pkg = load_package(tmp_path / "pkg")
    assert pkg.name == "identity-test" and pkg.kind == "generalizer"
    assert len(pkg.content_hash) == 64
    rs = create_session(pkg.entrypoint, use_gpu=False)
    assert rs.provider == "CPUExecutionProvider" and rs.device_label == "CPU"
    x = np.random.default_rng(0).random((1, 1, 5, 7), dtype=np.float32)
    (y,) = rs.session.run(None, {"image": x})
    np.testing.assert_array_equal(x, y)
    assert create_session(pkg.entrypoint, use_gpu=False) is rs  # cached


def test_tampered_file_is_refused(tmp_path):
    _make_package(tmp_path / "pkg")
    with open(tmp_path / "pkg" / "net.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(PackageError, match="sha256"):
        load_package(tmp_path / "pkg")


def test_missing_manifest_and_bad_json(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackageError, match="manifest.json is missing"):
        load_package(tmp_path / "empty")
    _make_package(tmp_path / "pkg")
    (tmp_path / "pkg" / "manifest.json").write_text("{")
    with pytest.raises(PackageError, match="not valid JSON"):
        load_package(tmp_path / "pkg")


def test_schema_errors(tmp_path):
    with pytest.raises(PackageError, match="'label' is a required property"):
        _make_package(tmp_path / "c", kind="classifier")
    with pytest.raises(PackageError, match="kind: 'toaster' is not one of"):
        _make_package(tmp_path / "k", kind="toaster")


def test_unlisted_onnx_refused(tmp_path):
    _make_package(tmp_path / "pkg")
    _identity_onnx(tmp_path / "pkg" / "extra.onnx")
    with pytest.raises(PackageError, match="unlisted"):
        load_package(tmp_path / "pkg")


def test_path_escape_refused(tmp_path):
    _make_package(tmp_path / "pkg")
    manifest = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    manifest["files"]["../evil.onnx"] = "0" * 64
    (tmp_path / "pkg" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="files: '../evil.onnx' does not match"):
        load_package(tmp_path / "pkg")


def test_zip_package(tmp_path):
    _make_package(tmp_path / "pkg")
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (tmp_path / "pkg").iterdir():
            zf.write(f, f"pkg/{f.name}")
    pkg = load_package(archive, cache_dir=tmp_path / "cache")
    assert pkg.name == "identity-test"
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(PackageError, match="zip"):
        load_package(tmp_path / "bad.zip", cache_dir=tmp_path / "cache")


def test_discovery_keeps_good_packages_and_reports_bad(tmp_path):
    _make_package(tmp_path / "models" / "good")
    _make_package(tmp_path / "models" / "bad")
    (tmp_path / "models" / "bad" / "net.onnx").write_bytes(b"garbage")
    packages, errors = discover_packages([tmp_path / "models"])
    assert [p.root.name for p in packages] == ["good"]
    assert len(errors) == 1 and "bad" in str(errors[0])


def test_gpu_request_without_gpu_falls_back_quietly(tmp_path, capfd):
    from xray_harmonizer.runtime.sessions import clear_session_cache, cuda_device_present

    _make_package(tmp_path / "pkg")
    clear_session_cache()
    rs = create_session(load_package(tmp_path / "pkg").entrypoint, use_gpu=True)
    # Evaluated on every machine: a CUDA device gets CUDA, none gets the CPU without noise.
    if cuda_device_present():
        assert rs.provider == "CUDAExecutionProvider"
    else:
        assert rs.provider == "CPUExecutionProvider"
        assert "CUDA" not in capfd.readouterr().err


# --- issue 12, item 7: manifest schema, symlinks, zip cache ---------------------------------------


def _rewrite(root, **changes):
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.update(changes)
    (root / "manifest.json").write_text(json.dumps(manifest))


def _refused(path, match, **kwargs):
    with pytest.raises(PackageError, match=match) as info:
        load_package(path, **kwargs)
    assert "\n" not in str(info.value) and len(str(info.value)) < 600
    return str(info.value)


@pytest.mark.parametrize("field, value, match", [
    ("tensor", 5, "input/tensor: 5 is not of type 'string'"),
    ("tensor", "a b;c", "input/tensor: 'a b;c' does not match"),
    ("multiple", 0, "input/multiple: 0 is less than the minimum of 1"),
    ("multiple", "4", "input/multiple: '4' is not of type 'integer'"),
    ("working_size", -1, "input/working_size: -1 is less than the minimum"),
    ("working_size", 1e9, "input/working_size"),
])
def test_input_spec_is_validated_before_loading(tmp_path, field, value, match):
    """Bug: input.tensor, multiple and working_size were not validated: tracebacks
    (ValueError, ZeroDivisionError) when the generalizer ran."""
    _make_package(tmp_path / "pkg")
    manifest = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    manifest["input"][field] = value
    (tmp_path / "pkg" / "manifest.json").write_text(json.dumps(manifest))
    _refused(tmp_path / "pkg", match)


def test_entrypoint_given_as_a_list_is_refused(tmp_path):
    """Bug: an entrypoint given as a list gave a TypeError traceback."""
    _make_package(tmp_path / "pkg")
    _rewrite(tmp_path / "pkg", entrypoint=["net.onnx"])
    _refused(tmp_path / "pkg", "entrypoint: .* is not of type 'string'")


def test_deeply_nested_manifest_is_refused(tmp_path):
    """Bug: a deeply nested manifest gave a RecursionError traceback."""
    _make_package(tmp_path / "pkg")
    manifest = (tmp_path / "pkg" / "manifest.json").read_text()
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "pkg" / "manifest.json").write_text(manifest[:-2] + f', "training": {{"x": {deep}}}}}')
    _refused(tmp_path / "pkg", "nested more than 12 levels")
    _make_package(tmp_path / "pkg2")
    _rewrite(tmp_path / "pkg2", training={"x": [[[[[[[[[[[[[[1]]]]]]]]]]]]]]})
    _refused(tmp_path / "pkg2", "nested more than 12 levels")
    (tmp_path / "pkg" / "manifest.json").write_text(" " * (2 << 20))
    _refused(tmp_path / "pkg", "more than 1048576")


@pytest.mark.parametrize("name", ["model.pt", "run.py", "weights.pkl"])
def test_hashed_code_or_pickle_file_is_refused(tmp_path, name):
    """Bug: a hashed non-ONNX file (as the entrypoint, or beside it) gave a traceback; only ONNX
    and data-only formats (npz without pickles, JSON, safetensors) may be hashed."""
    from xray_harmonizer.models.package import sha256_file

    _make_package(tmp_path / "pkg")
    (tmp_path / "pkg" / name).write_bytes(b"import os")
    manifest = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    manifest["files"][name] = sha256_file(tmp_path / "pkg" / name)
    (tmp_path / "pkg" / "manifest.json").write_text(json.dumps(manifest))
    _refused(tmp_path / "pkg", "does not match")
    manifest["entrypoint"] = name
    (tmp_path / "pkg" / "manifest.json").write_text(json.dumps(manifest))
    _refused(tmp_path / "pkg", "does not match")


def test_symlinked_model_outside_the_package_is_refused(tmp_path):
    """Bug: a symlinked .onnx pointing outside the package was accepted."""
    _make_package(tmp_path / "pkg")
    outside = tmp_path / "elsewhere.onnx"
    (tmp_path / "pkg" / "net.onnx").rename(outside)
    (tmp_path / "pkg" / "net.onnx").symlink_to(outside)
    _refused(tmp_path / "pkg", "net.onnx is a symbolic link")
    _make_package(tmp_path / "pkg2")
    real = tmp_path / "pkg2" / "manifest.json"
    real.rename(tmp_path / "m.json")
    real.symlink_to(tmp_path / "m.json")
    _refused(tmp_path / "pkg2", "manifest.json is a symbolic link")


def _zip(folder, archive, extra=None):
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"pkg/{f.name}")
        if extra:
            extra(zf)
    return archive


def test_zip_extracted_once_into_the_cache(tmp_path):
    """Bug: a .zip package was extracted to a new temp folder on every use, never removed."""
    _make_package(tmp_path / "pkg")
    archive = _zip(tmp_path / "pkg", tmp_path / "pkg.zip")
    cache = tmp_path / "cache"
    first = load_package(archive, cache_dir=cache)
    second = load_package(archive, cache_dir=cache)
    assert first.root == second.root and first.root.parent.parent == cache
    assert [p.name for p in cache.iterdir()] == [first.root.parent.name]
    assert len(first.root.parent.name) == 64  # keyed by the zip's sha256


def test_zip_size_cap_and_no_partial_extraction_left(tmp_path, monkeypatch):
    """Bug: zips were extracted with no size limit; a failed or killed extraction must leave no
    half-written package (stale partial folders from a killed run are removed)."""
    from xray_harmonizer.models import archive as archive_mod

    _make_package(tmp_path / "pkg")
    big = _zip(tmp_path / "pkg", tmp_path / "big.zip",
               lambda zf: zf.writestr("pkg/padding.bin", b"\0" * (3 << 20), zipfile.ZIP_DEFLATED))
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / ".partial-0123456789abcdef-deadbeef"
    stale.mkdir()
    import os

    os.utime(stale, (0, 0))
    monkeypatch.setattr(archive_mod, "MAX_UNPACKED", 2 << 20)
    _refused(big, "unpacks to more than 2 MiB", cache_dir=cache)
    assert list(cache.iterdir()) == []  # the stale partial and ours are gone


def test_zip_with_symlink_entry_is_refused(tmp_path):
    """Bug family of the symlinked .onnx: a zip entry that is a symbolic link is refused."""
    _make_package(tmp_path / "pkg")

    def link(zf):
        info = zipfile.ZipInfo("pkg/other.onnx")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")

    archive = _zip(tmp_path / "pkg", tmp_path / "l.zip", link)
    _refused(archive, "symbolic link", cache_dir=tmp_path / "cache")


def test_every_bundled_manifest_validates_and_new_kinds_are_accepted(tmp_path):
    """The schema must accept what we ship (cyclegan/unit generalizers, classifiers with a
    hashed domain reference .npz, free-form evaluation) and the coming `universal` kind."""
    from xray_harmonizer.models.discovery import bundled_models_dir
    from xray_harmonizer.models.package import validate_manifest

    REPO = bundled_models_dir().parents[1]
    manifests = sorted(bundled_models_dir().glob("*/manifest.json")) + sorted(
        (REPO / "benchmarks" / "packages").glob("*/manifest.json"))
    assert len(manifests) >= 8
    for path in manifests:
        validate_manifest(json.loads(path.read_text()), path.parent)
        load_package(path.parent)
    _make_package(tmp_path / "u", generalizer_kind="universal",
                  evaluation={"anything": [{"nested": {"free": "form"}}]})
    assert load_package(tmp_path / "u").manifest["generalizer_kind"] == "universal"
    with pytest.raises(PackageError, match="generalizer_kind"):
        _make_package(tmp_path / "x", generalizer_kind="magic")
