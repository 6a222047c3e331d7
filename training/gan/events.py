"""Progress of a training run as JSON lines, for the app's training wizard (and any script).

``train generalizer --events FILE`` appends one JSON object per line, flushed at once, so a
reader in another process sees every line as soon as it is written:

    {"event": "start", "step": 0, "steps": 1500, "device": "cpu", "resumed": false}
    {"event": "step", "step": 10, "steps": 1500, "losses": {"G": 1.2, "D": 0.4, ...},
     "train_seconds": 5.1, "seconds_per_step": 0.5}
    {"event": "preview", "step": 250, "path": ".../previews/heldout-step000250.png"}
    {"event": "checkpoint", "step": 300}
    {"event": "done", "step": 1500, "package": "PACKAGE_DIR"}
    {"event": "interrupted", "step": 412, "checkpoint_step": 400}

No patient data goes into the file: previews are written next to it and named by step.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np


class EventLog:
    """Appends events to ``path`` (nothing when ``path`` is None)."""

    def __init__(self, path: Path | None, every: int = 10) -> None:
        self.path = Path(path) if path is not None else None
        self.every = max(1, int(every))
        self._last_time: float | None = None
        self._last_step = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: str, **fields: Any) -> None:
        if self.path is None:
            return
        record = {"event": event, "time": round(time.time(), 3), **fields}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def step(self, step: int, steps: int, losses: dict[str, float], train_seconds: float) -> None:
        """One ``step`` event every ``every`` steps (and at the last one)."""
        if step % self.every and step != steps:
            return
        rate = None
        if self._last_time is not None and step > self._last_step:
            rate = (train_seconds - self._last_time) / (step - self._last_step)
        self._last_time, self._last_step = train_seconds, step
        self.emit("step", step=step, steps=steps, train_seconds=round(train_seconds, 3),
                  seconds_per_step=None if rate is None else round(rate, 4),
                  losses={k: round(float(v), 5) for k, v in losses.items()})


def translate_preview(generators: Any, image: np.ndarray, device: Any, path: Path) -> Path:
    """Write ``image`` (float32 HxW in [0, 1], at the working size) | its site -> reference
    translation by the current weights, side by side, as an 8-bit PNG (atomically)."""
    import torch
    from PIL import Image

    m = int(generators.multiple)
    img = image[: image.shape[0] // m * m, : image.shape[1] // m * m]
    rng_state = torch.get_rng_state()  # UNIT's sampling must not shift the training draws
    was_training = generators.training
    generators.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(img)[None, None] * 2 - 1).float().to(device)
        y = generators.translate(x)[0, 0].float().cpu().numpy()
    generators.train(was_training)
    torch.set_rng_state(rng_state)
    out = ((y + 1) * 127.5).clip(0, 255).astype(np.uint8)
    canvas = np.concatenate([(img * 255).clip(0, 255).astype(np.uint8), out], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(canvas).save(tmp, format="PNG")
    tmp.replace(path)
    return path
