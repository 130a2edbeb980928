"""Shared fixtures: the packaged model (built once per session) and the shared folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from twitchcause import model

REPO = Path(__file__).resolve().parents[1]


def _shared_folder() -> Path:
    """``<repo>/../shared``; from a git worktree elsewhere, the one beside the main checkout."""
    beside = REPO.parent / "shared"
    if beside.is_dir() or not (REPO / ".git").is_file():
        return beside
    common = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Path(common).parent.parent / "shared" if common else beside


SHARED = _shared_folder()


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    """The project's root folder."""
    return REPO


@pytest.fixture(scope="session", autouse=True)
def fresh_engine_cache(tmp_path_factory):
    """Engines compiled by this run only: a cache left by other code must not stand in for the compiler."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TWITCHCAUSE_CACHE_DIR", str(tmp_path_factory.mktemp("engine-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def loaded_model() -> model.Model:
    """The packaged model with its pgmpy network and compiled engine (slow: build once)."""
    m = model.load()
    _ = m.engine, m.network
    return m


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared`` (style guide, vocabulary, seed documents, vignettes), or skip."""
    if not SHARED.is_dir():
        pytest.skip(f"shared folder {SHARED} is absent")
    return SHARED
