"""An on-disk cache of the compiled engine, keyed by the content of the priors.

A hit skips compiling (the priors are still loaded and validated). A cache
file that is stale (other priors, other format) is never looked up, and one
that is unreadable, truncated (zip CRC) or inconsistent is rebuilt.
Set ``TWITCHCAUSE_CACHE_DIR`` to move the cache, or ``TWITCHCAUSE_NO_CACHE=1``
to turn it off.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from priors import Priors

from .engine import Engine

FORMAT = "engine-v1"
PREFIX = "engine-"  # only files named so are read or pruned
COMPILER_SOURCES = ("cpd.py", "network.py", "engine.py")  # the code that turns priors into the engine
KEEP_FILES = 8  # tuned priors each add a file; the oldest beyond this are removed


def cache_dir() -> Path:
    if os.environ.get("TWITCHCAUSE_CACHE_DIR"):
        return Path(os.environ["TWITCHCAUSE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "twitchcause"


def fingerprint(priors: Priors) -> str:
    """A hash of the validated priors as loaded and of the code that compiles them.

    The priors are hashed as validated, not as files, since they may be tuned in
    memory; the compiling modules' sources are hashed so that a change of code
    never meets an engine compiled by the old one.
    """
    digest = hashlib.sha256(FORMAT.encode())
    here = Path(__file__).resolve().parent
    for name in COMPILER_SOURCES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    for key in sorted(priors.raw):
        digest.update(key.encode() + b"\0" + priors.raw[key].model_dump_json().encode() + b"\0")
    return digest.hexdigest()


def _read(path: Path, key: str, causes, states) -> Engine | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["fingerprint"]) != key:
                return None
            engine = Engine.from_arrays(data)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    consistent = (engine.causes == tuple(causes)
                  and engine.states == {k: tuple(v) for k, v in states.items()}
                  and all(b.table.shape[1] == 2 ** len(causes) for b in engine.blocks))
    return engine if consistent else None


def _write(path: Path, key: str, engine: Engine) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, fingerprint=np.array(key), **engine.to_arrays())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    by_age = sorted(path.parent.glob(f"{PREFIX}*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in by_age[KEEP_FILES:]:
        old.unlink(missing_ok=True)


def cached_engine(priors: Priors, causes, states, build: Callable[[], Engine]) -> Engine:
    """The engine for ``priors`` from the cache, or built and stored."""
    if os.environ.get("TWITCHCAUSE_NO_CACHE") == "1":
        return build()
    key = fingerprint(priors)
    path = cache_dir() / f"{PREFIX}{key[:32]}.npz"
    engine = _read(path, key, causes, states)
    if engine is None:
        engine = build()
        try:
            _write(path, key, engine)
        except OSError:
            pass  # a read-only or full disk only costs the next start its compile time
    return engine
