"""Save a priors folder: keep the files people wrote, change only the entries that moved.

:func:`render` starts from each file's text as it was loaded
(``Priors.texts``). A file whose content did not change is written back byte
for byte. In a file whose entries changed (a tuned or learned number, a
retuned word of the scale) only the text of those entries is replaced: each
entry is found in the YAML node tree, whose nodes know where they start and
end in the text, and its one-line ``{...}`` mapping is rewritten, keeping the
text of every field that did not change. Comments, anchors, key order,
quoting and alignment elsewhere stay as written.

An entry reached through a YAML alias (``dehydration: *shared_block``) is
shared by every alias of it; changing it for one owner first gives that
owner its own copy of the shared block (or, for the owner that holds the
anchor, moves the anchor to the next alias), so the others keep their value.

Whatever cannot be changed in place (a structural change, an alias inside a
list) falls back to writing the whole file from its model, keeping the
file's header comment; every rendered file is checked to load back to
exactly the model it was rendered from.

:func:`save_priors` writes the rendered files to a staging folder beside the
target, loads and checks them there, then swaps the folder in
(:func:`twitchcause.files.atomic_folder`): the target path holds a complete
folder, old or new, at every moment.

Examples
--------
>>> import tempfile
>>> from twitchcause.priors import load_priors, numbers_of, tune_number
>>> base = load_priors()
>>> tuned = tune_number(base, "findings", "cramps -> overexertion -> brief", 0.5, why="example")
>>> with tempfile.TemporaryDirectory() as tmp:
...     saved = save_priors(tuned, f"{tmp}/my_priors")
...     numbers_of(saved) == numbers_of(tuned)
True
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from twitchcause.files import atomic_folder

from . import schema
from .loader import FILES, YAML_LOADER, Priors, PriorsError, load_priors
from .names import EntryName

Edit = tuple[int, int, str]  # replace text[start:end] with the string


# -- the node tree of a file, with where each node is written --------------------------
if getattr(yaml, "__with_libyaml__", False):
    from yaml.cyaml import CParser

    class _Parsed(yaml.composer.Composer, CParser, yaml.resolver.Resolver):
        """libyaml's events composed in Python (ten times faster than the pure-Python parser)."""

        def __init__(self, text: str):
            CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    _Parsed = yaml.SafeLoader


class _Composer(_Parsed):
    """Composes a node tree and records each anchor and each alias with its place in the text."""

    def __init__(self, text: str):
        super().__init__(text)
        self.anchored: dict[int, tuple[str, int, Any]] = {}  # id(node) -> (name, index of '&', key it is under)
        self.aliases: dict[tuple[int, Any], tuple[str, int, int, Any]] = {}  # (parent, key) -> (name, start, end, key)

    def compose_node(self, parent, index):
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if isinstance(event, yaml.AliasEvent):
            self.aliases[_occurrence(parent, index)] = (
                event.anchor,
                event.start_mark.index,
                event.end_mark.index,
                index,
            )
        elif getattr(event, "anchor", None) is not None:
            self.anchored[id(node)] = (event.anchor, event.start_mark.index, index)
        return node


def _occurrence(parent, index) -> tuple[int, Any]:
    return id(parent), index if isinstance(index, int) else id(index)


class _Tree:
    """The node tree of one file's text, for finding an entry and the span of text it occupies."""

    def __init__(self, text: str):
        composer = _Composer(text)
        try:
            self.root = composer.get_single_node()
        finally:
            composer.dispose()
        self.text, self.anchors, self.aliases = text, composer.anchored, composer.aliases
        self.uses: Counter[int] = Counter()
        self._count(self.root)

    def _count(self, node) -> None:
        for _, child in _children(node):
            self.uses[id(child)] += 1
            if self.uses[id(child)] == 1:
                self._count(child)

    def walk(self, where: tuple) -> list[tuple[Any, Any, Any]] | None:
        """``(parent, key node or index, value node)`` for each step of ``where``; None if absent."""
        steps, node = [], self.root
        for part in where:
            for key, child in _children(node):
                if (key == part) if isinstance(key, int) else (isinstance(key, yaml.ScalarNode) and key.value == part):
                    steps.append((node, key, child))
                    node = child
                    break
            else:
                return None
        return steps

    def end(self, node) -> int:
        """Where the text of ``node`` ends: its last scalar or bracket, not the indentation after it."""
        children = _children(node)
        if getattr(node, "flow_style", None) is not False or not children:
            return node.end_mark.index
        key, child = children[-1]
        alias = self.aliases.get(_occurrence(node, key))
        return alias[2] if alias else self.end(child)

    def span(self, parent, key, node) -> tuple[int, int]:
        """The text of ``node`` where it occurs under ``parent`` (``*name`` for an alias)."""
        alias = self.aliases.get(_occurrence(parent, key))
        return (alias[1], alias[2]) if alias else (node.start_mark.index, self.end(node))

    def unshare(self, parent, key, node) -> list[Edit] | None:
        """Edits that give this occurrence of a shared node its own copy; None when not possible."""
        alias = self.aliases.get(_occurrence(parent, key))
        if isinstance(key, int) or id(node) not in self.anchors:
            return None
        name, anchor_at, anchor_key = self.anchors[id(node)]
        if not isinstance(anchor_key, yaml.ScalarNode):  # anchored as a list item or the whole file
            return None
        if alias is not None:
            return [self._copy_at(alias, anchor_key, node, anchor_at, name, keep_anchor=False)]
        later = sorted((a for a in self.aliases.values() if a[0] == name and a[1] > anchor_at), key=lambda a: a[1])
        if not later or isinstance(later[0][3], int):
            return None
        remove_anchor = (_back_over_spaces(self.text, anchor_at), anchor_at + 1 + len(name), "")
        return [self._copy_at(later[0], anchor_key, node, anchor_at, name, keep_anchor=True), remove_anchor]

    def _copy_at(self, alias, anchor_key, node, anchor_at: int, name: str, keep_anchor: bool) -> Edit:
        """Replace the alias ``*name`` by the text of the anchored node, re-indented to its place."""
        _, start, end, alias_key = alias
        content = self.text[anchor_at + 1 + len(name) : self.end(node)]
        mark = f" &{name}" if keep_anchor else ""
        if getattr(node, "flow_style", None) is False and _children(node):  # a block: it starts on the next line
            body = content[content.find("\n") :]  # drop what followed the anchor on its line (a comment)
            shift = alias_key.start_mark.column - anchor_key.start_mark.column
            lines = [_shifted(line, shift) for line in body.split("\n")]
            return _back_over_spaces(self.text, start), end, mark + "\n".join(lines)
        return _back_over_spaces(self.text, start), end, f"{mark} {content.strip()}"


def _children(node) -> list[tuple[Any, Any]]:
    if isinstance(node, yaml.MappingNode):
        return list(node.value)
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


def _back_over_spaces(text: str, index: int) -> int:
    while index > 0 and text[index - 1] == " ":
        index -= 1
    return index


def _shifted(line: str, shift: int) -> str:
    if not line.strip():
        return line
    if shift >= 0:
        return " " * shift + line
    return line[min(-shift, len(line) - len(line.lstrip(" "))) :]


def _applied(text: str, edits: list[Edit]) -> str:
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text


# -- the entries of a file that can change one by one ----------------------------------
def _units(key: str, model: BaseModel) -> dict[EntryName, tuple[tuple, dict]]:
    """Each entry that a change can touch alone: ``{name: (keys in the YAML tree, fields)}``."""
    out: dict[EntryName, tuple[tuple, dict]] = {}

    def put(parts: tuple, where: tuple, value: Any) -> None:
        if value not in schema.DERIVED:
            out[EntryName(key, parts)] = (where, value.model_dump(mode="json", exclude_none=True))

    if key == "context":
        for name, dist in model.root.items():
            for state, entry in dist.items():
                put((name, state), (name, state), entry)
    elif key == "causes":
        for cause, spec in model.root.items():
            put((cause, "leak"), (cause, "leak"), spec.leak)
            for parent, links in spec.links.items():
                for state, entry in links.items():
                    put((cause, parent, state), (cause, "links", parent, state), entry)
    elif key == "findings":
        for name, spec in model.root.items():
            for state, entry in spec.leak.items():
                put((name, "leak", state), (name, "leak", state), entry)
            for cause, dist in spec.causes.items():
                for state, entry in dist.items():
                    put((name, cause, state), (name, "causes", cause, state), entry)
    elif key == "escalation":
        for i, rule in enumerate(model.posterior_thresholds):
            put((rule.id, "threshold"), ("posterior_thresholds", i, "threshold"), rule.threshold)
    elif key == "scale":
        for word, spec in model.words.items():
            put((word,), ("words", word), spec)
    return out


def _value_text(value: Any) -> str:
    text = yaml.dump([_flowed(value)], Dumper=_Dumper, default_flow_style=True, allow_unicode=True, width=1_000_000)
    return text.strip()[1:-1]


def _entry_edit(tree: _Tree, steps, old: dict, new: dict) -> Edit | None:
    """Rewrite the one-line mapping of an entry, keeping the text of the fields that did not change."""
    parent, key, node = steps[-1]
    if not isinstance(node, yaml.MappingNode) or isinstance(key, int):
        return None
    written = {k.value: tree.text[slice(*tree.span(node, k, v))] for k, v in node.value}
    keep = node.flow_style  # a plain scalar of a block mapping may not be valid inside braces
    fields, done = [], set()
    for name in written:
        if name not in new:
            swap = {"word": "p", "p": "word"}.get(name)
            if swap in new and swap not in written:  # a word replaced by a number, or back
                fields.append((swap, _value_text(new[swap])))
                done.add(swap)
            continue
        fields.append((name, written[name] if keep and old.get(name) == new[name] else _value_text(new[name])))
        done.add(name)
    fields += [(name, _value_text(value)) for name, value in new.items() if name not in done]
    flow = "{" + ", ".join(f"{name}: {text}" for name, text in fields) + "}"
    if node.flow_style:
        return node.start_mark.index, node.end_mark.index, flow
    return key.end_mark.index, tree.end(node), f": {flow}"  # a block mapping becomes one line


def _patched(key: str, text: str, old_model: BaseModel, new_model: BaseModel) -> str | None:
    """``text`` with the entries that differ between the two models rewritten; None if not possible."""
    old, new = _units(key, old_model), _units(key, new_model)
    if old.keys() != new.keys() or any(old[n][0] != new[n][0] for n in new):
        return None
    changed = [n for n in new if old[n] != new[n]]
    if not changed:
        return None
    for _ in range(100):  # each round gives one shared block its own copy
        tree = _Tree(text)
        walks = [tree.walk(new[n][0]) for n in changed]
        if any(steps is None for steps in walks):
            return None
        shared = next((step for steps in walks for step in steps if tree.uses[id(step[2])] > 1), None)
        if shared is None:
            edits = [_entry_edit(tree, steps, old[n][1], new[n][1]) for n, steps in zip(changed, walks)]
            return None if any(e is None for e in edits) else _applied(text, edits)
        edits = tree.unshare(*shared)
        if edits is None:
            return None
        text = _applied(text, edits)
    return None


# -- writing a whole file from its model (when it cannot be changed in place) ----------
class _Flow(dict):
    """A mapping written on one line: an entry, a scale word, a rule condition."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)  # list items indented under their key


_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))
_PLAIN_WORDS = {"yes", "no", "on", "off", "true", "false", "y", "n", "null", "~", ""}
ENTRY_FIELDS = set(schema.Entry.model_fields)


def _represent_str(dumper: yaml.SafeDumper, data: str):
    """Names stay plain; sentences, and words YAML would read as booleans, get double quotes."""
    quoted = data.lower() in _PLAIN_WORDS or not data.replace("_", "").replace("-", "").isalnum()
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"' if quoted else None)


_Dumper.add_representer(str, _represent_str)


def _flowed(value: Any, parent_key: str | None = None) -> Any:
    """Mark the small mappings of a dumped file to be written on one line."""
    if isinstance(value, dict):
        small = set(value) <= ENTRY_FIELDS and ("word" in value or "p" in value)
        small = small or set(value) == {"p", "band", "anchor"} or parent_key in ("when", "unless")
        small = small or set(value) == {"cases", "estimator"}
        inner = {k: _flowed(v, k) for k, v in value.items()}
        return _Flow(inner) if small else inner
    if isinstance(value, (list, tuple)):
        return [_flowed(v) for v in value]
    return value


def _header(text: str | None) -> str:
    """The comment block at the top of a file, to keep it in a file written anew."""
    header = []
    for line in (text or "").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    return "\n".join(header) + "\n" if header else ""


def _written_anew(key: str, model: BaseModel) -> str:
    data = _flowed(model.model_dump(mode="python", exclude_defaults=True))
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100_000, default_flow_style=False)
    if key == "findings":  # a blank line between findings, as in the hand-written file
        body = "\n".join(("\n" + line) if i and line[:1].isalpha() else line for i, line in enumerate(body.split("\n")))
    return body


def _as_model(text: str, model: type[BaseModel]) -> BaseModel | None:
    try:
        return model.model_validate(yaml.load(text, Loader=YAML_LOADER))
    except (yaml.YAMLError, ValueError):
        return None


def render(priors: Priors) -> dict[str, str]:
    """The text of every file of a priors folder, ``{file name: text}``.

    Each file is the text it was loaded from (``priors.texts``) with only the
    changed entries rewritten; unchanged files are returned as read.
    """
    texts = {}
    for key, (name, model_type) in FILES.items():
        model: BaseModel = priors.raw[key]
        text = priors.texts.get(name)
        if key == "advice" and text is None and not model.root:
            continue
        if text is not None:
            old = _as_model(text, model_type)
            if old == model:
                texts[name] = text
                continue
            patched = _patched(key, text, old, model) if old is not None else None
            if patched is not None and _as_model(patched, model_type) == model:
                texts[name] = patched
                continue
        texts[name] = _header(text) + _written_anew(key, model)
    return texts


# -- saving ------------------------------------------------------------------------------
def _check_target(directory: Path) -> None:
    above = next((folder for folder in directory.parents if folder.exists()), None)
    if above is not None and not above.is_dir():
        raise PriorsError([f"{directory}: cannot be written ({above} is not a folder)"])
    if directory.exists() and not directory.is_dir():
        raise PriorsError([f"{directory}: exists and is not a folder; expected a priors folder or a new path"])
    if directory.is_dir():
        known = {name for name, _ in FILES.values()}
        strangers = sorted(p.name for p in directory.iterdir() if p.name not in known)
        if strangers:
            raise PriorsError(
                [
                    f"{directory}: holds files that are not priors files ({', '.join(strangers)}); "
                    "expected an empty folder, a priors folder or a new path, so nothing is replaced"
                ]
            )


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:  # newline="": the text byte for byte
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def save_priors(priors: Priors, directory: str | Path) -> Priors:
    """Write a priors folder atomically, after validating it; return it as loaded back.

    Steps: render every file (:func:`render`), write them to a staging folder
    beside ``directory``, load that folder and check it holds exactly the
    content of ``priors``, then swap it into place
    (:func:`twitchcause.files.atomic_folder`). A process killed at any moment
    leaves ``directory`` holding the old folder or the new one (where the
    file system cannot exchange two folders in one step, a swap cut between
    its two renames is finished by the next save, which also removes what a
    killed save left behind). Concurrent saves of one folder take turns; a
    load during a save reads the old folder or the new one whole. Saved
    folders get ordinary permissions (the umask applies).

    Parameters
    ----------
    priors : Priors
        For instance from :func:`priors.tune_number`, :func:`priors.tune_word` or :func:`priors.learn`.
    directory : str or Path
        The folder to write. It may exist only as a priors folder (nothing but
        priors files), which is then replaced whole; the packaged folder, which
        holds Python modules, is never replaced.

    Returns
    -------
    Priors
        The saved folder, loaded with :func:`priors.load_priors`.

    Raises
    ------
    PriorsError
        When the written files do not load back to the same content, when
        ``directory`` holds other files or cannot be written. ``directory``
        is left as it was.
    """
    target = Path(directory).resolve()
    try:
        _check_target(target)
        texts = render(priors)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_folder(target) as staging:  # savers of one folder take turns from here
            _check_target(target)  # again: another save may have finished meanwhile, or been recovered
            for name, text in texts.items():
                _write(staging / name, text)
            written = load_priors(staging)
            if written.raw != priors.raw:
                changed = [FILES[k][0] for k in FILES if written.raw[k] != priors.raw[k]]
                raise PriorsError(
                    [f"{target}: written files do not load back to the same content: {', '.join(changed)}"]
                )
    except OSError as exc:
        raise PriorsError([f"{target}: cannot be written ({exc.strerror or exc})"]) from None
    return load_priors(target)


__all__ = ["render", "save_priors"]
