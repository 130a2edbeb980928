"""The on-disk engine cache: keyed on the numbers, verified on load, rebuilt when anything is off."""

from __future__ import annotations

import os

import numpy as np
import pytest

import twitchcause
from twitchcause import model
from twitchcause.cache import DiskCache
from twitchcause.model.engine import engine_key
from twitchcause.model.network import node_tables
from twitchcause.priors import tune_word


class CountingCache(DiskCache):
    def __init__(self, directory):
        super().__init__(directory)
        self.saves = 0

    def save(self, key, arrays):
        self.saves += 1
        super().save(key, arrays)


def _engine(priors, store):
    return model.Model(priors, engine_store=store).engine


def _same(a, b):
    assert a.causes == b.causes and a.states == b.states
    for x, y in zip(a.blocks, b.blocks):
        assert x.variables == y.variables
        np.testing.assert_array_equal(x.table, y.table)


@pytest.fixture
def store(tmp_path):
    return CountingCache(tmp_path)


def test_second_load_is_a_hit_with_the_same_engine(store, loaded_model):
    first = _engine(loaded_model.priors, store)
    second = _engine(loaded_model.priors, store)
    assert store.saves == 1
    _same(first, second)
    assert len(list(store.directory.glob("*.npz"))) == 1


@pytest.mark.parametrize("damage", [b"", b"not a zip file", None])
def test_corrupt_cache_is_rebuilt_not_trusted(store, loaded_model, damage):
    _engine(loaded_model.priors, store)
    (path,) = store.directory.glob("*.npz")
    data = path.read_bytes()
    path.write_bytes(damage if damage is not None else data[: len(data) // 2])
    rebuilt = _engine(loaded_model.priors, store)
    assert store.saves == 2
    _same(rebuilt, loaded_model.compile())


def test_a_tampered_file_that_keeps_its_key_is_rebuilt(store, loaded_model):
    _engine(loaded_model.priors, store)
    (path,) = store.directory.glob("*.npz")
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["table_0"] = arrays["table_0"] + np.log(0.5)  # other numbers, same key and layout
    np.savez(path, **arrays)
    rebuilt = _engine(loaded_model.priors, store)
    assert store.saves == 2
    _same(rebuilt, loaded_model.compile())


def test_how_a_word_becomes_a_number_is_part_of_the_key(store, loaded_model):
    """The key is the numbers themselves, so a change anywhere upstream of them is never served stale."""
    _engine(loaded_model.priors, store)
    tuned = tune_word(loaded_model.priors, "frequent", 0.45, why="test")
    assert engine_key(node_tables(tuned)) != engine_key(node_tables(loaded_model.priors))
    engine = _engine(tuned, store)
    assert store.saves == 2
    _same(engine, model.Model(tuned).compile())


def test_same_numbers_from_another_folder_share_the_key(loaded_model, tmp_path):
    moved = type(loaded_model.priors)(**{**loaded_model.priors.__dict__, "directory": tmp_path})
    assert engine_key(node_tables(moved)) == engine_key(node_tables(loaded_model.priors))


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TWITCHCAUSE_NO_CACHE", "1")
    twitchcause.load().infer({})
    assert not list(tmp_path.glob("*.npz"))


def test_the_default_load_uses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TWITCHCAUSE_NO_CACHE", raising=False)
    twitchcause.load().infer({})
    assert len(list(tmp_path.glob("engine-*.npz"))) == 1


def test_other_files_in_the_cache_folder_are_never_pruned(store, loaded_model):
    mine = [store.directory / f"data{i}.npz" for i in range(12)]
    for path in mine:
        path.write_bytes(b"user data")
    _engine(loaded_model.priors, store)
    assert all(path.exists() for path in mine)


def test_a_fifo_at_the_cache_path_is_not_read(store, loaded_model):
    key = engine_key(node_tables(loaded_model.priors))
    os.mkfifo(store.path(key))
    assert store.load(key) is None
