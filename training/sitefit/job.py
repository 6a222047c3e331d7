"""What to train (:class:`FitRequest`), as the one CLI command, and that command run as a child
process (:class:`TrainProcess`) whose progress is read from its JSON-lines events file.

The app never imports torch: it starts ``python -m xray_harmonizer.cli train site ...`` (the
command it also shows the user), so a crash in training cannot take the app down, Cancel is a
kill, and Pause stops the process (SIGSTOP; it resumes with SIGCONT). A killed run continues
from its last checkpoint with ``--resume``.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

METHODS = ("universal", "cyclegan", "unit", "histogram")
METHOD_LABELS = {"universal": "Universal, fine-tuned", "cyclegan": "CycleGAN", "unit": "UNIT",
                 "histogram": "Histogram profile only"}
BUNDLED = "bundled"
NICE = 10  # the app's training and estimate processes yield the CPU to its window


def default_runs_dir() -> Path:
    """Per-user folder for runs (checkpoints, previews, events) started from the app."""
    from platformdirs import user_data_path

    return user_data_path("xray-harmonizer", appauthor=False) / "runs"


@dataclass(frozen=True)
class FitRequest:
    """Everything one ``xray-harmonizer train site`` command needs; the wizard fills it."""

    site: Path
    run_dir: Path
    method: str = "universal"
    preset: str = "quick"
    device: str = "auto"  # auto | cpu | cuda
    holdout: float = 0.2
    seed: int = 0
    reference: str = BUNDLED  # "bundled" or a folder of the reference site's images
    reference_id: str | None = None  # required for a reference folder
    reference_images: Path | None = None  # images of the bundled reference (GAN methods)
    name: str | None = None
    labels: str | None = None  # CSV path or "nlm"
    steps: int | None = None
    preview_every: int = 0
    min_images: int = 20
    train_only: bool = False  # stop after training: the wizard evaluates and installs
    extra: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.reference != BUNDLED and not self.reference_id:
            raise ValueError("a reference folder needs an id (--reference-id)")

    @property
    def events_path(self) -> Path:
        return self.run_dir / "events.jsonl"

    @property
    def package_dir(self) -> Path:
        """The package as trained, before it is named and installed."""
        return self.run_dir / "package"

    def args(self, *, resume: bool = False) -> list[str]:
        """Arguments after ``xray-harmonizer train site``."""
        a = [str(self.site), "--method", self.method, "--preset", self.preset,
             "--device", self.device, "--holdout", f"{self.holdout:g}", "--seed", str(self.seed),
             "--run-dir", str(self.run_dir)]
        if self.reference != BUNDLED:
            a += ["--reference", str(self.reference), "--reference-id", str(self.reference_id)]
        elif self.reference_images is not None and self.method != "histogram":
            a += ["--reference-images", str(self.reference_images)]
        for flag, value in (("--name", self.name), ("--labels", self.labels),
                            ("--steps", self.steps),
                            ("--preview-every", self.preview_every or None)):
            if value is not None:
                a += [flag, str(value)]
        if self.min_images != 20:
            a += ["--min-images", str(self.min_images)]
        if self.train_only:
            a.append("--train-only")
        if resume:
            a.append("--resume")
        return a + list(self.extra)

    def command_line(self, *, resume: bool = False) -> str:
        """The equivalent command a user can type (what the wizard shows)."""
        return " ".join(shlex.quote(x) for x in ["xray-harmonizer", "train", "site",
                                                  *self.args(resume=resume)])

    def with_(self, **changes: Any) -> "FitRequest":
        return replace(self, **changes)


def spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen:
    """Start ``cmd`` the cheap way. A GUI process is large (Qt, onnxruntime sessions); a plain
    fork copies its page tables while holding the GIL, which stalled the UI 60-250 ms here.
    Without close_fds/cwd/new session, CPython uses posix_spawn (vfork-like, no copy); our
    descriptors are non-inheritable anyway (PEP 446). The training is one process (no
    grandchildren), so signals to its pid reach all of it."""
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, close_fds=False, **kwargs)


def read_events(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines of ``path`` after byte ``offset``; returns them and the new offset
    (a line still being written is left for the next call)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a kill mid-write: skip it, the next one is whole
    return events, offset + end


def interrupted_step(run_dir: Path) -> int | None:
    """Step of the last checkpoint of a run that did not finish (None: nothing to resume)."""
    if not (run_dir / "checkpoint.pt").is_file() or (run_dir / "package" / "manifest.json").is_file():
        return None
    events, _ = read_events(run_dir / "events.jsonl")
    steps = [e["step"] for e in events if e.get("event") == "checkpoint"]
    return max(steps) if steps else 0


class TrainProcess:
    """``train site`` in a child process. Non-blocking: poll :meth:`events` and :meth:`poll`."""

    def __init__(self, request: FitRequest, *, resume: bool = False,
                 python: str = sys.executable) -> None:
        self.request = request
        self.resume = resume
        request.run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            request.events_path.unlink(missing_ok=True)
        self._offset = request.events_path.stat().st_size if request.events_path.is_file() else 0
        self.log_path = request.run_dir / "train.log"
        self.paused = False
        cmd = [python, "-m", "xray_harmonizer.cli", "train", "site",
               *request.args(resume=resume), "--no-progress", "--nice", str(NICE)]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
               "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "ab")
        self.proc = spawn(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def events(self) -> list[dict[str, Any]]:
        """Events written since the last call."""
        new, self._offset = read_events(self.request.events_path, self._offset)
        return new

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None and not self._log.closed:
            self._log.close()
        return code

    def pause(self) -> None:
        if self.proc.poll() is None and not self.paused:
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def unpause(self) -> None:
        if self.proc.poll() is None and self.paused:
            self.proc.send_signal(signal.SIGCONT)
            self.paused = False

    def cancel(self) -> None:
        """Kill at once (the checkpoint on disk is always whole: written atomically)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.poll()

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
