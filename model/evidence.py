"""Validate evidence where it enters: names and states of the vocabulary only.

A variable that is missing, None or an empty string is unknown and is left
out, so the network marginalises it; it is never read as "no". Any variable
may also be answered :data:`NOT_SURE`: unknown for the causes, read the safe
way for the level (see :mod:`model.escalation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import EvidenceError

if TYPE_CHECKING:
    from twitchcause.priors import Variable

NOT_SURE = "not_sure"  # the reserved answer "I am not sure"; no variable has a state of that name

# Names and states are short words; a longer text is shown cut and gets no closest-match search,
# whose cost grows with its length.
LONGEST_SHOWN = 80


def _shown(text: str) -> str:
    return text if len(text) <= LONGEST_SHOWN else f"{text[:LONGEST_SHOWN]}... ({len(text):,} characters)"


def suggestion(text: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or "" (also for text too long to compare)."""
    if len(text) > LONGEST_SHOWN:
        return ""
    from twitchcause.priors import did_you_mean  # only on a bad answer: keeps the loader out of a quick start

    return did_you_mean(text, choices)


def unknown_variable_message(name: str, variables: Mapping[str, Variable]) -> str:
    return (
        f"unknown evidence variable '{_shown(name)}'{suggestion(name, variables)}; "
        f"expected one of {', '.join(variables)}"
    )


def unknown_state_message(name: str, state: str, variable: Variable) -> str:
    return (
        f"evidence '{name}' has no state '{_shown(state)}'; expected one of "
        f"{', '.join(variable.states)}{suggestion(state, variable.states)}"
    )


def parse_evidence(evidence: Mapping[str, object] | None, variables: Mapping[str, Variable]) -> dict[str, str]:
    """Return ``{variable: state}`` for the answered variables, in vocabulary order (not-sure ones left out).

    Raises
    ------
    EvidenceError
        For a name or state outside the vocabulary, naming the valid ones.
    """
    return parse_answers(evidence, (), variables)[0]


def parse_answers(
    evidence: Mapping[str, object] | None, not_sure, variables: Mapping[str, Variable]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The answered variables ``{variable: state}`` and the not-sure ones (sorted), validated.

    A variable is not sure when ``evidence`` gives it the value
    :data:`NOT_SURE` or ``not_sure`` names it; both mean the same.

    Raises
    ------
    EvidenceError
        For a name or state outside the vocabulary, a ``not_sure`` that is not
        a list of names, or a variable both answered and not sure.
    """
    if isinstance(not_sure, str) or not all(isinstance(name, str) for name in not_sure or ()):
        raise EvidenceError(f"not_sure must be a list of variable names, got {_shown(repr(not_sure))}")
    for name in not_sure or ():
        if name not in variables:
            raise EvidenceError(unknown_variable_message(name, variables))
    unsure = set(not_sure or ())
    if evidence is None:
        return {}, tuple(sorted(unsure))
    if not isinstance(evidence, Mapping):
        raise EvidenceError(f"evidence must be a mapping of variable to state, got {type(evidence).__name__}")
    for name in evidence:
        if name not in variables:
            raise EvidenceError(unknown_variable_message(str(name), variables))
    parsed = {}
    for name, variable in variables.items():
        if name not in evidence:  # most variables of a case are not given: one lookup each
            continue
        state = evidence[name]
        if state.__class__ is str and state in variable.states and name not in unsure:  # already clean
            parsed[name] = state
            continue
        if state is None or (isinstance(state, str) and not state.strip()):
            continue
        if not isinstance(state, str):
            raise EvidenceError(
                f"evidence '{name}' must be a state name (text), got {state!r}; "
                f"expected one of {', '.join(variable.states)} or {NOT_SURE}"
            )
        state = state.strip()
        if state == NOT_SURE:
            unsure.add(name)
            continue
        if state not in variable.states:
            raise EvidenceError(unknown_state_message(name, state, variable))
        if name in unsure:
            raise EvidenceError(f"'{name}' is both answered ('{state}') and not sure; give one")
        parsed[name] = state
    return parsed, tuple(sorted(unsure))


class AnswerReader:
    """:func:`parse_answers` for one vocabulary, built once per model.

    Answers already in the vocabulary's words (every name a variable, every
    state one of its states, nothing not sure) are put in vocabulary order by
    one sort on a table of every (variable, state) pair, each mapped to its
    rank and its own words; anything else takes the checked path, which names
    the problem. Both give the same answers.
    """

    def __init__(self, variables: Mapping[str, Variable]):
        self.variables = variables
        pairs = [(name, state) for name, variable in variables.items() for state in variable.states]
        self._ranked = {pair: (rank, *pair) for rank, pair in enumerate(pairs)}

    def parse_answers(
        self, evidence: Mapping[str, object] | None, not_sure=()
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """See :func:`parse_answers`."""
        if isinstance(evidence, dict) and (not_sure is None or not_sure.__class__ in (tuple, list)) and not not_sure:
            try:
                ranked = sorted(map(self._ranked.__getitem__, evidence.items()))
            except (KeyError, TypeError):
                pass  # a name or state outside the words, a blank, a not-sure or not text: the checked path
            else:
                return {name: state for _, name, state in ranked}, ()
        return parse_answers(evidence, not_sure, self.variables)
