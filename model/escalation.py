"""Deterministic escalation: rules on the answers first, posterior thresholds second.

A rule that fires can only raise the level; probabilities never lower what a
red-flag rule decided. "Not sure" is read the safe way: a not-sure variable
matches every ``when`` condition (the rule fires, with a reason saying so) and
no ``unless`` condition (it never holds a rule back).

The rules are compiled once into boolean tables over state codes
(:class:`CompiledRules`), the one home of their logic: a single case, a batch
and the what-ifs of ask-next all look their codes up in the same tables.
A code is a state's index in its variable's states, :data:`UNKNOWN` (-1) when
unanswered and :data:`NOT_SURE_CODE` (-2) when answered "not sure".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twitchcause.priors import Priors

UNKNOWN = -1
NOT_SURE_CODE = -2
_SHIFT = 2  # a code's column in the tables: code + 2 (not sure, unknown, then the states)
_CHUNK_BITS = 12  # rule variables per table of answered subsets (4,096 entries each)
_CHUNK_MASK = 2**_CHUNK_BITS - 1
# words of rules whose questions, or reasons and level, are kept (see CompiledRules._open_questions and
# _reasons_and_level): a few hundred distinct ones for a few dozen rules
_OPEN_WORDS_KEPT = 4096


@dataclass(frozen=True)
class Reason:
    """One rule that fired: its id, the level it asks for, and why.

    ``not_sure`` is True when the rule fired only because a variable it names
    was answered "not sure"; ``message`` then says so.
    """

    rule: str
    level: str
    message: str
    source: str
    quote: str
    not_sure: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, init=False)
class Escalation:
    """The level, every reason that fired (most urgent first) and the rule questions still open.

    ``pending``: the variables named by rules that are neither answered nor not
    sure and whose answer could still call for a level above what the rules
    give now (warning signs first). A level is a verdict only when
    :attr:`settled`.
    """

    level: str
    reasons: tuple[Reason, ...]
    pending: tuple[str, ...] = ()

    def __init__(self, level: str, reasons: tuple[Reason, ...], pending: tuple[str, ...] = ()):
        # in one step, not a frozen dataclass's object.__setattr__ per field: one is made for every case
        self.__dict__.update(level=level, reasons=reasons, pending=pending)

    @property
    def settled(self) -> bool:
        return not self.pending

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "reasons": [r.to_dict() for r in self.reasons],
            "pending": list(self.pending),
            "settled": self.settled,
        }


class CompiledRules:
    """The escalation rules as bit tables over state codes, built once per priors.

    Rule ``r`` is bit ``r`` of a 64-bit word. For every rule variable ``v`` and
    code ``c`` a table holds the rules whose ``when`` condition on ``v`` holds at
    ``c`` (every rule that does not name ``v``), and the rules whose ``unless``
    condition holds there. A case's fired rules are the AND of its ``when``
    words less the OR of its ``unless`` words: a few integer operations per
    variable, the same for one case or a million.

    Attributes
    ----------
    variables : tuple of str
        The variables the rules name, in vocabulary order (the columns of a code matrix).
    levels : ndarray
        Each rule's level as its rank (index in ``priors.levels``).
    """

    def __init__(self, priors: Priors):
        rules = priors.escalation.rules
        if len(rules) > 64:
            raise ValueError(f"{len(rules)} escalation rules; the compiled rules hold at most 64")
        order = {level: i for i, level in enumerate(priors.levels)}
        named = {name for rule in rules for name in (*rule.when, *rule.unless)}
        self.priors = priors
        self.rules = tuple(rules)
        self.variables = tuple(name for name in priors.variables if name in named)
        self._state_index = [
            {state: i for i, state in enumerate(priors.variables[name].states)} for name in self.variables
        ]
        self.levels = np.array([order[rule.level] for rule in rules], dtype=np.int64)
        width = _SHIFT + max(len(priors.variables[name].states) for name in self.variables)
        every = np.uint64(2 ** len(rules) - 1)
        self._holds = np.full((len(self.variables), width), every, dtype=np.uint64)  # `when` holds at this code
        self._could = np.full((len(self.variables), width), every, dtype=np.uint64)  # ... or may still (unknown)
        self._blocks = np.zeros((len(self.variables), width), dtype=np.uint64)  # `unless` holds
        self._names_when = np.zeros((len(rules), len(self.variables)), dtype=bool)
        for r, rule in enumerate(rules):
            bit = np.uint64(1 << r)
            for name, states in rule.when.items():
                v = self.variables.index(name)
                meets = np.zeros(width, dtype=bool)
                meets[self._columns(name, states)] = True
                meets[NOT_SURE_CODE + _SHIFT] = True
                self._holds[v, ~meets] &= ~bit
                meets[UNKNOWN + _SHIFT] = True
                self._could[v, ~meets] &= ~bit
                self._names_when[r, v] = True
            for name, states in rule.unless.items():
                self._blocks[self.variables.index(name), self._columns(name, states)] |= bit
        self._bits = np.uint64(1) << np.arange(len(rules), dtype=np.uint64)
        # the same tables as Python integers, for one case (a few integer operations beat numpy's call overhead)
        self._one = (self._holds.tolist(), self._could.tolist(), self._blocks.tolist())
        self._when_of = [np.flatnonzero(self._names_when[r]).tolist() for r in range(len(rules))]
        # the rules of each level or above, as words: rank = the number of levels whose rules some fired rule is in
        self._at_least = np.array(
            [np.bitwise_or.reduce(self._bits[self.levels >= k], initial=np.uint64(0)) for k in range(1, len(order))],
            dtype=np.uint64,
        )
        self._by_urgency = np.argsort(-self.levels, kind="stable")  # warning signs first, then the rules' order
        self._at_least_one = [int(word) for word in self._at_least]
        self._urgency_order = self._by_urgency.tolist()
        self._columns_of = np.arange(len(self.variables))
        thresholds = priors.escalation.posterior_thresholds
        self.thresholds = tuple(thresholds)
        self._threshold_causes = np.array([list(priors.causes).index(t.cause) for t in thresholds], dtype=np.int64)
        self._threshold_cuts = np.array([priors.threshold(t) for t in thresholds], dtype=float)
        self._threshold_levels = np.array([order[t.level] for t in thresholds], dtype=np.int64)
        self._cuts = self._threshold_cuts.tolist()
        warning = [r for r in range(len(rules)) if self.levels[r] == len(priors.levels) - 1]
        self.red_flags = tuple(dict.fromkeys(name for r in warning for name in rules[r].when if name in self.variables))
        self._compile_one_case()

    def _compile_one_case(self) -> None:
        """The tables of one case, keyed by the answers themselves (no codes): what :meth:`escalate` reads.

        A case's words are those of its answered rule variables only: an
        unanswered variable takes away exactly the rules whose ``when`` names
        it, which :attr:`_complete` gives for any set of answered ones (by
        chunks of :data:`_CHUNK_BITS` variables, each a table over its subsets).
        """
        holds, could, blocks = self._one
        self._every = (1 << len(self.rules)) - 1
        # each answer of a rule variable: the rules whose `when` holds, may still hold, whose `unless` holds; its bit
        self._answer_words = {
            name: {
                state: (holds[v][i + _SHIFT], could[v][i + _SHIFT], blocks[v][i + _SHIFT], 1 << v)
                for i, state in enumerate(self.priors.variables[name].states)
            }
            for v, name in enumerate(self.variables)
        }
        self._variable_bit = {name: 1 << v for v, name in enumerate(self.variables)}
        self._rule_variables = frozenset(self.variables)
        self._complete = []  # per chunk of variables: for each subset answered, the rules the others leave possible
        for first in range(0, len(self.variables), _CHUNK_BITS):
            chunk = range(first, min(first + _CHUNK_BITS, len(self.variables)))
            subsets = np.arange(2 ** len(chunk))
            table = np.full(len(subsets), self._every, dtype=np.uint64)
            for k, v in enumerate(chunk):
                table[(subsets >> k) & 1 == 0] &= self._holds[v, UNKNOWN + _SHIFT]
            self._complete.append(table.tolist())
        self._when_named = [[(v, self.variables[v]) for v in self._when_of[r]] for r in range(len(self.rules))]
        # each rule's reason as it fired, plainly or only by a not-sure answer; each threshold's
        self._reason_of = [
            (
                Reason(rule.id, rule.level, rule.message, rule.source, rule.quote, False),
                Reason(rule.id, rule.level, rule.if_not_sure, rule.source, rule.quote, True),
            )
            for rule in self.rules
        ]
        self._urgency_bits = [(r, 1 << r) for r in self._urgency_order]
        # at most one entry per word of open rules that cases reach: a few hundred for a few dozen rules
        self._questions_of = lru_cache(maxsize=_OPEN_WORDS_KEPT)(self._open_questions)
        self._threshold_reasons = [
            (t.cause, cut, Reason(t.id, t.level, t.message, t.source, t.quote))
            for t, cut in zip(self.thresholds, self._cuts)
        ]
        self._threshold_tests = [(cause, cut, 1 << k) for k, (cause, cut, _) in enumerate(self._threshold_reasons)]
        self._minus_rank = {level: -i for i, level in enumerate(self.priors.levels)}
        self._reasons_for = lru_cache(maxsize=_OPEN_WORDS_KEPT)(self._reasons_and_level)

    def _columns(self, name: str, states: Iterable[str]) -> list[int]:
        known = self.priors.variables[name].states
        return [known.index(s) + _SHIFT for s in states if s in known]

    # -- codes -------------------------------------------------------------------
    def encode(self, evidence: Mapping[str, str], not_sure: Iterable[str] = ()) -> np.ndarray:
        """One case's codes over :attr:`variables` (validated answers and not-sure names)."""
        return np.array(self._codes_of(evidence, not_sure), dtype=np.int64)

    def _codes_of(self, evidence: Mapping[str, str], not_sure: Iterable[str]) -> list[int]:
        unsure = set(not_sure)
        return [
            NOT_SURE_CODE if name in unsure else index[evidence[name]] if name in evidence else UNKNOWN
            for name, index in zip(self.variables, self._state_index)
        ]

    def columns(self, codes: Mapping[str, np.ndarray], cases: int) -> np.ndarray:
        """Codes (cases x :attr:`variables`) from ``{variable: codes}``; a variable missing is unanswered."""
        out = np.full((cases, len(self.variables)), UNKNOWN, dtype=np.int64)
        for v, name in enumerate(self.variables):
            if name in codes:
                column = np.asarray(codes[name])
                out[:, v] = np.where((column < 0) & (column != NOT_SURE_CODE), UNKNOWN, column)
        return out

    # -- the rules ---------------------------------------------------------------
    def fired(self, codes: np.ndarray) -> np.ndarray:
        """The rules that fire, as words (bit r: rule r), on codes (..., :attr:`variables`); not-sure read safely."""
        column = codes + _SHIFT
        holds = np.bitwise_and.reduce(self._holds[self._columns_of, column], axis=-1)
        blocked = np.bitwise_or.reduce(self._blocks[self._columns_of, column], axis=-1)
        return holds & ~blocked

    def fires(self, codes: np.ndarray) -> np.ndarray:
        """Which rules fire (cases x rules) on codes (cases x :attr:`variables`), not-sure read safely."""
        return (np.atleast_1d(self.fired(np.atleast_2d(codes)))[:, None] & self._bits) != 0

    def rule_ranks(self, codes: np.ndarray) -> np.ndarray:
        """The rank the rules alone give each case (cases,)."""
        fired = np.atleast_1d(self.fired(np.atleast_2d(codes)))
        return ((fired[:, None] & self._at_least) != 0).sum(axis=1)

    def posterior_ranks(self, posterior: np.ndarray) -> np.ndarray:
        """The rank the posterior thresholds give each case, from P(cause) (cases x causes)."""
        posterior = np.atleast_2d(posterior)
        passed = posterior[:, self._threshold_causes] > self._threshold_cuts
        return np.where(passed, self._threshold_levels, 0).max(axis=1, initial=0)

    def ranks(self, codes: np.ndarray, posterior: np.ndarray) -> np.ndarray:
        """The escalation rank of each case: rules and posterior thresholds together."""
        return np.maximum(self.rule_ranks(codes), self.posterior_ranks(posterior))

    def rank(self, evidence: Mapping[str, str], posterior: Mapping[str, float], not_sure: Iterable[str] = ()) -> int:
        """One case's escalation rank (index in ``priors.levels``), without the reasons."""
        matrix = np.array([[posterior[c] for c in self.priors.causes]])
        return int(self.ranks(self.encode(evidence, not_sure), matrix)[0])

    # -- one case, on the same tables as Python integers --------------------------
    def _one_case(self, codes: list[int]) -> tuple[int, int]:
        """One case's fired rules and the rules it could still fire, as integers (bit r: rule r)."""
        holds, could, blocks = self._one
        fired = reachable = (1 << len(self.rules)) - 1
        blocked = 0
        for v, code in enumerate(codes):
            fired &= holds[v][code + _SHIFT]
            reachable &= could[v][code + _SHIFT]
            blocked |= blocks[v][code + _SHIFT]
        return fired & ~blocked, reachable & ~blocked

    def _rank_of(self, fired: int) -> int:
        # the words are nested (the rules of level k or above hold those of k + 1): count until one misses
        rank = 0
        for word in self._at_least_one:
            if not fired & word:
                break
            rank += 1
        return rank

    def pending(self, codes: np.ndarray) -> tuple[str, ...]:
        """One case's open rule questions: unanswered variables of rules that could still raise its rules' rank.

        Ordered by the level they could call for (warning signs first), then by
        the rules' order.
        """
        codes = codes.tolist()
        fired, reachable = self._one_case(codes)
        known = sum(1 << v for v, code in enumerate(codes) if code != UNKNOWN)
        return self._pending(fired, reachable, known)

    def _pending(self, fired: int, reachable: int, known: int) -> tuple[str, ...]:
        """The open rule questions of a case's fired and reachable rules; ``known``: its answered or not-sure
        variables (bit v: variable v)."""
        now = self._rank_of(fired)
        open_rules = reachable & ~fired & (self._at_least_one[now] if now < len(self._at_least_one) else 0)
        if not open_rules:
            return ()
        return tuple([name for bit, name in self._questions_of(open_rules) if not known & bit])

    def _open_questions(self, open_rules: int) -> tuple[tuple[int, str], ...]:
        """The ``when`` variables of the rules in ``open_rules`` as (bit, name), each once, most urgent rule first.

        A function of the rules alone, memoised per word (:attr:`_questions_of`): a case only filters it by
        what it answered, rather than walking every rule.
        """
        pairs = [(1 << v, name) for r, bit in self._urgency_bits if open_rules & bit for v, name in self._when_named[r]]
        return tuple(dict.fromkeys(pairs))

    def unless_that_matter(self, codes: np.ndarray) -> tuple[str, ...]:
        """Unanswered ``unless`` variables whose answer could hold back a fired rule and so lower the level."""
        codes = codes.tolist()
        fired, _ = self._one_case(codes)
        now = self._rank_of(fired)
        out = []
        for r in range(len(self.rules)):
            if not fired >> r & 1 or self._rank_of(fired & ~(1 << r)) == now:
                continue  # not fired, or other rules keep the level
            out += [name for name in self.rules[r].unless if codes[self.variables.index(name)] == UNKNOWN]
        return tuple(dict.fromkeys(out))

    def _complete_given(self, known: int) -> int:
        """The rules none of whose ``when`` variables is outside ``known`` (bit v: variable v answered)."""
        word = self._every
        for q, table in enumerate(self._complete):
            word &= table[known >> (q * _CHUNK_BITS) & _CHUNK_MASK]
        return word

    def escalate(
        self, evidence: Mapping[str, str], posterior: Mapping[str, float], not_sure: Iterable[str] = ()
    ) -> Escalation:
        """The level for one case, every reason that fired (most urgent first) and its open rule questions.

        On the same tables as :meth:`fired`, keyed by the answers: a few
        integer operations per answered rule variable.
        """
        unsure = [name for name in not_sure if name in self._variable_bit] if not_sure else ()
        if unsure:  # a variable both answered and not sure is not sure, as in a code
            evidence = {name: state for name, state in evidence.items() if name not in unsure}
        fired = reachable = self._every
        blocked = answered = 0
        words = self._answer_words
        # only the answered rule variables, a few of a case's answers, found by one set operation in C
        for name in evidence.keys() & self._rule_variables:
            when, could, unless, bit = words[name][evidence[name]]
            fired &= when
            reachable &= could
            blocked |= unless
            answered |= bit
        known = answered
        for name in unsure:  # not sure: every `when` may hold, no `unless` does
            known |= self._variable_bit[name]
        plainly = fired & self._complete_given(answered) & ~blocked
        fired = fired & self._complete_given(known) & ~blocked if unsure else plainly
        reachable &= ~blocked
        passed = 0  # the thresholds the posterior passes, bit k: threshold k
        for cause, cut, bit in self._threshold_tests:
            if posterior[cause] > cut:
                passed |= bit
        level, reasons = self._reasons_for(fired, plainly, passed)
        return Escalation(level, reasons, self._pending(fired, reachable, known))

    def _reasons_and_level(self, fired: int, plainly: int, passed: int) -> tuple[str, tuple[Reason, ...]]:
        """The level and the reasons, most urgent first, of the rules ``fired`` (those of ``plainly`` without a
        not-sure answer) and the thresholds ``passed`` (bit k: threshold k).

        A function of those three words alone, memoised per words (:attr:`_reasons_for`): a case only finds
        them, rather than building and sorting its reasons.
        """
        reasons = [self._reason_of[r][not (plainly & bit)] for r, bit in self._urgency_bits if fired & bit]
        passing = [reason for k, (_, _, reason) in enumerate(self._threshold_reasons) if passed >> k & 1]
        if passing:
            reasons += passing
            reasons.sort(key=lambda reason: self._minus_rank[reason.level])
        return (reasons[0].level if reasons else self.priors.levels[0]), tuple(reasons)


_COMPILED: dict[int, tuple[object, CompiledRules]] = {}


def compiled_rules(priors: Priors) -> CompiledRules:
    """The priors' rules compiled (once per rules object)."""
    key = id(priors.escalation)
    found = _COMPILED.get(key)
    if found is None or found[0] is not priors.escalation or found[1].priors is not priors:
        if len(_COMPILED) > 32:
            _COMPILED.clear()
        found = (priors.escalation, CompiledRules(priors))
        _COMPILED[key] = found
    return found[1]


def escalate(
    priors: Priors, evidence: Mapping[str, str], posterior: Mapping[str, float], not_sure: Iterable[str] = ()
) -> Escalation:
    """The level for a case, every reason that fired (most urgent first) and the rule questions still open."""
    return compiled_rules(priors).escalate(evidence, posterior, not_sure)


def level_ranks(
    priors: Priors, codes: Mapping[str, np.ndarray], posterior: Mapping[str, np.ndarray], cases: int
) -> np.ndarray:
    """The escalation rank of many cases at once (for batches).

    ``codes[name]`` holds each case's state of ``name`` as its index in the
    variable's states, :data:`UNKNOWN` when unanswered and :data:`NOT_SURE_CODE`
    when not sure; a variable missing from ``codes`` is unanswered in every
    case. ``posterior[cause]`` holds each case's P(cause present). Returns the
    ranks (index in ``priors.levels``).
    """
    rules = compiled_rules(priors)
    matrix = np.column_stack([np.asarray(posterior[c], dtype=float) for c in priors.causes]) if cases else None
    if not cases:
        return np.zeros(0, dtype=np.int64)
    return rules.ranks(rules.columns(codes, cases), matrix)
