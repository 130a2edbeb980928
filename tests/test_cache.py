"""The on-disk engine cache: a hit gives the same engine; stale or corrupt files are rebuilt."""
from __future__ import annotations

import numpy as np
import pytest

import model
from model.cache import cached_engine, fingerprint


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TWITCHCAUSE_NO_CACHE", raising=False)
    return tmp_path


def _engine(m, calls):
    def build():
        calls.append(1)
        return m.compile()
    return cached_engine(m.priors, m.causes, m._states, build)


def _same(a, b):
    assert a.causes == b.causes and a.states == b.states
    for x, y in zip(a.blocks, b.blocks):
        assert x.variables == y.variables
        np.testing.assert_array_equal(x.table, y.table)


def test_second_load_is_a_hit_with_the_same_engine(cache_dir, loaded_model):
    calls = []
    first = _engine(loaded_model, calls)
    second = _engine(loaded_model, calls)
    assert calls == [1]
    _same(first, second)
    assert len(list(cache_dir.glob("*.npz"))) == 1


@pytest.mark.parametrize("damage", [b"", b"not a zip file", None])
def test_corrupt_cache_is_rebuilt_not_trusted(cache_dir, loaded_model, damage):
    calls = []
    _engine(loaded_model, calls)
    (path,) = cache_dir.glob("*.npz")
    data = path.read_bytes()
    path.write_bytes(damage if damage is not None else data[: len(data) // 2])
    rebuilt = _engine(loaded_model, calls)
    assert calls == [1, 1]
    _same(rebuilt, loaded_model.compile())


def test_changed_priors_get_another_key(loaded_model):
    tuned = model.load().priors
    tuned.raw["scale"] = tuned.raw["scale"].model_copy(
        update={"convention": tuned.raw["scale"].convention.model_copy(update={"name": "other"})})
    assert fingerprint(tuned) != fingerprint(loaded_model.priors)


def test_cache_can_be_turned_off(cache_dir, loaded_model, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_NO_CACHE", "1")
    calls = []
    _engine(loaded_model, calls)
    _engine(loaded_model, calls)
    assert calls == [1, 1] and not list(cache_dir.glob("*.npz"))


def test_other_files_in_the_cache_folder_are_never_pruned(cache_dir, loaded_model):
    mine = [cache_dir / f"data{i}.npz" for i in range(12)]
    for path in mine:
        path.write_bytes(b"user data")
    _engine(loaded_model, [])
    assert all(path.exists() for path in mine)


def test_a_change_of_compiling_code_changes_the_key(loaded_model, tmp_path, monkeypatch):
    import model.cache as cache

    code = tmp_path / "compiler.py"
    code.write_text("one")
    monkeypatch.setattr(cache, "COMPILER_SOURCES", (str(code),))
    before = fingerprint(loaded_model.priors)
    code.write_text("two")
    assert fingerprint(loaded_model.priors) != before
