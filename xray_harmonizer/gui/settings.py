"""Persistent user settings (QSettings): model folder, working resolution, GPU, theme, recents."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from PySide6.QtCore import QSettings

MAX_RECENT = 8


@dataclass(frozen=True)
class AppSettings:
    """What the user can change in Settings; saved on every change."""

    model_folder: str = ""  # extra folder searched for model packages ("" = only the defaults)
    working_size: int = 0  # neural generalizers' working resolution (0 = the package's own)
    use_gpu: bool = True
    theme: str = "dark"  # "dark" (reading rooms) or "light"
    auto_harmonize: bool = False
    show_patient_name: bool = False  # identity stays off screen unless the user opts in
    deidentify_dicom: bool = False  # DICOM export / PACS send apply the PS3.15 Basic Profile
    pacs_host: str = ""  # File > Send to PACS… remembers the last node (widgets/pacs_dialog.py)
    pacs_port: int = 104
    pacs_called_aet: str = "ANY-SCP"
    pacs_calling_aet: str = "XRAY-HARMONIZER"


def _to_bool(value: object) -> bool:
    return value in (True, "true", "1", 1)


class SettingsStore:
    """Reads and writes :class:`AppSettings` and the recent-studies list."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._q = qsettings if qsettings is not None else QSettings("xray-harmonizer",
                                                                    "xray-harmonizer")

    def load(self) -> AppSettings:
        defaults = AppSettings()
        values = {}
        for f in fields(AppSettings):
            raw = self._q.value(f"settings/{f.name}", getattr(defaults, f.name))
            default = getattr(defaults, f.name)
            if isinstance(default, bool):
                values[f.name] = _to_bool(raw)
            elif isinstance(default, int):
                try:
                    values[f.name] = int(raw)
                except (TypeError, ValueError):
                    values[f.name] = default
            else:
                values[f.name] = str(raw)
        if values["theme"] not in ("dark", "light"):
            values["theme"] = "dark"
        return AppSettings(**values)

    def save(self, settings: AppSettings) -> None:
        for key, value in asdict(settings).items():
            self._q.setValue(f"settings/{key}", value)
        self._q.sync()

    def recent(self) -> list[str]:
        raw = self._q.value("recent", [])
        if isinstance(raw, str):
            raw = [raw]
        return [str(p) for p in (raw or [])]

    def add_recent(self, path: str) -> list[str]:
        items = [path] + [p for p in self.recent() if p != path]
        items = items[:MAX_RECENT]
        self._q.setValue("recent", items)
        self._q.sync()
        return items

    def last_folder(self, purpose: str) -> str:
        """The folder a file dialog for ``purpose`` ("open", "export") last used, or ""."""
        value = self._q.value(f"folders/{purpose}", "")
        return str(value) if value else ""

    def set_last_folder(self, purpose: str, folder: str) -> None:
        self._q.setValue(f"folders/{purpose}", str(folder))
        self._q.sync()

    def geometry(self) -> bytes | None:
        value = self._q.value("window/geometry")
        return bytes(value) if value else None

    def save_geometry(self, data: bytes) -> None:
        self._q.setValue("window/geometry", data)
