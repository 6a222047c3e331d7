"""Zipped model packages: extracted once into the user cache, keyed by the zip's sha256.

A zip is unpacked into ``<cache>/packages/<sha256>`` the first time it is used and found there
afterwards (not a new temporary folder per use). Extraction writes into a ``.partial-*`` folder
renamed into place when complete, so a killed extraction never looks like a package; partial
folders older than an hour are removed. Limits: 64 entries, 512 MiB unpacked (counted while
writing, not taken from the zip's own header), and the whole cache is kept under 2 GiB by
removing the least recently used packages. Entries that are links, absolute or climb out with
``..`` are refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from platformdirs import user_cache_path

MAX_ENTRIES = 64
MAX_UNPACKED = 512 << 20
MAX_CACHE = 2 << 30
_STALE_SECONDS = 3600
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The zip cannot be used as a package (one line)."""


def default_cache_dir() -> Path:
    return user_cache_path("xray-harmonizer", appauthor=False) / "packages"


def extracted(path: Path, cache_dir: Path | None = None) -> Path:
    """The folder holding the zip's contents, extracting it into the cache if not there yet."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    digest = _sha256(path)
    target = cache / digest
    if target.is_dir():
        os.utime(target)  # most recently used
        return target
    _remove_stale_partials(cache)
    partial = cache / f".partial-{digest[:16]}-{uuid.uuid4().hex[:8]}"
    try:
        _extract(path, partial)
        try:
            partial.rename(target)
        except OSError:  # another process finished the same zip first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    _trim(cache, keep=target)
    return target


def _extract(path: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ArchiveError(f"zip holds {len(infos)} entries, more than {MAX_ENTRIES}")
            written = 0
            for info in infos:
                name = PurePosixPath(info.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or not name.parts:
                    raise ArchiveError("a zip entry leaves the package folder")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise ArchiveError("zip entry is a symbolic link (refused)")
                out = dest.joinpath(*name.parts)
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "xb") as dst:
                    while block := src.read(_CHUNK):
                        written += len(block)
                        if written > MAX_UNPACKED:
                            raise ArchiveError(f"zip unpacks to more than {MAX_UNPACKED >> 20} MiB")
                        dst.write(block)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise ArchiveError(f"not a readable zip ({type(exc).__name__})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _remove_stale_partials(cache: Path) -> None:
    now = time.time()
    for entry in cache.glob(".partial-*"):
        try:
            if now - entry.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _trim(cache: Path, keep: Path) -> None:
    """Remove least recently used packages until the cache is under MAX_CACHE."""
    entries = []
    for entry in cache.iterdir():
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        size = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
        entries.append((entry.stat().st_mtime, size, entry))
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= MAX_CACHE:
            break
        if entry != keep:
            shutil.rmtree(entry, ignore_errors=True)
            total -= size
