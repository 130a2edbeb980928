"""Shared fixtures: the packaged model (built once per session) and the shared folder."""
from __future__ import annotations

from pathlib import Path

import pytest

import model

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    """The project's root folder."""
    return REPO


@pytest.fixture(scope="session")
def loaded_model() -> model.Model:
    """The packaged model with its pgmpy network and engine built (slow: build once)."""
    m = model.load()
    m.engine  # builds the pgmpy network and compiles it
    return m


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared`` (style guide, vocabulary, seed documents, vignettes), or skip."""
    if not SHARED.is_dir():
        pytest.skip(f"shared folder {SHARED} is absent")
    return SHARED
