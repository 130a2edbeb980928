"""Change priors: every change gives a new, validated :class:`Priors`.

A number is named by an :class:`~priors.names.EntryName`, as
:func:`priors.iter_entries` names it: a file key (``context``, ``causes``,
``findings``, ``escalation``) and an entry path such as
``"cramps -> overexertion -> brief"``; the functions also take the name's text or
``(file key, path)``. A change keeps the entry's citation (source and quote,
or assumption) and records why the number moved: ``tuned`` for a hand change,
``learned`` for a number estimated from cases. A word of the verbal scale can
be retuned too, which moves every number resting on it. Saving is
:func:`priors.save_priors` (:mod:`priors.saving`).

Examples
--------
>>> from twitchcause.priors import load_priors
>>> base = load_priors()
>>> tuned = tune_number(base, "findings", "cramps -> overexertion -> brief", 0.5,
...                     why="example: exercise cramps read as common")
>>> tuned.findings["cramps"].causes["overexertion"]["brief"].value
0.5
>>> base.findings["cramps"].causes["overexertion"]["brief"].value   # the old one is untouched
0.6
>>> tune_word(base, "rare", 0.03, why="example").scale.words["rare"].p
0.03
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import schema
from .loader import FILES, Priors, PriorsError, _build, _pydantic_problems, did_you_mean
from .names import EntryName

TUNABLE = ("context", "causes", "findings", "escalation")
ENTRY_FIELDS = set(schema.Entry.model_fields)
TUNED_MARK = " [tuned: "  # how a retuned word notes why in its anchor


# -- naming numbers ---------------------------------------------------------------
def _file(priors: Priors, key: str) -> Path:
    return priors.directory / FILES[key][0]


def entry_name(priors: Priors, key: str | EntryName | tuple, path: str | tuple | None = None) -> EntryName:
    """The :class:`EntryName` of a number given as a name, ``"file: a -> b"``, ``(file, path)`` or file and path.

    Raises
    ------
    PriorsError
        When it is not a name, or its file is not a file of numbers.
    """
    try:
        name = EntryName.of(key, path)
    except (TypeError, ValueError) as exc:
        raise PriorsError([f"{priors.directory}: {exc}"]) from None
    if name.file not in TUNABLE:
        raise PriorsError(
            [
                f"{priors.directory}: '{name.file}' is not a file of numbers; expected one of "
                f"{', '.join(TUNABLE)}{did_you_mean(name.file, TUNABLE)}"
            ]
        )
    return name


def _locate(priors: Priors, data: dict, name: EntryName) -> tuple[dict, str]:
    """The container holding the entry ``name`` in a dumped file, and the key in it."""
    where = _file(priors, name.file)
    parts, path = name.parts, name.path
    if name.file == "escalation":
        rules = {rule["id"]: rule for rule in data.get("posterior_thresholds", [])}
        if parts[0] not in rules:
            raise PriorsError(
                [
                    f"{where}: {path}: no posterior threshold '{parts[0]}'; expected one of "
                    f"{', '.join(rules)}{did_you_mean(parts[0], rules)}"
                ]
            )
        if parts[1:] != ("threshold",):
            raise PriorsError([f"{where}: {path}: expected '{EntryName('escalation', (parts[0], 'threshold')).path}'"])
        return rules[parts[0]], "threshold"

    def children(depth: int, node: dict) -> dict:
        """What the part at ``depth`` is looked up in, given the node reached so far."""
        if depth == 1 and name.file == "causes" and parts[1] != "leak":
            return node.get("links", {})
        if depth == 1 and name.file == "findings":
            return {"leak": node.get("leak", {}), **node.get("causes", {})}
        return node

    size = {"context": 2, "findings": 3}.get(name.file, 2 if parts[1:2] == ("leak",) else 3)
    if len(parts) != size:
        raise PriorsError(
            [
                f"{where}: {path}: does not name one number; expected a path of {size} parts, "
                "as priors.iter_entries names them"
            ]
        )
    node: Any = data
    for depth, part in enumerate(parts):
        node = children(depth, node)
        if part not in node:
            under = f" under '{EntryName(name.file, parts[:depth]).path}'" if depth else ""
            raise PriorsError(
                [
                    f"{where}: {path}: no '{part}'{under}; expected one of "
                    f"{', '.join(map(str, node))}{did_you_mean(part, node)}"
                ]
            )
        if depth < len(parts) - 1:
            node = node[part]
    if node[parts[-1]] in schema.DERIVED:
        raise PriorsError(
            [
                f"{where}: {path}: this state is '{node[parts[-1]]}' (derived from the others); "
                "change the other states of its distribution instead"
            ]
        )
    return node, parts[-1]


# -- changing numbers -------------------------------------------------------------
def _with_entries(priors: Priors, key: str, changes: Mapping[EntryName, dict]) -> Priors:
    """A new Priors with the entries ``changes`` (name -> new entry fields) of one file replaced."""
    data = priors.raw[key].model_dump(mode="python", exclude_none=True)
    where = _file(priors, key)
    for name, fields in changes.items():
        container, last = _locate(priors, data, name)
        try:
            schema.Entry.model_validate(fields)
        except ValidationError as exc:
            raise PriorsError(
                [f"{where}: {name.path}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
            ) from None
        container[last] = fields
    try:
        new_file = FILES[key][1].model_validate(data)
    except ValidationError as exc:
        raise PriorsError(_pydantic_problems(where, exc)) from None
    return _build(priors.directory, {**priors.raw, key: new_file}, priors.texts)


def _entry_fields(priors: Priors, name: EntryName) -> dict:
    data = priors.raw[name.file].model_dump(mode="python", exclude_none=True)
    container, last = _locate(priors, data, name)
    return dict(container[last])


def _grounds(fields: dict) -> dict:
    return {k: fields[k] for k in ("source", "quote", "assumption", "reconciles") if k in fields}


def tune(priors: Priors, changes: Mapping[EntryName | str | tuple[str, str], float | str], why: str) -> Priors:
    """Set several numbers at once (all or none), each to a word of the scale or an explicit p.

    Use it when numbers of one distribution move together, so that no
    intermediate step breaks its sum.

    Parameters
    ----------
    priors : Priors
        Left unchanged.
    changes : mapping
        ``{name: value}``, a name being an :class:`EntryName`, its text
        ``"file: a -> b"`` or ``(file key, entry path)``; a str value is a word of
        ``scale.yaml``, a float an explicit probability in (0, 1).
    why : str
        Recorded as the entry's ``tuned`` note.

    Returns
    -------
    Priors
        A new, validated Priors.

    Raises
    ------
    PriorsError
        Naming the file and entry, e.g. ``.../findings.yaml: cramps -> overexertion -> brief:
        probability 1.3 is outside (0, 1)``; nothing is changed.
    """
    if not str(why).strip():
        raise PriorsError([f"{priors.directory}: a tuned number needs a reason ('why' is empty)"])
    by_file: dict[str, dict[EntryName, dict]] = {}
    for given, value in changes.items():
        name = entry_name(priors, given)
        fields = _grounds(_entry_fields(priors, name))
        if isinstance(value, str):
            fields = {"word": value, **fields}
        else:
            fields = {"p": float(value), **fields}
        by_file.setdefault(name.file, {})[name] = {**fields, "tuned": str(why)}
    result = priors
    for key, file_changes in by_file.items():
        result = _with_entries(result, key, file_changes)
    return result


def tune_number(priors: Priors, key: str, path: str, value: float | str, why: str) -> Priors:
    """Set one number to a word of the scale (str) or an explicit probability (float).

    The entry keeps its citation and gets ``tuned: why``. See :func:`tune`.

    Parameters
    ----------
    priors : Priors
        Left unchanged.
    key : str
        ``context``, ``causes``, ``findings`` or ``escalation``.
    path : str or sequence of str
        The entry path as :func:`priors.iter_entries` names it (``"a -> b -> c"``) or its parts.
    value : float or str
    why : str

    Returns
    -------
    Priors

    Raises
    ------
    PriorsError
        Naming file and entry when the path is unknown or the value invalid.

    Examples
    --------
    >>> from twitchcause.priors import load_priors
    >>> p = tune_number(load_priors(), "causes", "caffeine -> leak", "rare", why="example")
    >>> p.cause_priors["caffeine"].leak.value, p.cause_priors["caffeine"].leak.entry.tuned
    (0.04, 'example')
    """
    return tune(priors, {entry_name(priors, key, path): value}, why)


def learn(
    priors: Priors, values: Mapping[EntryName | str | tuple[str, str], float], cases: int, estimator: str
) -> Priors:
    """Set numbers estimated from cases: each becomes ``p`` with ``learned: {cases, estimator}``.

    Citations are kept; a previous ``tuned`` note is dropped (the number is now
    the learned one).

    Parameters
    ----------
    priors : Priors
        Left unchanged.
    values : mapping
        ``{name: probability}``, names as :func:`tune` takes them.
    cases : int
        How many cases the numbers were learned from.
    estimator : str
        How, e.g. ``"pgmpy BayesianEstimator (dirichlet, ess=50)"``.

    Returns
    -------
    Priors

    Raises
    ------
    PriorsError
        Naming file and entry.
    """
    by_file: dict[str, dict[EntryName, dict]] = {}
    for given, value in values.items():
        name = entry_name(priors, given)
        fields = _grounds(_entry_fields(priors, name))
        by_file.setdefault(name.file, {})[name] = {
            "p": float(value),
            **fields,
            "learned": {"cases": int(cases), "estimator": str(estimator)},
        }
    result = priors
    for key, file_changes in by_file.items():
        result = _with_entries(result, key, file_changes)
    return result


def tune_word(priors: Priors, word: str, p: float, why: str, band: tuple[float, float] | None = None) -> Priors:
    """Give a word of the verbal scale a new value; every number resting on it moves.

    The word's ``anchor`` gets a ``[tuned: why]`` note (the scale has no
    other place for it).

    Parameters
    ----------
    priors : Priors
        Left unchanged.
    word : str
        A word of ``scale.yaml``.
    p : float
        Its new value, in (0, 1).
    why : str
    band : (float, float), optional
        A new plausible range; by default the old one, which must then hold ``p``.

    Returns
    -------
    Priors

    Raises
    ------
    PriorsError
        Naming ``scale.yaml`` and the word: unknown word, ``p`` outside its band,
        or a distribution whose words now leave nothing for its ``rest`` state.

    Examples
    --------
    >>> from twitchcause.priors import load_priors
    >>> p = tune_word(load_priors(), "seldom", 0.09, why="example")
    >>> p.cause_priors["restless_legs"].leak.value
    0.09
    """
    where = _file(priors, "scale")
    words = priors.scale.words
    if word not in words:
        raise PriorsError(
            [f"{where}: {word}: not a word of the scale; expected one of {', '.join(words)}{did_you_mean(word, words)}"]
        )
    if not str(why).strip():
        raise PriorsError([f"{where}: {word}: a tuned word needs a reason ('why' is empty)"])
    old = words[word]
    anchor = old.anchor.split(TUNED_MARK)[0] + f"{TUNED_MARK}{why}]"
    fields = {"p": float(p), "band": tuple(band) if band is not None else old.band, "anchor": anchor}
    try:
        new_word = schema.ScaleWord.model_validate(fields)
    except ValidationError as exc:
        raise PriorsError(
            [f"{where}: words -> {word}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        ) from None
    scale = priors.scale.model_copy(update={"words": {**words, word: new_word}})
    return _build(priors.directory, {**priors.raw, "scale": scale}, priors.texts)


__all__ = ["entry_name", "learn", "tune", "tune_number", "tune_word"]
