"""Helpers shared by the benchmark scripts: the machine's name and repeated timing."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any, Callable


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_times(fn: Callable[[], Any], runs: int, warmup: bool = True) -> list[float]:
    """Wall time in seconds of each of ``runs`` calls of ``fn``, after one warm-up call."""
    if warmup:
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times
