"""A quick start for answering cases: what inference reads of a priors folder, kept beside the engine.

Loading a priors folder validates every file (pydantic) after reading it
(YAML); that and the imports it needs are most of a command-line query's
time. A snapshot keeps, in the engine cache (:mod:`twitchcause.cache`), the
compiled engine and the engines of the random draws that give each
posterior's interval, together with what answering a case reads of the
priors: the vocabulary, the causes, the levels, the escalation rules with
their resolved thresholds, the interval's level, and for what would help the
changes a person can make with the numbers of the exposures and causes they
touch, and display.yaml (how results are worded, how the interview is paced).
It is stored under a hash of everything it was built from: every file of the
priors folder, byte for byte, and every source file of the package (the code
that turns words into numbers), plus the format and the numpy and Python
versions. A changed file or changed code gives another key; a
stored file that is altered fails its content hash: either way the folder is
loaded and validated again and a new snapshot written, never an old one used.

A model restored from a snapshot answers exactly as one loaded from the folder
(tests/test_cache.py compares them); anything else asked of its priors loads
the folder on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import stat
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .cache import default_store
from .files import read_regular

SNAPSHOT_FORMAT = "snapshot-v2"
PRIORS_KEY = "inference_priors"  # the array holding the priors' part, as JSON text
ENSEMBLE_PREFIX = "ensemble:"  # the draws' arrays (twitchcause.model.uncertainty.Ensemble), under this prefix
MAX_FOLDER_FILE_BYTES = 4 * 2**20  # larger files are not priors; such a folder is loaded the slow way
PACKAGES = ("twitchcause", "twitchcause.model", "twitchcause.priors")


# The records a snapshot restores are named tuples: read-only like the frozen dataclasses they were, and
# defined without compiling generated methods at import (seven dataclasses were some 5 ms of a query's start).
class SnapshotVariable(NamedTuple):
    name: str
    question: str
    states: tuple[str, ...]
    state_labels: dict[str, str]


class SnapshotRule(NamedTuple):
    id: str
    level: str
    when: dict[str, list[str]]
    message: str
    if_not_sure: str
    source: str
    quote: str
    unless: dict[str, list[str]]  # every stored rule gives it (inference_data writes every field)


class SnapshotThreshold(NamedTuple):
    id: str
    cause: str
    level: str
    message: str
    source: str
    quote: str
    value: float  # the resolved threshold


class SnapshotEscalation(NamedTuple):
    rules: list[SnapshotRule]
    posterior_thresholds: list[SnapshotThreshold]


class SnapshotSetting(NamedTuple):
    value: float


SnapshotNumber = SnapshotSetting  # a resolved probability: only its value is read


class SnapshotCausePrior(NamedTuple):
    leak: SnapshotNumber
    links: dict[str, dict[str, SnapshotNumber]]


class SnapshotChange(NamedTuple):
    risky: list[str]
    safer: str
    action: str
    source: str
    quote: str


class SnapshotUncertainty:
    """The interval's level; any other setting is read from the folder."""

    def __init__(self, level: float, folder):
        self.level = SnapshotSetting(level)
        self._folder = folder

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._folder().uncertainty, name)


class SnapshotPriors:
    """What inference reads of a priors folder; any other attribute loads and validates the folder first."""

    def __init__(self, directory: Path | None, data: dict):
        self.directory = directory if directory is not None else _default_priors_dir()
        self.fingerprint: str = data["fingerprint"]
        self.causes: dict[str, str] = dict(data["causes"])
        self.variables = {v["name"]: SnapshotVariable(**{**v, "states": tuple(v["states"])}) for v in data["variables"]}
        self.levels: tuple[str, ...] = tuple(data["levels"])
        self.level_descriptions: dict[str, str] = dict(data["level_descriptions"])
        self.escalation = SnapshotEscalation(
            [SnapshotRule(**rule) for rule in data["rules"]],
            [SnapshotThreshold(**rule) for rule in data["thresholds"]],
        )
        self.uncertainty = SnapshotUncertainty(data["interval_level"], lambda: self._folder)
        self.changes = {name: SnapshotChange(**change) for name, change in data["changes"].items()}
        self.context = {
            name: {state: SnapshotNumber(p) for state, p in numbers.items()}
            for name, numbers in data["context"].items()
        }
        self.display: dict = data["display"]
        self.cause_priors = {
            cause: SnapshotCausePrior(
                SnapshotNumber(spec["leak"]),
                {parent: {s: SnapshotNumber(p) for s, p in links.items()} for parent, links in spec["links"].items()},
            )
            for cause, spec in data["cause_priors"].items()
        }

    def threshold(self, threshold) -> float:
        return threshold.value

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._folder, name)

    @property
    def _folder(self):
        folder = self.__dict__.get("_loaded")
        if folder is None:
            from .priors import load_priors

            folder = self.__dict__["_loaded"] = load_priors(self.directory)
        return folder


def inference_data(priors) -> dict:
    """The part of a validated :class:`~twitchcause.priors.Priors` that answering a case reads."""
    return {
        "fingerprint": priors.fingerprint,
        "causes": dict(priors.causes),
        "variables": [
            {"name": name, "question": v.question, "states": list(v.states), "state_labels": dict(v.state_labels)}
            for name, v in priors.variables.items()
        ],
        "levels": list(priors.levels),
        "level_descriptions": dict(priors.level_descriptions),
        "rules": [{field: getattr(rule, field) for field in SnapshotRule._fields} for rule in priors.escalation.rules],
        "thresholds": [
            {
                **{field: getattr(rule, field) for field in SnapshotThreshold._fields if field != "value"},
                "value": priors.threshold(rule),
            }
            for rule in priors.escalation.posterior_thresholds
        ],
        "interval_level": priors.uncertainty.level.value,
        "display": priors.display,
        "changes": {
            name: {field: getattr(change, field) for field in SnapshotChange._fields}
            for name, change in priors.changes.items()
        },
        "context": {name: {s: n.value for s, n in numbers.items()} for name, numbers in priors.context.items()},
        "cause_priors": {
            cause: {
                "leak": spec.leak.value,
                "links": {p: {s: n.value for s, n in links.items()} for p, links in spec.links.items()},
            }
            for cause, spec in priors.cause_priors.items()
        },
    }


@cache
def _source_digest() -> bytes:
    """A hash of every Python source file of the package (computed once per process)."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        for folder in spec.submodule_search_locations or []:
            for path in sorted(Path(folder).glob("*.py")):
                digest.update(f"{package}/{path.name}\0".encode() + path.read_bytes() + b"\0")
    return digest.digest()


def _default_priors_dir() -> Path:
    return Path(importlib.util.find_spec("twitchcause.priors").submodule_search_locations[0])


def snapshot_key(priors_dir: str | Path | None) -> str | None:
    """The key of the snapshot of ``priors_dir`` (None: no snapshot, load the folder the slow way).

    Every regular file of the folder by name and bytes, the package's sources,
    the format and the numpy and Python versions.
    """
    directory = Path(priors_dir) if priors_dir is not None else _default_priors_dir()
    digest = hashlib.sha256(
        f"{SNAPSHOT_FORMAT}\0{np.__version__}\0{platform.python_version()}\0{directory.resolve()}\0".encode()
    )
    try:
        for path in sorted(directory.iterdir()):
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode) or os.path.islink(path):
                return None  # a device, FIFO or link: loading the folder names it
            digest.update(f"{path.name}\0".encode() + read_regular(path, MAX_FOLDER_FILE_BYTES) + b"\0")
    except OSError:
        return None  # a missing, unreadable or oversized file: loading the folder says what is wrong
    digest.update(_source_digest())
    return "snapshot-" + digest.hexdigest()


def _snapshot_arrays(model) -> dict[str, np.ndarray]:
    arrays = model.engine.to_arrays()
    arrays.update({ENSEMBLE_PREFIX + name: array for name, array in model.ensemble.to_arrays().items()})
    arrays[PRIORS_KEY] = np.array(json.dumps(inference_data(model.priors)))
    return arrays


def _restored(arrays: dict[str, np.ndarray], priors_dir: str | Path | None):
    from .model import Model
    from .model.engine import Engine
    from .model.uncertainty import Ensemble

    arrays = dict(arrays)
    draws = {
        name[len(ENSEMBLE_PREFIX) :]: arrays.pop(name) for name in list(arrays) if name.startswith(ENSEMBLE_PREFIX)
    }
    try:
        data = json.loads(str(arrays.pop(PRIORS_KEY)))
        priors = SnapshotPriors(Path(priors_dir) if priors_dir is not None else None, data)
        engine = Engine.from_arrays(arrays)
        states = {name: v.states for name, v in priors.variables.items()}
        if not engine.fits(priors.causes, states):
            return None
        ensemble = Ensemble.from_arrays(engine, draws)
    except (KeyError, TypeError, ValueError):
        return None
    model = Model(priors, engine=engine)
    model.__dict__["ensemble"] = ensemble  # Model.ensemble is a cached property: this is its value
    return model


def load_for_inference(priors_dir: str | Path | None = None):
    """A :class:`~twitchcause.model.Model` for answering cases, from a snapshot when one fits.

    The model answers exactly as :func:`twitchcause.load` would; restored from
    a snapshot, it imports neither pydantic nor YAML until something beyond
    inference is asked of its priors.

    Raises
    ------
    PriorsError
        When the folder has to be loaded and is not valid.
    """
    store = default_store()
    key = snapshot_key(priors_dir) if store is not None else None
    if key is not None:
        arrays = store.load(key)
        if arrays is not None:
            model = _restored(arrays, priors_dir)
            if model is not None:
                return model
    from . import load

    model = load(priors_dir)
    if key is not None and snapshot_key(priors_dir) == key:  # unchanged while it was read
        store.save(key, _snapshot_arrays(model))
    return model


__all__ = ["SnapshotPriors", "inference_data", "load_for_inference", "snapshot_key"]
