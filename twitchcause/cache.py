"""The on-disk store of compiled engines (``twitchcause.load`` uses it).

Engines are stored under the key :func:`twitchcause.model.engine.engine_key`
gives: a hash of the node tables they were compiled from, so a file is only
ever looked up by the numbers it holds. Each file also stores a hash of its own
arrays; a file that is unreadable, truncated or altered is ignored and
rebuilt, never trusted. ``TWITCHCAUSE_CACHE_DIR`` moves the cache (default: the
platform's user cache folder); ``TWITCHCAUSE_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .files import atomic_write

PREFIX = "engine-"  # only files named so are read or pruned
KEEP_FILES = 8  # tuned priors each add a file; the oldest beyond this are removed
MAX_FILE_BYTES = 64 * 2**20  # a compiled engine is about 2 MB; anything far larger is not one of ours
CONTENT_HASH = "content_sha256"


def cache_dir() -> Path:
    if os.environ.get("TWITCHCAUSE_CACHE_DIR"):
        return Path(os.environ["TWITCHCAUSE_CACHE_DIR"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("twitchcause", appauthor=False))


def content_hash(key: str, arrays: Mapping[str, np.ndarray]) -> str:
    """A hash of the key and of every array's name, dtype, shape and bytes."""
    digest = hashlib.sha256(key.encode() + b"\0")
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class DiskCache:
    """An :class:`~twitchcause.model.engine.EngineStore` in a folder of ``.npz`` files."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir()

    def path(self, key: str) -> Path:
        return self.directory / f"{PREFIX}{key[:32]}.npz"

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.path(key)
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                return None  # a FIFO, device or huge file is never read
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        stored_key = str(arrays.pop("key", ""))
        stored_hash = str(arrays.pop(CONTENT_HASH, ""))
        if stored_key != key or stored_hash != content_hash(key, arrays):
            return None
        return arrays

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, key=np.array(key), **{CONTENT_HASH: np.array(content_hash(key, arrays))}, **arrays)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path(key), buffer.getvalue())
            self._prune()
        except OSError:
            pass  # a read-only or full disk only costs the next start its compile time

    def _prune(self) -> None:
        files = [p for p in self.directory.glob(f"{PREFIX}*.npz") if p.is_file()]
        by_age = sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)
        for old in by_age[KEEP_FILES:]:
            old.unlink(missing_ok=True)


def default_store() -> DiskCache | None:
    """The cache ``twitchcause.load`` uses: None when ``TWITCHCAUSE_NO_CACHE=1``."""
    return None if os.environ.get("TWITCHCAUSE_NO_CACHE") == "1" else DiskCache()
