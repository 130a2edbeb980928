"""Load a priors folder, validate it whole, and resolve every word to a number.

Every problem found is reported as ``file: entry: what is wrong`` so that a
broken folder can be mended in one pass; :class:`PriorsError` carries them all.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from twitchcause.files import folder_identity, read_regular, retired_copies, save_in_progress

from . import schema
from .names import EntryName

DEFAULT_DIR = Path(__file__).resolve().parent
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: same result, faster


# A file's node count with every alias written out: the packaged files hold under 1,200 nodes, and
# a 1 MB file without aliases at most a few hundred thousand. Validation visits each occurrence of
# an aliased node, so a small file of nested aliases (a "billion laughs") would take minutes and
# gigabytes: it is refused before anything is built from it.
MAX_EXPANDED_NODES = 200_000


class KeyProblem(yaml.YAMLError):
    """A mapping key or value YAML cannot make a name or a value of; ``line`` counts from 1."""

    def __init__(self, message: str, mark):
        self.message, self.line = message, mark.line + 1
        super().__init__(message)


class YAML_LOADER(_BASE_LOADER):
    """Safe loading where every key is a name, given once (YAML would silently keep the last).

    A file whose aliases expand past :data:`MAX_EXPANDED_NODES` nodes, or refer
    to themselves, is refused before anything is built from it; a scalar its
    tag cannot read (``2024-02-30``, ``!!bool maybe``, an integer of thousands
    of digits) is a :class:`KeyProblem` naming its line, never an exception of
    the constructor.
    """

    def construct_document(self, node):
        _check_expanded_size(node)
        return super().construct_document(node)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise KeyProblem(_unreadable_scalar(node, exc), node.start_mark) from None


def _unreadable_scalar(node, exc: Exception) -> str:
    tag = node.tag.removeprefix("tag:yaml.org,2002:")
    value = str(node.value) if isinstance(node, yaml.ScalarNode) else f"a {type(node).__name__}"
    shown = value if len(value) <= 40 else f"{value[:37]}... ({len(value):,} characters)"
    if tag == "int" and isinstance(exc, ValueError) and len(value) > 100:
        return f"the number {shown} is too long to read; a priors number is a probability"
    reason = f" ({str(exc).splitlines()[0][:80]})" if isinstance(exc, ValueError) and str(exc) else ""
    return f"'{shown}' is not a valid {tag}{reason}; quote it if it is text"


def _check_expanded_size(root) -> None:
    """Refuse a node tree whose aliases expand past :data:`MAX_EXPANDED_NODES`, or that contains itself."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            on_path.discard(id(node))
            sizes[id(node)] = size = 1 + sum(sizes[id(child)] for child in _child_nodes(node))
            if size > MAX_EXPANDED_NODES:
                raise KeyProblem(
                    f"its aliases expand to more than {MAX_EXPANDED_NODES:,} values; a priors file holds a few "
                    "thousand (write the shared entries out, or alias fewer of them)",
                    node.start_mark,
                )
            continue
        if id(node) in sizes:
            continue
        if id(node) in on_path:
            raise KeyProblem("an alias refers to the entry that holds it", node.start_mark)
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in _child_nodes(node) if id(child) not in sizes)


def _child_nodes(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _written(loader, node) -> str:
    """A key as it was written, on one line (a list or mapping key shown in flow style)."""
    if isinstance(node, yaml.ScalarNode):
        return node.value
    text = yaml.dump(loader.construct_object(node, deep=True), default_flow_style=True, width=80).strip()
    return text if len(text) <= 60 else text[:57] + "..."


def _mapping_of_names(loader, node):
    seen = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
            raise KeyProblem(f"key {_written(loader, key_node)} is a {kind}; expected a name", key_node.start_mark)
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            read_as = {True: "true", False: "false", None: "null"}.get(key, f"the {type(key).__name__} {key}")
            raise KeyProblem(
                f'key {key_node.value} is read by YAML as {read_as}, not a name; quote it: "{key_node.value}"',
                key_node.start_mark,
            )
        if key in seen:
            raise KeyProblem(f"key '{key}' is given twice in one mapping", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


YAML_LOADER.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_of_names)
SUM_TOLERANCE = 1e-9
SHOWN_PROBLEMS = 50  # a folder broken in thousands of places lists the first ones and a count
MAX_FILE_BYTES = 1_000_000  # the packaged files are under 100 kB; reading and checking 1 MB takes about a second
MAX_DOCUMENT_BYTES = 10_000_000  # a source document is an article of some tens of kB
# A folder replaced by a save while it is read is read again: a save takes about a second, so
# this many reads a short pause apart outlast several saves in a row.
READ_ATTEMPTS = 200
READ_PAUSE_SECONDS = 0.02

FILES = {
    "vocabulary": ("vocabulary.yaml", schema.VocabularyFile),
    "sources": ("sources.yaml", schema.SourcesFile),
    "scale": ("scale.yaml", schema.ScaleFile),
    "context": ("context.yaml", schema.ContextFile),
    "causes": ("causes.yaml", schema.CausesFile),
    "findings": ("findings.yaml", schema.FindingsFile),
    "escalation": ("escalation.yaml", schema.EscalationFile),
    "advice": ("advice.yaml", schema.AdviceFile),
    "display": ("display.yaml", schema.DisplayFile),
    "uncertainty": ("uncertainty.yaml", schema.UncertaintyFile),
    "changes": ("changes.yaml", schema.ChangesFile),
    "followup": ("followup.yaml", schema.FollowupFile),
    "text": ("text.yaml", schema.TextFile),
}


class PriorsError(ValueError):
    """A priors folder that cannot be used; ``problems`` lists every finding.

    The message is one line per problem, the first :data:`SHOWN_PROBLEMS` of
    them and then how many more there are (:attr:`shown`).
    """

    def __init__(self, problems: list[str]):
        self.problems = [_one_line(problem) for problem in problems]
        super().__init__("\n".join(self.shown))

    @property
    def shown(self) -> list[str]:
        more = len(self.problems) - SHOWN_PROBLEMS
        return self.problems[:SHOWN_PROBLEMS] + ([f"... and {more} more problems"] if more > 0 else [])


def _one_line(text: str) -> str:
    """``text`` with control characters (a newline in a key) escaped, so a problem stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def closest(name: str, choices) -> str | None:
    """The choice most like ``name`` (ignoring case), or None when nothing is close."""
    by_folded = {str(c).casefold(): str(c) for c in choices}
    found = difflib.get_close_matches(str(name).casefold(), list(by_folded), n=1, cutoff=0.5)
    return by_folded[found[0]] if found else None


def did_you_mean(name: str, choices) -> str:
    match = closest(name, choices)
    return f" (did you mean '{match}'?)" if match else ""


@dataclass(frozen=True)
class Number:
    """A resolved probability and where it came from."""

    value: float
    entry: schema.Entry | None  # None for a derived state (`rest` or `background`), computed from its siblings
    derived: str | None = None  # schema.REST or schema.BACKGROUND for a derived state

    @property
    def word(self) -> str | None:
        return self.entry.word if self.entry else None


@dataclass(frozen=True)
class Variable:
    name: str
    question: str
    states: tuple[str, ...]
    state_labels: dict[str, str]


@dataclass(frozen=True)
class CausePrior:
    leak: Number
    links: dict[str, dict[str, Number]]


@dataclass(frozen=True)
class FindingPrior:
    combine: str
    leak: dict[str, Number]
    causes: dict[str, dict[str, Number]]


@dataclass
class Priors:
    """A validated priors folder: the raw files and every number resolved."""

    directory: Path
    raw: dict[str, BaseModel]
    causes: dict[str, str]
    variables: dict[str, Variable]
    levels: tuple[str, ...]
    context: dict[str, dict[str, Number]]
    cause_priors: dict[str, CausePrior]
    findings: dict[str, FindingPrior]
    escalation: schema.EscalationFile
    advice: dict[str, list[schema.Advice]] = field(default_factory=dict)
    display: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict, repr=False)  # {file name: text as read}, kept when saving
    followup: Any = None  # priors.followup.Followup: how causes settle over a diary of check-ins

    @property
    def level_descriptions(self) -> dict[str, str]:
        return dict(self.raw["vocabulary"].escalation_levels)

    @property
    def sources(self) -> dict[str, schema.Source]:
        return dict(self.raw["sources"].root)

    @property
    def changes(self) -> dict[str, schema.Change]:
        """The exposures a person can change: risky answers, the safer one, the action and its source."""
        return dict(self.raw["changes"].root)

    @property
    def text(self) -> schema.TextFile:
        """How people say each answer in their own words: phrases, counts and termsets (``text.yaml``)."""
        return self.raw["text"]

    @property
    def uncertainty(self) -> schema.UncertaintyFile:
        return self.raw["uncertainty"]

    @property
    def scale(self) -> schema.ScaleFile:
        return self.raw["scale"]

    def threshold(self, threshold: schema.Threshold) -> float:
        return _word_value(threshold.threshold, self.scale)

    @property
    def fingerprint(self) -> str:
        """A short hash of what decides a result: every resolved number and the escalation rules.

        Two folders with equal fingerprints give the same results, whatever
        their citations, comments or layout; a result can name it next to
        the folder it came from.
        """
        numbers = sorted((str(name), repr(value)) for name, value in numbers_of(self).items())
        rules = self.escalation.model_dump(
            mode="json", include={"rules": {"__all__": {"id", "level", "when", "unless"}}}
        )
        text = json.dumps({"numbers": numbers, "rules": rules}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolved_numbers(priors: Priors) -> dict[EntryName, Number]:
    """Every resolved number of the network with the entry it comes from, derived states included."""
    out: dict[EntryName, Number] = {}
    for name, numbers in priors.context.items():
        for state, number in numbers.items():
            out[EntryName("context", (name, state))] = number
    for cause, spec in priors.cause_priors.items():
        out[EntryName("causes", (cause, "leak"))] = spec.leak
        for parent, links in spec.links.items():
            for state, number in links.items():
                out[EntryName("causes", (cause, parent, state))] = number
    for name, spec in priors.findings.items():
        for owner, numbers in [("leak", spec.leak), *spec.causes.items()]:
            for state, number in numbers.items():
                out[EntryName("findings", (name, owner, state))] = number
    for rule in priors.escalation.posterior_thresholds:
        out[EntryName("escalation", (rule.id, "threshold"))] = Number(priors.threshold(rule), rule.threshold)
    return out


def numbers_of(priors: Priors) -> dict[EntryName, float]:
    """Every resolved number of the network, ``rest`` states included.

    Parameters
    ----------
    priors : Priors

    Returns
    -------
    dict
        ``{EntryName: value}``, e.g. ``{"findings: cramps -> leak -> none": 0.84, ...}`` (a name
        equals its text, so either indexes the dict); two folders give equal dicts exactly when
        they define the same network and thresholds.
    """
    return {name: number.value for name, number in resolved_numbers(priors).items()}


def read_yaml(path: Path, problems: list[str]) -> tuple[str | None, Any]:
    """The text of a priors file and its data; ``(None, None)`` with a problem added when unreadable."""
    try:
        # a FIFO must not block; a symlink could show another file's lines in the problems
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                problems.append(f"{path}: not a regular file")
                return None, None
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            problems.append(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; a priors file is far smaller")
            return None, None
        text = data.decode("utf-8")
        return text, yaml.load(text, Loader=YAML_LOADER)
    except FileNotFoundError:
        problems.append(f"{path}: file is missing")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            problems.append(f"{path}: is a symbolic link; a priors file is read only as a file of its folder")
            return None, None
        problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc})")
    except KeyProblem as exc:
        problems.append(f"{path}: line {exc.line}: {exc.message}")
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}".replace("\n", " "))
    return None, None


_EXPECTED_ENTRY = "expected 'rest', 'background' or an entry such as {word: ..., source: ..., quote: ...}"


def _pydantic_problems(path: Path, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_context=False):
        loc = [
            str(part)
            for part in error["loc"]
            if part not in (schema.REST_TAG, schema.ENTRY_TAG) and not str(part).startswith(("function-", "literal["))
        ]
        where = " -> ".join(loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if schema.REST_TAG in error["loc"]:
            message = f"{_EXPECTED_ENTRY}; got '{_shown(error['input'])}'"
        elif schema.ENTRY_TAG in error["loc"] and error["type"] == "model_type":
            message = f"{_EXPECTED_ENTRY}; got {_shown(error['input'])}"
        lines.append(f"{path}: {where}: {message}")
    return lines


def _shown(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _word_value(entry: schema.Entry, scale: schema.ScaleFile) -> float:
    return entry.p if entry.p is not None else scale.words[entry.word].p


class _Checker:
    """Cross-file checks; collects problems instead of stopping at the first."""

    def __init__(self, directory: Path, raw: dict[str, BaseModel]):
        self.directory = directory
        self.raw = raw
        self.problems: list[str] = []

    def suggest(self, name: str, choices) -> str:
        """A "did you mean" hint for the problems that will be shown (finding one costs time)."""
        return did_you_mean(name, choices) if len(self.problems) < SHOWN_PROBLEMS else ""

    def where(self, key: str) -> Path:
        return self.directory / FILES[key][0]

    def add(self, name: EntryName, problem: str) -> None:
        self.problems.append(f"{self.where(name.file)}: {name.path}: {problem}")

    def entry(self, where: EntryName, entry: schema.Entry) -> None:
        words = self.raw["scale"].words
        if entry.word is not None and entry.word not in words:
            self.add(
                where,
                f"word '{entry.word}' is not in scale.yaml; expected one of "
                f"{', '.join(words)}{self.suggest(entry.word, words)}",
            )
        sources = self.raw["sources"].root
        for source in (entry.source, entry.reconciles.source if entry.reconciles else None):
            if source is not None and source not in sources:
                self.add(
                    where,
                    f"source '{source}' is not in sources.yaml; expected one of "
                    f"{', '.join(sources)}{self.suggest(source, sources)}",
                )

    def states(self, where: EntryName, given, expected: tuple[str, ...]) -> None:
        for state in given:
            if state not in expected:
                self.add(
                    where,
                    f"unknown state '{state}'; expected one of {', '.join(expected)}{self.suggest(state, expected)}",
                )

    def distribution(
        self, where: EntryName, dist: schema.Distribution, states: tuple[str, ...], leak: dict | None = None
    ) -> None:
        """Check one distribution; ``leak`` (a finding's resolved leak) allows ``background`` states."""
        before = len(self.problems)
        self.states(where, dist, states)
        missing = [s for s in states if s not in dist]
        if missing:
            self.add(where, f"state(s) {', '.join(missing)} not covered; every state needs a number or 'rest'")
        rest = [s for s, e in dist.items() if e == schema.REST]
        background = [s for s, e in dist.items() if e == schema.BACKGROUND]
        if len(rest) > 1:
            self.add(where, f"only one state may be 'rest', got {', '.join(rest)}")
        if background and leak is None:
            self.add(where, "'background' is only for a finding's cause rows (it keeps the leak's proportions)")
        if background and rest:
            self.add(where, "use either 'rest' or 'background' states in one distribution, not both")
        entries = {s: e for s, e in dist.items() if e not in schema.DERIVED}
        for state, entry in entries.items():
            self.entry(where.child(state), entry)
        if len(self.problems) > before:
            return
        total = sum(_word_value(e, self.raw["scale"]) for e in entries.values())
        derived = rest or background
        if derived and not total < 1.0:
            self.add(
                where,
                f"the given states sum to {total:.6g}, leaving nothing for '{dist[derived[0]]}' ({', '.join(derived)})",
            )
        if not derived and abs(total - 1.0) > SUM_TOLERANCE:
            self.add(where, f"probabilities sum to {total:.12g}, expected 1 (within {SUM_TOLERANCE})")
        if background and leak is not None and not sum(leak[s].value for s in background) > 0:
            self.add(where, f"the leak gives the background state(s) {', '.join(background)} no probability")


def rebalance(numbers: dict[str, Number], leak: dict[str, Number] | None = None) -> dict[str, Number]:
    """Recompute the derived states of a distribution from its given ones.

    A ``rest`` state takes 1 minus the given states; ``background`` states share
    that remainder in proportion to the leak's probabilities of those states, so
    a cause the documents say nothing of for them leaves their odds as the leak's.
    """
    remainder = 1.0 - sum(n.value for n in numbers.values() if n.derived is None)
    background = [s for s, n in numbers.items() if n.derived == schema.BACKGROUND]
    shares = {s: leak[s].value for s in background} if background else {}
    total = sum(shares.values())
    out = {}
    for state, number in numbers.items():
        if number.derived == schema.REST:
            out[state] = Number(remainder, None, schema.REST)
        elif number.derived == schema.BACKGROUND:
            out[state] = Number(remainder * shares[state] / total, None, schema.BACKGROUND)
        else:
            out[state] = number
    return out


def _resolve(
    dist: schema.Distribution, scale: schema.ScaleFile, states: tuple[str, ...], leak: dict[str, Number] | None = None
) -> dict[str, Number]:
    numbers = {
        s: Number(0.0, None, dist[s]) if dist[s] in schema.DERIVED else Number(_word_value(dist[s], scale), dist[s])
        for s in states
    }
    return rebalance(numbers, leak)


def _check_acyclic(check: _Checker, causes: dict[str, schema.CauseSpec]) -> None:
    visiting, done = set(), set()

    def visit(name: str, path: list[str]) -> None:
        if name in done or name not in causes:
            return
        if name in visiting:
            check.add(EntryName("causes", (name,)), f"causes form a cycle: {' -> '.join(path + [name])}")
            return
        visiting.add(name)
        for parent in causes[name].links:
            visit(parent, path + [name])
        visiting.discard(name)
        done.add(name)

    for name in causes:
        visit(name, [])


def load_priors(directory: str | Path | None = None) -> Priors:
    """Read, validate and resolve a priors folder (the packaged one by default).

    Raises
    ------
    PriorsError
        Listing every problem as ``file: entry: what is wrong``.
    """
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    for _ in range(READ_ATTEMPTS):
        identity = folder_identity(directory)
        if identity is None and save_in_progress(directory):
            time.sleep(READ_PAUSE_SECONDS)  # a save between its two renames: the folder is back in a moment
            continue
        if identity is None or not directory.is_dir():
            retired = retired_copies(directory) if identity is None else []
            if retired:
                raise PriorsError(
                    [
                        f"{directory}: missing; a save was cut short and left the previous folder as {retired[0]}; "
                        "saving again puts it back"
                    ]
                )
            raise PriorsError([f"{directory}: not a folder of priors files"])
        problems, raw, texts = _read_files(directory)
        if folder_identity(directory) == identity:
            break
        time.sleep(READ_PAUSE_SECONDS)  # a save replaced the folder while it was read: read the new one whole
    else:
        raise PriorsError([f"{directory}: replaced by saves again and again while it was read; try again"])
    if problems:
        raise PriorsError(problems)
    return _build(directory, raw, texts)


def _special_files(directory: Path) -> list[str]:
    """A problem for each device, FIFO or socket among the folder's other entries (symlinks followed)."""
    known = {name for name, _ in FILES.values()}
    problems = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name in known:
            continue  # read_yaml names what is wrong with these
        try:
            mode = os.stat(entry.path).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            problems.append(f"{entry.path}: is a device, FIFO or socket; a priors folder holds only its files")
    return problems


def _read_files(directory: Path) -> tuple[list[str], dict[str, BaseModel], dict[str, str]]:
    """Every file of the folder read and validated on its own: the problems, the models and the texts."""
    problems: list[str] = _special_files(directory)
    raw: dict[str, BaseModel] = {}
    texts: dict[str, str] = {}
    for key, (name, model) in FILES.items():
        path = directory / name
        if key == "advice" and not path.exists():
            raw[key] = schema.AdviceFile({})
            continue
        before = len(problems)
        text, data = read_yaml(path, problems)
        if len(problems) > before:
            continue
        texts[name] = text
        if data is None:
            problems.append(f"{path}: file is empty; expected the mapping described in its header comment")
            continue
        try:
            raw[key] = model.model_validate(data)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(path, exc))
    return problems, raw, texts


def _build(directory: Path, raw: dict[str, BaseModel], texts: dict[str, str]) -> Priors:
    check = _Checker(directory, raw)
    vocab: schema.VocabularyFile = raw["vocabulary"]
    variables = {
        name: Variable(name, spec.question, tuple(spec.states), dict(spec.states))
        for name, spec in vocab.evidence.items()
    }
    causes = dict(vocab.causes)
    context_raw = raw["context"].root
    findings_raw = raw["findings"].root
    causes_raw = raw["causes"].root

    for name in set(context_raw) | set(findings_raw):
        if name not in variables:
            key = "context" if name in context_raw else "findings"
            check.add(
                EntryName(key, (name,)), f"not an evidence variable of vocabulary.yaml{check.suggest(name, variables)}"
            )
    for name in set(context_raw) & set(findings_raw):
        check.add(EntryName("findings", (name,)), "is also in context.yaml; a variable lives in exactly one file")
    for name in variables:
        if name not in context_raw and name not in findings_raw:
            check.problems.append(f"{directory}: variable '{name}' has no priors in context.yaml or findings.yaml")
    for name in set(causes) ^ set(causes_raw):
        if name in causes_raw:
            check.add(EntryName("causes", (name,)), f"not a cause of vocabulary.yaml{check.suggest(name, causes)}")
        else:
            check.add(EntryName("causes", (name,)), "cause of vocabulary.yaml has no entry")

    for name, dist in context_raw.items():
        if name in variables:
            check.distribution(EntryName("context", (name,)), dist, variables[name].states)

    for cause, spec in causes_raw.items():
        check.entry(EntryName("causes", (cause, "leak")), spec.leak)
        for parent, links in spec.links.items():
            where = EntryName("causes", (cause, parent))
            if parent in causes:
                states = ("no", "yes")
            elif parent in context_raw and parent in variables:
                states = variables[parent].states
            else:
                check.add(
                    where,
                    "a parent must be an exposure of context.yaml or another cause"
                    f"{check.suggest(parent, list(context_raw) + list(causes))}",
                )
                continue
            check.states(where, links, states[1:])
            for state in states[1:]:
                if state not in links:
                    check.add(
                        where,
                        f"state '{state}' has no link probability (only the first state, '{states[0]}', has no effect)",
                    )
            for state, entry in links.items():
                check.entry(where.child(state), entry)
    _check_acyclic(check, causes_raw)

    for name, spec in findings_raw.items():
        if name not in variables:
            continue
        states = variables[name].states
        before = len(check.problems)
        check.distribution(EntryName("findings", (name, "leak")), spec.leak, states)
        leak = _resolve(spec.leak, raw["scale"], states) if len(check.problems) == before else None
        for cause, dist in spec.causes.items():
            if cause not in causes:
                check.add(EntryName("findings", (name, cause)), f"not a cause{check.suggest(cause, causes)}")
                continue
            check.distribution(
                EntryName("findings", (name, cause)), dist, states, leak or {s: Number(1.0, None) for s in states}
            )

    _check_shared_quotes(check, raw)
    _check_escalation(check, raw["escalation"], variables, causes, tuple(vocab.escalation_levels))
    for variable, change in raw["changes"].root.items():
        where = EntryName("changes", (variable,))
        if variable not in context_raw:
            check.add(where, f"not an exposure of context.yaml{check.suggest(variable, context_raw)}")
            continue
        check.states(where, [*change.risky, change.safer], variables[variable].states)
        if change.safer in change.risky:
            check.add(where, f"the safer answer '{change.safer}' is also listed as risky")
        if change.source not in raw["sources"].root:
            check.add(where, f"source '{change.source}' is not in sources.yaml")
    for cause, items in raw["advice"].root.items():
        if cause not in causes:
            check.add(EntryName("advice", (cause,)), f"not a cause{check.suggest(cause, causes)}")
        for i, item in enumerate(items):
            if item.source not in raw["sources"].root:
                check.add(EntryName("advice", (cause, str(i))), f"source '{item.source}' is not in sources.yaml")
    _check_display(check, raw["display"], variables, tuple(vocab.escalation_levels))
    from .followup import check_followup, resolve_followup

    check_followup(check, raw, variables, causes, tuple(vocab.escalation_levels))
    _check_text(check, raw["text"], variables, raw["escalation"].rules)
    if check.problems:
        raise PriorsError(check.problems)

    scale = raw["scale"]
    return Priors(
        directory=directory,
        raw=raw,
        causes=causes,
        variables=variables,
        levels=tuple(vocab.escalation_levels),
        context={n: _resolve(d, scale, variables[n].states) for n, d in context_raw.items()},
        cause_priors={
            cause: CausePrior(
                leak=Number(_word_value(spec.leak, scale), spec.leak),
                links={
                    p: {s: Number(_word_value(e, scale), e) for s, e in links.items()}
                    for p, links in spec.links.items()
                },
            )
            for cause, spec in causes_raw.items()
        },
        findings={name: _finding_prior(spec, scale, variables[name].states) for name, spec in findings_raw.items()},
        escalation=raw["escalation"],
        advice=dict(raw["advice"].root),
        display=_resolve_display(raw["display"], scale),
        texts=dict(texts),
        followup=resolve_followup(raw["followup"], lambda d, s: _resolve(d, scale, s), lambda e: _word_value(e, scale)),
    )


def _check_display(check: _Checker, display: schema.DisplayFile, variables, levels: tuple[str, ...]) -> None:
    words = display.probability_words
    for i, item in enumerate(words):
        if (item.at_least is None) != (i == len(words) - 1):
            check.add(
                EntryName("display", ("probability_words", item.word)), "every word but the last needs 'at_least'"
            )
        elif item.at_least is not None:
            check.entry(EntryName("display", ("probability_words", item.word)), item.at_least)
    known = check.raw["scale"].words
    cuts = [
        _word_value(w.at_least, check.raw["scale"])
        for w in words[:-1]
        if w.at_least is not None and (w.at_least.word is None or w.at_least.word in known)
    ]
    if any(not later < earlier for earlier, later in zip(cuts, cuts[1:])):
        check.add(EntryName("display", ("probability_words",)), "cuts must fall from the first word to the last")
    listed = [name for group in display.question_groups for name in group.variables]
    for name in listed:
        if name not in variables:
            check.add(
                EntryName("display", ("question_groups",)),
                f"'{name}' is not a question{check.suggest(name, variables)}",
            )
    for name in sorted({n for n in listed if listed.count(n) > 1}):
        check.add(EntryName("display", ("question_groups",)), f"'{name}' is in more than one group")
    for name in variables:
        if name not in listed:
            check.add(EntryName("display", ("question_groups",)), f"question '{name}' is in no group")
    for name, said in display.question_names.items():
        if name not in variables:
            where = EntryName("display", ("question_names",))
            check.add(where, f"'{name}' is not a question{check.suggest(name, variables)}")
        elif not said.strip():
            check.add(EntryName("display", ("question_names", name)), "a name cannot be empty")
    for name in variables:
        if name not in display.question_names:
            check.add(EntryName("display", ("question_names",)), f"question '{name}' has no name")
    if set(display.levels) != set(levels):
        check.add(EntryName("display", ("levels",)), f"expected one entry per escalation level: {', '.join(levels)}")
    for where, source, _ in display_citations(display):
        if source not in check.raw["sources"].root:
            check.add(EntryName("display", where), f"source '{source}' is not in sources.yaml")
    causes = check.raw["vocabulary"].causes
    for cause in display.serious_causes.causes:
        if cause not in causes:
            check.add(
                EntryName("display", ("serious_causes", cause)),
                f"unknown cause '{cause}'{check.suggest(cause, causes)}",
            )
    check.entry(EntryName("display", ("serious_causes", "shown_from")), display.serious_causes.shown_from)


def display_citations(display: schema.DisplayFile):
    """Yield ``(path, source id, quote)`` for every quoted text of ``display.yaml``."""
    cited = [(("no_clear_cause",), display.no_clear_cause)]
    for level, look in display.levels.items():
        cited += [
            (("levels", level, part), getattr(look, part)) for part in ("heading_grounds", "time_frame", "what_to_do")
        ]
    cited += [(("safety_net", str(i)), item) for i, item in enumerate(display.safety_net)]
    cited += [(("serious_causes", cause), text) for cause, text in display.serious_causes.causes.items()]
    for where, item in cited:
        if item.source is not None:
            yield where, item.source, item.quote


def _check_text(check: _Checker, text: schema.TextFile, variables, rules) -> None:
    """Phrases name vocabulary states; a negated mention never answers a state that raises the level."""
    raising = {(name, state) for rule in rules for name, states in rule.when.items() for state in states}
    for name, spec in text.variables.items():
        where = EntryName("text", ("variables", name))
        if name not in variables:
            check.add(where, f"not an evidence variable{check.suggest(name, variables)}")
            continue
        check.states(where, [*spec.phrases, *filter(None, [spec.negated])], variables[name].states)
        if (name, spec.negated) in raising:
            check.add(where, f"negated: '{spec.negated}' raises the level; a negated mention must never do that")
        for said in (p for phrases in spec.phrases.values() for p in phrases if isinstance(p, schema.Said)):
            for other, state in said.also.items():
                if other not in variables:
                    check.add(where, f"'{said.say}' also: '{other}' is not an evidence variable")
                else:
                    check.states(where, [state], variables[other].states)
    for i, count in enumerate(text.counts):
        where = EntryName("text", ("counts", str(i)))  # counted from 0, as the schema names them
        if count.variable not in variables:
            hint = check.suggest(count.variable, variables)
            check.add(where, f"'{count.variable}' is not an evidence variable{hint}")
        else:
            check.states(where, [s.state for s in count.states], variables[count.variable].states)
        for pattern in count.patterns:
            if "#" not in pattern.split():
                check.add(where, f"pattern '{pattern}' has no count (#)")


def _resolve_display(display: schema.DisplayFile, scale: schema.ScaleFile) -> dict[str, Any]:
    """``display.yaml`` as plain JSON-ready values, every word resolved to its number."""
    return {
        "probability_words": [
            {"word": w.word, "at_least": _word_value(w.at_least, scale) if w.at_least else 0.0}
            for w in display.probability_words
        ],
        "strong_answer_odds": display.strong_answer.value,
        "interview": {name: setting.value for name, setting in display.interview},
        "question_groups": [group.model_dump() for group in display.question_groups],
        "question_names": dict(display.question_names),
        "levels": {level: look.model_dump(exclude_none=True) for level, look in display.levels.items()},
        "safety_net": [item.model_dump() for item in display.safety_net],
        "serious_causes": {
            "shown_from": _word_value(display.serious_causes.shown_from, scale),
            "causes": {
                cause: text.model_dump(exclude_none=True) for cause, text in display.serious_causes.causes.items()
            },
        },
        "no_clear_cause": display.no_clear_cause.model_dump(),
    }


def _finding_prior(spec: schema.FindingSpec, scale: schema.ScaleFile, states: tuple[str, ...]) -> FindingPrior:
    leak = _resolve(spec.leak, scale, states)
    return FindingPrior(
        combine=spec.combine,
        leak=leak,
        causes={cause: _resolve(dist, scale, states, leak) for cause, dist in spec.causes.items()},
    )


def _check_shared_quotes(check: _Checker, raw: dict[str, BaseModel]) -> None:
    """A quote backing numbers of several causes must name each of them (by a term of causes.yaml)."""
    causes = raw["causes"].root
    users: dict[str, dict[str, list[str]]] = {}  # quote -> cause -> where it is used
    for cause, spec in causes.items():
        for parent, links in spec.links.items():
            for state, entry in links.items():
                if entry.quote:
                    users.setdefault(entry.quote, {}).setdefault(cause, []).append(
                        f"causes: {cause} -> {parent} -> {state}"
                    )
        if spec.leak.quote:
            users.setdefault(spec.leak.quote, {}).setdefault(cause, []).append(f"causes: {cause} -> leak")
    for name, spec in raw["findings"].root.items():
        for cause, dist in spec.causes.items():
            for state, entry in dist.items():
                if isinstance(entry, schema.Entry) and entry.quote:
                    users.setdefault(entry.quote, {}).setdefault(cause, []).append(
                        f"findings: {name} -> {cause} -> {state}"
                    )
    for quote, by_cause in users.items():
        if len(by_cause) < 2:
            continue
        folded = quote.casefold()
        unnamed = [c for c in by_cause if c in causes and not any(t.casefold() in folded for t in causes[c].terms)]
        if unnamed:
            first = by_cause[unnamed[0]][0]
            check.problems.append(
                f'{check.directory}: {first}: quote "{quote}" backs numbers of {len(by_cause)} causes '
                f"({', '.join(by_cause)}) but does not name {', '.join(unnamed)}; cite a sentence about each cause "
                "or state an assumption"
            )


def _check_escalation(check: _Checker, esc: schema.EscalationFile, variables, causes, levels) -> None:
    seen = set()
    for rule in list(esc.rules) + list(esc.posterior_thresholds):
        if rule.id in seen:
            check.add(EntryName("escalation", (rule.id,)), "rule id is used twice")
        seen.add(rule.id)
        if rule.level not in levels:
            check.add(
                EntryName("escalation", (rule.id,)),
                f"unknown level '{rule.level}'; expected one of {', '.join(levels)}{check.suggest(rule.level, levels)}",
            )
        if rule.source not in check.raw["sources"].root:
            check.add(EntryName("escalation", (rule.id,)), f"source '{rule.source}' is not in sources.yaml")
    for rule in esc.rules:
        for part in ("when", "unless"):
            for name, states in getattr(rule, part).items():
                if name not in variables:
                    check.add(
                        EntryName("escalation", (rule.id, part, name)),
                        f"not an evidence variable{check.suggest(name, variables)}",
                    )
                    continue
                check.states(EntryName("escalation", (rule.id, part, name)), states, variables[name].states)
    for rule in esc.posterior_thresholds:
        if rule.cause not in causes:
            check.add(
                EntryName("escalation", (rule.id,)), f"unknown cause '{rule.cause}'{check.suggest(rule.cause, causes)}"
            )
        check.entry(EntryName("escalation", (rule.id, "threshold")), rule.threshold)


def check_quotes(priors: Priors, documents: str | Path) -> list[str]:
    """Every quote that is not found verbatim in its document, as problem lines.

    White space is folded before matching; nothing else is normalised.
    """
    documents = Path(documents)
    if not documents.is_dir():
        return [f"{documents}: not a folder of source documents"]
    texts, problems = {}, []
    for source_id, source in priors.sources.items():
        texts[source_id] = _document_text(documents, source.file)
        if isinstance(texts[source_id], _Unreadable):
            problems.append(
                f"{priors.directory / FILES['sources'][0]}: {source_id}: document {source.file}: {texts[source_id]}"
            )
    for name, source, quote in iter_citations(priors):
        text = texts.get(source)
        where = f"{priors.directory / FILES[name.file][0]}: {name.path}"
        if text is None or isinstance(text, _Unreadable):
            problems.append(f"{where}: document of source '{source}' not found or not UTF-8 text in {documents}")
        elif " ".join(quote.split()) not in text:
            problems.append(f"{where}: quote not found verbatim in '{source}': \"{quote}\"")
    return problems


class _Unreadable(str):
    """Why a source document could not be read (kept in place of its text)."""


def _document_text(documents: Path, file: str) -> str:
    """The document's text with white space folded, or why it cannot be read.

    Only a regular file inside ``documents`` (symlinks resolved) is read, without
    waiting on a FIFO and at most :data:`MAX_DOCUMENT_BYTES` of it.
    """
    root = documents.resolve()
    path = (documents / file).resolve()
    if not path.is_relative_to(root):
        return _Unreadable("outside the documents folder; a source names a file in it")
    try:
        data = read_regular(path, MAX_DOCUMENT_BYTES)
        return " ".join(data.decode("utf-8").split())
    except FileNotFoundError:
        return _Unreadable("not found")
    except OSError as exc:
        return _Unreadable(exc.strerror or str(exc))
    except UnicodeDecodeError:
        return _Unreadable("not UTF-8 text")


def iter_citations(priors: Priors):
    """Yield ``(EntryName, source id, quote)`` for every quoted citation."""
    for name, entry in iter_entries(priors):
        if entry.source is not None:
            yield name, entry.source, entry.quote
        if entry.reconciles is not None:
            yield name, entry.reconciles.source, entry.reconciles.quote
    for rule in list(priors.escalation.rules) + list(priors.escalation.posterior_thresholds):
        yield EntryName("escalation", (rule.id,)), rule.source, rule.quote
    if "display" in priors.raw:
        for where, source, quote in display_citations(priors.raw["display"]):
            yield EntryName("display", where), source, quote
    for cause, items in priors.advice.items():
        for i, item in enumerate(items):
            yield EntryName("advice", (cause, str(i))), item.source, item.quote
    for variable, change in priors.changes.items():
        yield EntryName("changes", (variable,)), change.source, change.quote
    from .followup import followup_citations

    yield from followup_citations(priors.raw["followup"])


def iter_entries(priors: Priors):
    """Yield ``(EntryName, Entry)`` for every number written in the folder (not its `rest` states).

    Examples
    --------
    >>> numbers = dict(iter_entries(load_priors()))
    >>> numbers["causes: caffeine -> leak"].word is not None
    True
    >>> sorted({name.file for name in numbers})
    ['causes', 'context', 'escalation', 'findings']
    """
    for name, dist in priors.raw["context"].root.items():
        for state, entry in dist.items():
            if isinstance(entry, schema.Entry):
                yield EntryName("context", (name, state)), entry
    for cause, spec in priors.raw["causes"].root.items():
        yield EntryName("causes", (cause, "leak")), spec.leak
        for parent, links in spec.links.items():
            for state, entry in links.items():
                yield EntryName("causes", (cause, parent, state)), entry
    for name, spec in priors.raw["findings"].root.items():
        for owner, dist in [("leak", spec.leak), *spec.causes.items()]:
            for state, entry in dist.items():
                if isinstance(entry, schema.Entry):
                    yield EntryName("findings", (name, owner, state)), entry
    for rule in priors.escalation.posterior_thresholds:
        yield EntryName("escalation", (rule.id, "threshold")), rule.threshold
