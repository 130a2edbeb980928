"""Atomic writes: a file or a folder is replaced whole or not at all.

Each writer puts the new content beside the target under a hidden temporary
name and moves it into place with one rename, so a reader (or a process that
dies half-way) sees the old content or the new, never a part. Temporary files
get the mode an ordinary ``open()`` would give (the process umask applies; it
is never changed). This module imports nothing else of twitchcause, so every
layer may use it.

A folder is replaced by exchanging it with its staging folder in one step
(``renameat2(RENAME_EXCHANGE)``; two renames where the file system lacks it),
under a lock beside it (:func:`folder_lock`) that serialises savers. A reader
of several files of a folder checks :func:`folder_identity` before and after
and reads again when a save replaced the folder meanwhile; while a save is
between its two renames (:func:`save_in_progress`) it waits.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# ctypes and shutil are imported by the writers that use them: a command that only reads (``twitchcause
# infer`` from its snapshot) starts without them.

PART = ".part"
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def open_regular(path: str | Path):
    """``path`` opened for binary reading, if it is a regular file (symlinks followed).

    A FIFO is opened without waiting for a writer and refused, as is a device
    or a folder, so a read never hangs or runs without end.

    Raises
    ------
    OSError
        ``IsADirectoryError`` for a folder; ``strerror`` "not a regular file" for anything else that is not one.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_regular`), refused when over ``limit`` bytes."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", str(path))
    return data


def _hidden_name(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{os.urandom(6).hex()}")  # secrets.token_hex, without its import


@contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target``; written by the caller, it replaces ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched.
    While it is in use the temporary file holds a lock, so that
    :func:`remove_stale_parts` tells it from one a killed process left. A
    replaced file keeps its mode (a read-only output stays read-only); a new
    one gets the mode ``open()`` would give.
    """
    target = Path(target)
    temporary = Path(str(_hidden_name(target, "tmp")) + PART)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)  # umask applies
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield temporary
        try:
            replaced = os.stat(target)
        except FileNotFoundError:
            replaced = None
        if replaced is not None and stat.S_ISREG(replaced.st_mode):
            os.chmod(temporary, stat.S_IMODE(replaced.st_mode))
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
        os.close(fd)


def atomic_write(target: str | Path, data: bytes | str, encoding: str = "utf-8") -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_file`)."""
    with atomic_file(target) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data.encode(encoding) if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())


def stale_parts(target: str | Path) -> list[Path]:
    """Temporary files :func:`atomic_file` left beside ``target`` by a process that died (none holds its lock)."""
    target = Path(target)
    stale = []
    for part in sorted(target.parent.glob(f".{target.name}.tmp-*{PART}")):
        try:
            fd = os.open(part, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                stale.append(part)
        except OSError:  # locked: a live writer's
            pass
        finally:
            os.close(fd)
    return stale


def remove_stale_parts_in(folder: str | Path) -> int:
    """Remove the temporary files of :func:`atomic_file` that killed processes left in ``folder``, for any target.

    Only names :func:`atomic_file` gives (``.NAME.tmp-<12 hex digits>.part``)
    are looked at, and only files no live writer holds locked are removed.
    """
    removed = 0
    for part in sorted(Path(folder).glob(f".*.tmp-*{PART}")):
        stem = part.name[: -len(PART)]
        name, _, tag = stem.rpartition(".tmp-")
        if not name.startswith(".") or len(tag) != 12 or any(c not in "0123456789abcdef" for c in tag):
            continue
        removed += remove_stale_parts(part.with_name(name[1:]))
    return removed


def remove_stale_parts(target: str | Path) -> int:
    """Remove :func:`stale_parts` of ``target``; the number removed."""
    removed = 0
    for part in stale_parts(target):
        try:
            part.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def retired_copies(target: str | Path) -> list[Path]:
    """Folders :func:`atomic_folder` moved aside and a killed process did not delete, newest first."""
    target = Path(target)
    found = []
    for path in target.parent.glob(f".{target.name}.old-*"):
        try:
            found.append((path.lstat().st_mtime, path))
        except OSError:
            pass
    return [path for _, path in sorted(found, reverse=True)]


def recover_folder(target: str | Path) -> None:
    """Finish or undo a folder swap a killed process left half-done, and remove its leftovers.

    If ``target`` is missing but a retired copy exists (the process died
    between the two renames of :func:`atomic_folder`), the newest retired copy
    is put back. Staging folders (never complete content) are removed, and
    retired folders once ``target`` is present. Only a writer holding
    :func:`folder_lock` calls it: a reader never renames or deletes.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return
    retired = retired_copies(target)
    if not os.path.lexists(target) and retired:
        os.rename(retired.pop(0), target)
    leftovers = list(parent.glob(f".{target.name}.saving-*"))
    if os.path.lexists(target):
        leftovers += retired
    if leftovers:
        import shutil

        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True)


def lock_path(target: str | Path) -> Path:
    target = Path(target)
    return target.with_name(f".{target.name}.lock")


@contextmanager
def folder_lock(target: str | Path) -> Iterator[None]:
    """Hold the lock of the folder ``target`` (a file beside it, removed on release) while a writer works.

    A waiter that wakes on a lock file already removed (or replaced) opens the
    current one again, so two writers never hold it at once.
    """
    path = lock_path(target)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held = os.fstat(fd)
            current = os.lstat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def save_in_progress(target: str | Path) -> bool:
    """Whether a live writer holds :func:`folder_lock` of ``target`` (without taking it)."""
    try:
        fd = os.open(lock_path(target), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def folder_identity(path: str | Path) -> tuple[int, int, int, int] | None:
    """What changes whenever a save replaces the folder at ``path`` (None when nothing is there).

    A replaced folder is another inode; its change time tells it from a later
    folder that reuses a deleted one's inode number.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_ctime_ns, info.st_mtime_ns


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system or file system cannot."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """A new staging folder beside ``target``; filled by the caller, it replaces ``target`` on success.

    The whole save holds :func:`folder_lock`, so savers of one folder take
    turns and never remove each other's staging folders. The staging folder
    and the old one are exchanged in one step, then the old one deleted;
    without an exchange, the old folder is renamed aside and the staging
    folder renamed into place. A process killed between those two renames
    leaves the old folder complete under a hidden name, which the next save
    puts back (:func:`recover_folder`). On any exception the staging folder is
    removed and ``target`` is untouched.
    """
    import shutil

    target = Path(target)
    with folder_lock(target):
        recover_folder(target)
        staging = _hidden_name(target, "saving")
        staging.mkdir(mode=0o777)  # umask applies, as for mkdir
        try:
            yield staging
            if os.path.lexists(target) and _exchange(staging, target):
                return  # staging now holds the old folder: removed below
            retired = None
            if os.path.lexists(target):
                retired = _hidden_name(target, "old")
                os.rename(target, retired)
            try:
                os.rename(staging, target)
            except BaseException:
                if retired is not None:
                    os.rename(retired, target)
                raise
            if retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
        finally:
            if os.path.lexists(staging):
                shutil.rmtree(staging, ignore_errors=True)
