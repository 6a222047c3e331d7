import json
import zipfile

import numpy as np
import pytest

from xray_harmonizer.models.discovery import discover_packages
from xray_harmonizer.models.package import PackageError, load_package, write_manifest
from xray_harmonizer.runtime.sessions import create_session


def _identity_onnx(path):
    onnx = pytest.importorskip("onnx")
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
    with pytest.raises(PackageError, match="must name its label"):
        _make_package(tmp_path / "c", kind="classifier")
    with pytest.raises(PackageError, match="kind must be"):
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
    with pytest.raises(PackageError, match="leaves the package"):
        load_package(tmp_path / "pkg")


def test_zip_package(tmp_path):
    _make_package(tmp_path / "pkg")
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (tmp_path / "pkg").iterdir():
            zf.write(f, f"pkg/{f.name}")
    pkg = load_package(archive, extract_to=tmp_path / "x")
    assert pkg.name == "identity-test"
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(PackageError, match="zip"):
        load_package(tmp_path / "bad.zip")


def test_discovery_keeps_good_packages_and_reports_bad(tmp_path):
    _make_package(tmp_path / "models" / "good")
    _make_package(tmp_path / "models" / "bad")
    (tmp_path / "models" / "bad" / "net.onnx").write_bytes(b"garbage")
    packages, errors = discover_packages([tmp_path / "models"])
    assert [p.root.name for p in packages] == ["good"]
    assert len(errors) == 1 and "bad" in str(errors[0])


def test_gpu_request_without_gpu_falls_back_quietly(tmp_path, capfd):
    from xray_harmonizer.runtime.sessions import clear_session_cache, cuda_device_present

    if cuda_device_present():
        pytest.skip("this machine has a CUDA device")
    _make_package(tmp_path / "pkg")
    clear_session_cache()
    rs = create_session(load_package(tmp_path / "pkg").entrypoint, use_gpu=True)
    assert rs.provider == "CPUExecutionProvider"
    assert "CUDA" not in capfd.readouterr().err
