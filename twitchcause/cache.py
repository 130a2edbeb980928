"""The on-disk store of compiled engines (``twitchcause.load`` uses it).

Engines are stored under the key :func:`twitchcause.model.engine.engine_key`
gives: a hash of the node tables they were compiled from, so a file is only
ever looked up by the numbers it holds. Each file also stores a keyed hash
(HMAC-SHA256) of its own arrays, under a secret kept in the folder readable by
its owner only (``.key``, mode 0600); a file that is unreadable, truncated or
altered, even with a plain hash recomputed to match, is ignored and rebuilt,
never trusted. What the cache holds decides verdicts (the quick start's
escalation rules live there), so a folder that is not the user's own, or that
others may write, is neither read nor written; nor is a file that is a
symlink or belongs to someone else, and pruning removes only the user's own
engine files. ``TWITCHCAUSE_CACHE_DIR`` moves the cache (default: the
platform's user cache folder); ``TWITCHCAUSE_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import hmac
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
CONTENT_HASH = "content_hmac_sha256"
SECRET_FILE = ".key"
SECRET_BYTES = 32


def cache_dir() -> Path:
    if os.environ.get("TWITCHCAUSE_CACHE_DIR"):
        return Path(os.environ["TWITCHCAUSE_CACHE_DIR"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("twitchcause", appauthor=False))


def content_hash(secret: bytes, key: str, arrays: Mapping[str, np.ndarray]) -> str:
    """A keyed hash (HMAC-SHA256 under ``secret``) of the key and of every array's name, dtype, shape and bytes."""
    digest = hmac.new(secret, key.encode() + b"\0", hashlib.sha256)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _own(info: os.stat_result, private: bool = False) -> bool:
    """Whether a file or folder is the user's and no one else may write it (nor read it, if ``private``)."""
    others = 0o077 if private else 0o022
    return info.st_uid == os.geteuid() and not info.st_mode & others


class DiskCache:
    """An :class:`~twitchcause.model.engine.EngineStore` in a folder of ``.npz`` files."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir()

    def path(self, key: str) -> Path:
        return self.directory / f"{PREFIX}{key[:32]}.npz"

    def _usable(self) -> bool:
        """Whether the folder (symlinks followed) is a folder of the user's that no one else may write."""
        try:
            info = os.stat(self.directory)
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and _own(info)

    def _secret(self, create: bool = False) -> bytes | None:
        """The folder's secret, made on first save; None when missing, or readable or writable by others."""
        path = self.directory / SECRET_FILE
        if create and not os.path.lexists(path):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                pass  # another process made it meanwhile
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(os.urandom(SECRET_BYTES))  # what secrets.token_bytes reads, without its import
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _own(info, private=True):
                return None
            secret = handle.read(SECRET_BYTES + 1)
        return secret if len(secret) == SECRET_BYTES else None

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        if not self._usable():
            return None
        secret = self._secret()
        if secret is None:
            return None
        try:
            fd = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES or not _own(info):
                    return None  # a FIFO, device, huge file or someone else's is never read
                data = handle.read(MAX_FILE_BYTES + 1)
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        stored_key = str(arrays.pop("key", ""))
        stored_hash = str(arrays.pop(CONTENT_HASH, ""))
        if stored_key != key or not hmac.compare_digest(stored_hash, content_hash(secret, key, arrays)):
            return None
        return arrays

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        try:
            if not os.path.lexists(self.directory):
                self.directory.mkdir(mode=0o700, parents=True)
            if not self._usable():
                return
            secret = self._secret(create=True)
            if secret is None:
                return
            buffer = io.BytesIO()
            np.savez(buffer, key=np.array(key), **{CONTENT_HASH: np.array(content_hash(secret, key, arrays))}, **arrays)
            atomic_write(self.path(key), buffer.getvalue())
            self._prune()
        except OSError:
            pass  # a read-only or full disk only costs the next start its compile time

    def _prune(self) -> None:
        """Remove the oldest of the user's own engine files beyond :data:`KEEP_FILES` (never a symlink)."""
        files = []
        for path in self.directory.glob(f"{PREFIX}*.npz"):
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
                files.append((info.st_mtime, path))
        for _, old in sorted(files, reverse=True)[KEEP_FILES:]:
            old.unlink(missing_ok=True)


def default_store() -> DiskCache | None:
    """The cache ``twitchcause.load`` uses: None when ``TWITCHCAUSE_NO_CACHE=1``."""
    return None if os.environ.get("TWITCHCAUSE_NO_CACHE") == "1" else DiskCache()
