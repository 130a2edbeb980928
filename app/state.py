"""The case in the address bar: evidence <-> URL query string.

A link is read where it enters the app. Every pair that is not a known question
with one of its answers is dropped with a notice, so a shared, truncated or
hand-edited link can never break the page; what is valid is kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from twitchcause.model import NOT_SURE  # allowed for every question: the model reads it the safe way
from twitchcause.model.evidence import suggestion

# A full case (32 answers, the longest names) is well under 1,000 characters.
MAX_QUERY_LENGTH = 2000
# Longer names or values are echoed back shortened, never in full, and get no "did you mean".
MAX_SHOWN_CHARACTERS = 40
# A case answers each question at most once: more pairs than this is not a case, and is
# ignored whole before any of it is looked at (a "did you mean" costs time per pair).
MAX_PAIRS = 100
# Notices after this many are summed up in one line.
MAX_NOTICES = 8


def shown(text: str) -> str:
    """``text`` made safe to echo in a notice: printable and short."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text[:MAX_SHOWN_CHARACTERS])
    return printable + "..." if len(text) > MAX_SHOWN_CHARACTERS else printable


def clean_answers(pairs, variables: Mapping) -> tuple[dict[str, str], list[str]]:
    """Keep the valid ``(variable, state)`` pairs; a notice for each one dropped.

    An empty state means "not answered" and is skipped silently. A variable
    given twice with different answers is dropped (it becomes unanswered, so a
    warning-sign question is asked again rather than settled by a guess).
    ``NOT_SURE`` is a valid answer to every question.
    More than ``MAX_PAIRS`` pairs are all ignored with one notice; at most
    ``MAX_NOTICES`` notices are listed, then one line counts the rest.
    """
    pairs = list(itertools.islice(pairs, MAX_PAIRS + 1))
    if len(pairs) > MAX_PAIRS:
        return {}, [f"Ignored the answers: more than {MAX_PAIRS}, while there are {len(variables)} questions."]
    evidence: dict[str, str] = {}
    notices: list[str] = []
    conflicting: set[str] = set()

    def suggest(text: str, choices) -> str:  # only for notices that are shown, and short texts
        return suggestion(text, choices) if len(notices) < MAX_NOTICES and len(text) <= MAX_SHOWN_CHARACTERS else ""

    for name, state in pairs:
        name = name if isinstance(name, str) else str(name)
        state = state.strip() if isinstance(state, str) else "" if state is None else str(state)
        if name not in variables:
            notices.append(f"Ignored '{shown(name)}': not a question of this tool{suggest(name, variables)}.")
            continue
        if not state:
            continue
        if name in conflicting or (name in evidence and evidence[name] != state):
            if name not in conflicting:
                notices.append(f"Ignored '{name}': the link answers it twice, differently; answer it again below.")
                conflicting.add(name)
                evidence.pop(name)
            continue
        states = variables[name].states
        if state not in states and state != NOT_SURE:
            notices.append(
                f"Ignored '{name}={shown(state)}': expected one of {', '.join(states)}, {NOT_SURE}"
                f"{suggest(state, [*states, NOT_SURE])}."
            )
            continue
        evidence[name] = state
    if len(notices) > MAX_NOTICES:
        notices[MAX_NOTICES:] = [f"... and {len(notices) - MAX_NOTICES} more parts of the link ignored."]
    return {name: evidence[name] for name in variables if name in evidence}, notices


def parse_query(search: str | None, variables: Mapping) -> tuple[dict[str, str], list[str]]:
    """Evidence from a query string such as ``?caffeine_intake=high&sleep=short``.

    Returns the valid answers in vocabulary order and one notice per part ignored.
    """
    query = search.removeprefix("?") if isinstance(search, str) else ""
    if not query:
        return {}, []
    if len(query) > MAX_QUERY_LENGTH:
        return {}, [
            f"Ignored the answers in the link: it is {len(query):,} characters long, "
            f"more than a case can need ({MAX_QUERY_LENGTH:,})."
        ]
    return clean_answers(parse_qsl(query, keep_blank_values=True, errors="replace"), variables)


def to_query(evidence: Mapping[str, str], variables: Mapping) -> str:
    """The query string for ``evidence`` in vocabulary order ("" for no answers)."""
    pairs = [(name, evidence[name]) for name in variables if evidence.get(name)]
    return "?" + urlencode(pairs) if pairs else ""
