"""onnxruntime sessions: ask for CUDA when a GPU is really usable, report what actually runs.

``onnxruntime.get_available_providers()`` lists CUDA whenever the GPU wheel is installed, even on a
machine with no GPU; only ``session.get_providers()`` tells the truth, so that is what we report.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, bool, int], "RuntimeSession"] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class RuntimeSession:
    """An onnxruntime InferenceSession and the execution provider it really uses."""

    session: object
    provider: str  # "CUDAExecutionProvider" or "CPUExecutionProvider"

    @property
    def device_label(self) -> str:
        return "CUDA" if self.provider.startswith("CUDA") else "CPU"


def cuda_device_present() -> bool:
    """True when the NVIDIA driver reports at least one CUDA device.

    Asked of the driver directly (cuInit + cuDeviceGetCount), because onnxruntime-gpu prints
    error messages to stderr whenever it is asked for CUDA on a machine without one.
    """
    global _CUDA_PRESENT
    if _CUDA_PRESENT is None:
        _CUDA_PRESENT = _probe_cuda_driver()
    return _CUDA_PRESENT


_CUDA_PRESENT: bool | None = None


def _probe_cuda_driver() -> bool:
    import ctypes
    import sys

    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return False
        except AttributeError:
            return False
        return count.value > 0
    return False


def gpu_allowed() -> bool:
    """False when the user turned the GPU off (``XRH_DISABLE_GPU=1``)."""
    return os.environ.get("XRH_DISABLE_GPU", "0") not in ("1", "true", "yes")


def create_session(model_path: str | Path, *, use_gpu: bool | None = None,
                   intra_threads: int = 0) -> RuntimeSession:
    """Create (or reuse) an onnxruntime session for ``model_path``.

    Sessions are cached per (file, gpu, threads); ``InferenceSession.run`` is thread-safe, so one
    session serves every worker thread.
    """
    import onnxruntime as ort

    use_gpu = gpu_allowed() if use_gpu is None else use_gpu
    key = (str(Path(model_path).resolve()), bool(use_gpu), int(intra_threads))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        options = ort.SessionOptions()
        options.log_severity_level = 3  # CUDA-missing warnings are expected on CPU machines
        if intra_threads:
            options.intra_op_num_threads = intra_threads
        providers: list[str] = ["CPUExecutionProvider"]
        if (use_gpu and "CUDAExecutionProvider" in ort.get_available_providers()
                and cuda_device_present()):
            providers.insert(0, "CUDAExecutionProvider")
        try:
            session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
        except Exception:
            if providers[0] == "CPUExecutionProvider":
                raise
            log.info("CUDA session failed; falling back to CPU", exc_info=True)
            session = ort.InferenceSession(str(model_path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
        actual = session.get_providers()[0]
        result = RuntimeSession(session=session, provider=actual)
        _CACHE[key] = result
        log.info("onnxruntime session for %s runs on %s", Path(model_path).name, actual)
        return result


def clear_session_cache() -> None:
    with _LOCK:
        _CACHE.clear()
