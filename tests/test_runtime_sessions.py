"""runtime.sessions without a GPU: the CUDA driver probe and the provider choice, with fakes.

This machine (and CI) has no GPU, so the CUDA branches only run against stand-ins for the
driver library and for onnxruntime; what they pin is the decision logic, not CUDA itself.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xray_harmonizer.runtime import sessions


class FakeDriver:
    """Stands in for libcuda: ``cuInit`` and ``cuDeviceGetCount`` with chosen results."""

    def __init__(self, init: int = 0, count_status: int = 0, count: int = 1) -> None:
        self.init, self.count_status, self.count = init, count_status, count
        self.init_flags: list[int] = []

    def cuInit(self, flags: int) -> int:  # noqa: N802 - the driver's name
        self.init_flags.append(flags)
        return self.init

    def cuDeviceGetCount(self, ref: Any) -> int:  # noqa: N802
        ref._obj.value = self.count
        return self.count_status


def _probe_with(monkeypatch: pytest.MonkeyPatch, libs: dict[str, object]) -> bool:
    def cdll(name: str) -> object:
        if name not in libs:
            raise OSError(f"{name}: cannot open shared object file")
        return libs[name]

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    return sessions._probe_cuda_driver()


@pytest.mark.parametrize("name", ["libcuda.so.1", "libcuda.so"])
def test_probe_finds_a_device_through_either_library_name(monkeypatch: pytest.MonkeyPatch,
                                                         name: str) -> None:
    """Catches a probe that stops after the first library name, inverts a status check,
    initialises the driver with other flags than 0, or miscounts the devices."""
    driver = FakeDriver(count=1)
    assert _probe_with(monkeypatch, {name: driver}) is True
    assert driver.init_flags == [0]


def test_probe_on_windows_loads_nvcuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches the Windows driver name (nvcuda.dll) being lost or never chosen."""
    monkeypatch.setattr("sys.platform", "win32")
    assert _probe_with(monkeypatch, {"nvcuda.dll": FakeDriver()}) is True
    assert _probe_with(monkeypatch, {"libcuda.so.1": FakeDriver()}) is False


@pytest.mark.parametrize("driver", [FakeDriver(init=100), FakeDriver(count_status=3),
                                    FakeDriver(count=0)], ids=["init-fails", "count-fails",
                                                               "no-device"])
def test_probe_says_no_when_the_driver_says_no(monkeypatch: pytest.MonkeyPatch,
                                               driver: FakeDriver) -> None:
    """Catches a probe that reports a GPU when cuInit fails (no usable driver), when the
    device count call fails, or when the driver counts zero devices."""
    assert _probe_with(monkeypatch, {"libcuda.so.1": driver}) is False


def test_probe_without_driver_or_with_a_foreign_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a probe that raises instead of answering False when there is no libcuda, or
    when the library found lacks the driver API (AttributeError)."""
    assert _probe_with(monkeypatch, {}) is False
    assert _probe_with(monkeypatch, {"libcuda.so.1": object()}) is False


def test_probe_result_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a cuda_device_present that asks the driver on every session (slow, and noisy
    on some drivers) or does not keep the answer it got."""
    calls = []
    monkeypatch.setattr(sessions, "_CUDA_PRESENT", None)
    monkeypatch.setattr(sessions, "_probe_cuda_driver", lambda: calls.append(1) or True)
    assert sessions.cuda_device_present() is True
    assert sessions.cuda_device_present() is True
    assert calls == [1]


@pytest.mark.parametrize("value, allowed", [("1", False), ("true", False), ("yes", False),
                                            ("0", True), ("", True), (None, True)])
def test_gpu_allowed_follows_the_environment(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                            allowed: bool) -> None:
    """Catches XRH_DISABLE_GPU being ignored, inverted, or read with other spellings."""
    if value is None:
        monkeypatch.delenv("XRH_DISABLE_GPU", raising=False)
    else:
        monkeypatch.setenv("XRH_DISABLE_GPU", value)
    assert sessions.gpu_allowed() is allowed


class FakeOrt:
    """onnxruntime stand-in: records each InferenceSession's providers and options; a CUDA
    session fails when ``cuda_fails``."""

    def __init__(self, cuda_listed: bool = True, cuda_fails: bool = False) -> None:
        self.cuda_listed, self.cuda_fails = cuda_listed, cuda_fails
        self.created: list[tuple[list[str], Any]] = []
        self.paths: list[str] = []
        fake = self

        class SessionOptions:
            log_severity_level = 0
            intra_op_num_threads = 0

        class InferenceSession:
            def __init__(self, path: str, sess_options: Any, providers: list[str]) -> None:
                fake.created.append((list(providers), sess_options))
                fake.paths.append(path)
                if providers[0] == "CUDAExecutionProvider" and fake.cuda_fails:
                    raise RuntimeError("CUDA failure 100: no CUDA-capable device")
                self.providers = list(providers)

            def get_providers(self) -> list[str]:
                return self.providers

        self.SessionOptions, self.InferenceSession = SessionOptions, InferenceSession

    def get_available_providers(self) -> list[str]:
        return (["CUDAExecutionProvider"] if self.cuda_listed else []) + ["CPUExecutionProvider"]


@pytest.fixture
def fake_ort(monkeypatch: pytest.MonkeyPatch) -> FakeOrt:
    import sys

    fake = FakeOrt()
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    monkeypatch.setattr(sessions, "_CUDA_PRESENT", True)
    sessions.clear_session_cache()
    yield fake
    sessions.clear_session_cache()


def test_cuda_asked_only_when_allowed_listed_and_present(fake_ort: FakeOrt, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches CUDA being requested when the user said no, when the wheel lacks it, or when
    no device is present (each prints errors or fails on such machines), and a provider
    report that is not the session's own."""
    model = tmp_path / "m.onnx"
    rs = sessions.create_session(model, use_gpu=True)
    assert fake_ort.created[-1][0] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert rs.provider == "CUDAExecutionProvider" and rs.device_label == "CUDA"
    assert fake_ort.created[-1][1].log_severity_level == 3
    assert sessions.create_session(model, use_gpu=False).provider == "CPUExecutionProvider"
    assert fake_ort.created[-1][0] == ["CPUExecutionProvider"]
    sessions.clear_session_cache()
    fake_ort.cuda_listed = False
    assert sessions.create_session(model, use_gpu=True).provider == "CPUExecutionProvider"
    sessions.clear_session_cache()
    fake_ort.cuda_listed = True
    monkeypatch.setattr(sessions, "_CUDA_PRESENT", False)
    assert sessions.create_session(model, use_gpu=True).provider == "CPUExecutionProvider"
    assert fake_ort.created[-1][0] == ["CPUExecutionProvider"]
    sessions.clear_session_cache()
    monkeypatch.setattr(sessions, "_CUDA_PRESENT", True)
    monkeypatch.setenv("XRH_DISABLE_GPU", "1")  # use_gpu=None: the environment decides
    assert sessions.create_session(model).provider == "CPUExecutionProvider"
    sessions.clear_session_cache()
    monkeypatch.setenv("XRH_DISABLE_GPU", "0")
    assert sessions.create_session(model).provider == "CUDAExecutionProvider"


def test_failed_cuda_session_falls_back_to_cpu(fake_ort: FakeOrt, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """Catches a CUDA session failure that reaches the user instead of a CPU session, a
    fallback that opens another file or drops the session options, and a log that hides
    why CUDA failed or which provider finally runs."""
    import logging

    fake_ort.cuda_fails = True
    with caplog.at_level(logging.INFO, logger=sessions.__name__):
        rs = sessions.create_session(tmp_path / "m.onnx", use_gpu=True)
    assert rs.provider == "CPUExecutionProvider"
    assert [p for p, _ in fake_ort.created] == [["CUDAExecutionProvider", "CPUExecutionProvider"],
                                                 ["CPUExecutionProvider"]]
    assert fake_ort.paths == [str(tmp_path / "m.onnx")] * 2
    assert fake_ort.created[1][1] is fake_ort.created[0][1]  # same options (quiet log level)
    fallback, final = caplog.records[-2:]
    assert fallback.getMessage() == "CUDA session failed; falling back to CPU"
    assert fallback.exc_info and "no CUDA-capable device" in str(fallback.exc_info[1])
    assert final.getMessage() == "onnxruntime session for m.onnx runs on CPUExecutionProvider"


def test_cpu_session_failure_is_not_swallowed(fake_ort: FakeOrt, tmp_path: Path) -> None:
    """Catches the fallback retrying (or hiding) a failure that was already on the CPU."""
    calls = []

    def broken(*_a: Any, **_k: Any) -> None:
        calls.append(1)
        raise RuntimeError("not an ONNX model")

    fake_ort.InferenceSession = broken
    with pytest.raises(RuntimeError, match="not an ONNX model"):
        sessions.create_session(tmp_path / "m.onnx", use_gpu=False)
    assert calls == [1]


def test_sessions_cached_per_file_device_and_threads(fake_ort: FakeOrt, tmp_path: Path) -> None:
    """Catches a cache key that leaves out the file, the device or the thread count (another
    model, or a CPU request, would get the wrong session), and thread counts that are not
    passed to onnxruntime."""
    model = tmp_path / "m.onnx"
    a = sessions.create_session(model, use_gpu=False, intra_threads=2)
    assert fake_ort.created[-1][1].intra_op_num_threads == 2
    assert sessions.create_session(tmp_path / "." / "m.onnx", use_gpu=False, intra_threads=2) is a
    assert sessions.create_session(model, use_gpu=False) is not a
    assert fake_ort.created[-1][1].intra_op_num_threads == 0  # onnxruntime's default
    assert sessions.create_session(model, use_gpu=True, intra_threads=2) is not a
    assert len(fake_ort.created) == 3
    other = sessions.create_session(tmp_path / "other.onnx", use_gpu=False, intra_threads=2)
    assert other is not a and fake_ort.paths[-1] == str(tmp_path / "other.onnx")
    sessions.clear_session_cache()
    assert sessions.create_session(model, use_gpu=False, intra_threads=2) is not a


def test_real_session_on_cpu_runs(tmp_path: Path) -> None:
    """The real onnxruntime on this machine: an identity graph, CPU provider reported."""
    import onnx
    from onnx import TensorProto, helper

    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 1, "h", "w"])
          for n in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id", io[:1], io[1:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "id.onnx"))
    sessions.clear_session_cache()
    rs = sessions.create_session(tmp_path / "id.onnx", use_gpu=False)
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(rs.session.run(None, {"x": x})[0], x)
    assert rs.provider == "CPUExecutionProvider"
