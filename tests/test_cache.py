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
    arrays["tables"] = arrays["tables"] + np.log(0.5)  # other numbers, same key and layout
    np.savez(path, **arrays)
    rebuilt = _engine(loaded_model.priors, store)
    assert store.saves == 2
    _same(rebuilt, loaded_model.compile())


def test_how_a_word_becomes_a_number_is_part_of_the_key(store, loaded_model):
    """The key is the numbers themselves, so a change anywhere upstream of them is never served stale."""
    _engine(loaded_model.priors, store)
    tuned = tune_word(loaded_model.priors, "may", 0.5, why="test")
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


# -- the snapshot for a quick start (twitchcause.snapshot) ------------------------------------------
CASES = [
    ({}, None, None),
    ({"caffeine_intake": "high", "sleep": "short", "twitch_site": "calf"}, "caffeine", 3),
    ({"weakness": "yes", "diabetes": "yes"}, "neuropathy", None),
    ({"urge_to_move": "yes", "timing": "at_night"}, None, 0),
]


@pytest.fixture
def snapshot_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TWITCHCAUSE_NO_CACHE", raising=False)
    return tmp_path / "cache"


def _snapshots(folder):
    return sorted(folder.glob("engine-snapshot-*.npz"))


def test_a_model_restored_from_a_snapshot_answers_as_a_loaded_one(snapshot_cache, loaded_model):
    from twitchcause.snapshot import SnapshotPriors, load_for_inference

    built = load_for_inference()
    restored = load_for_inference()
    assert len(_snapshots(snapshot_cache)) == 1
    assert isinstance(restored.priors, SnapshotPriors) and not isinstance(built.priors, SnapshotPriors)
    for evidence, cause, n in CASES:
        expected = loaded_model.report(evidence, explain=cause, next=n)
        assert restored.report(evidence, explain=cause, next=n) == expected
        assert built.report(evidence, explain=cause, next=n) == expected
    assert restored.schema() == loaded_model.schema()
    # anything beyond inference loads the folder: the same numbers as a validated load
    assert restored.priors.findings == loaded_model.priors.findings


def test_a_snapshot_start_imports_neither_pydantic_nor_yaml(snapshot_cache):
    import json
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from twitchcause.snapshot import load_for_inference\n"
        "m = load_for_inference()\n"
        "m.report({'caffeine_intake': 'high'}, explain='caffeine', next=2)\n"
        "print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in ('pydantic', 'yaml', 'ruamel'))))\n"
    )
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "pydantic" in json.loads(first.stdout)  # nothing stored yet: the folder was validated
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(second.stdout) == []


def test_a_changed_priors_file_is_never_served_from_an_old_snapshot(snapshot_cache, tmp_path):
    import shutil

    from twitchcause.priors import DEFAULT_DIR
    from twitchcause.snapshot import load_for_inference, snapshot_key

    folder = tmp_path / "priors"
    shutil.copytree(DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    case = {"caffeine_intake": "high"}
    before = load_for_inference(folder).infer(case).posterior
    key = snapshot_key(folder)
    scale = folder / "scale.yaml"
    text = scale.read_text(encoding="utf-8")
    scale.write_text(text + "\n# a comment changes the bytes, so the key\n", encoding="utf-8")
    assert snapshot_key(folder) != key
    causes = folder / "causes.yaml"
    text = causes.read_text(encoding="utf-8")
    assert "word: may" in text
    causes.write_text(text.replace("word: may", "word: rare"), encoding="utf-8")
    after = load_for_inference(folder).infer(case).posterior
    assert after == model.load(folder).infer(case).posterior
    assert after != before


def test_a_tampered_snapshot_is_rebuilt_not_trusted(snapshot_cache, loaded_model):
    from twitchcause.snapshot import PRIORS_KEY, load_for_inference

    load_for_inference()
    (path,) = _snapshots(snapshot_cache)
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    data = str(arrays[PRIORS_KEY]).replace('"see_doctor_promptly"', '"self_care"')
    np.savez(path, **{**arrays, PRIORS_KEY: np.array(data)})  # same key, other rules: the content hash fails
    evidence = {"weakness": "yes"}
    assert load_for_inference().infer(evidence).escalation == loaded_model.infer(evidence).escalation
    with np.load(path) as stored:
        assert str(stored[PRIORS_KEY]) != data  # written again from the folder


def test_the_package_code_is_part_of_the_snapshot_key(monkeypatch):
    from twitchcause import snapshot

    key = snapshot.snapshot_key(None)
    monkeypatch.setattr(snapshot, "_source_digest", lambda: b"other code")
    assert snapshot.snapshot_key(None) != key


# -- a cache someone else can write is never trusted ---------------------------------------------------
def _unkeyed_hash(key: str, arrays) -> str:
    """A plain SHA-256 of the key and arrays: what anyone who can write the folder can compute."""
    import hashlib

    digest = hashlib.sha256(key.encode() + b"\0")
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def test_a_forged_snapshot_with_a_recomputed_hash_changes_no_verdict(snapshot_cache, loaded_model):
    from twitchcause.cache import CONTENT_HASH
    from twitchcause.snapshot import PRIORS_KEY, load_for_inference

    evidence = {"weakness": "yes", "muscle_wasting": "yes"}
    assert load_for_inference().infer(evidence).escalation.level == "see_doctor_promptly"
    (path,) = _snapshots(snapshot_cache)
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    key = str(arrays.pop("key"))
    arrays.pop(CONTENT_HASH)
    arrays[PRIORS_KEY] = np.array(str(arrays[PRIORS_KEY]).replace('"see_doctor_promptly"', '"self_care"'))
    np.savez(path, key=np.array(key), **{CONTENT_HASH: np.array(_unkeyed_hash(key, arrays))}, **arrays)
    restored = load_for_inference()
    assert restored.infer(evidence).escalation.level == "see_doctor_promptly"
    assert restored.priors.fingerprint == loaded_model.priors.fingerprint


@pytest.mark.parametrize("mode", [0o777, 0o772, 0o757])
def test_a_cache_folder_others_can_write_is_neither_read_nor_written(store, loaded_model, mode):
    _engine(loaded_model.priors, store)
    key = engine_key(node_tables(loaded_model.priors))
    assert store.load(key) is not None
    store.directory.chmod(mode)
    assert store.load(key) is None
    before = sorted(p.name for p in store.directory.iterdir())
    store.save("another key", {"a": np.zeros(2)})
    assert sorted(p.name for p in store.directory.iterdir()) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_cache_folder_of_another_user_is_neither_read_nor_pruned(tmp_path, loaded_model):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    files = [theirs / f"engine-{i:032x}.npz" for i in range(12)]
    for path in files:
        path.write_bytes(b"their engine")
    os.chown(theirs, 12345, 12345)
    (tmp_path / "cache").symlink_to(theirs)  # a cache folder linked to another user's
    store = CountingCache(tmp_path / "cache")
    _engine(loaded_model.priors, store)
    assert all(path.exists() for path in files) and len(list(theirs.iterdir())) == 12


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_files_of_another_user_in_the_cache_folder_are_never_pruned(store, loaded_model):
    theirs = [store.directory / f"engine-{i:032x}.npz" for i in range(12)]
    for path in theirs:
        path.write_bytes(b"their engine")
        os.chown(path, 12345, 12345)
    _engine(loaded_model.priors, store)
    assert all(path.exists() for path in theirs)


def test_a_symlink_in_the_cache_folder_is_neither_read_nor_pruned(store, loaded_model, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "precious.npz"
    elsewhere.write_bytes(b"not an engine")
    key = engine_key(node_tables(loaded_model.priors))
    for i in range(12):
        (store.directory / f"engine-link{i:027x}.npz").symlink_to(elsewhere)
    store.path(key).symlink_to(elsewhere)
    assert store.load(key) is None
    _engine(loaded_model.priors, store)
    assert elsewhere.read_bytes() == b"not an engine"
