"""The case in the address bar: evidence <-> URL query string.

A link is read where it enters the app. Every pair that is not a known question
with one of its answers is dropped with a notice, so a shared, truncated or
hand-edited link can never break the page; what is valid is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from twitchcause.priors import did_you_mean

# A full case (32 answers, the longest names) is well under 1,000 characters.
MAX_QUERY_LENGTH = 2000
# Longer names or values are echoed back shortened, never in full.
MAX_SHOWN_CHARACTERS = 40


def shown(text: str) -> str:
    """``text`` made safe to echo in a notice: printable and short."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(printable) > MAX_SHOWN_CHARACTERS:
        return printable[:MAX_SHOWN_CHARACTERS] + "..."
    return printable


def clean_answers(pairs, variables: Mapping) -> tuple[dict[str, str], list[str]]:
    """Keep the valid ``(variable, state)`` pairs; a notice for each one dropped.

    An empty state means "not answered" and is skipped silently. A variable
    given twice with different answers is dropped (it becomes unanswered, so a
    warning-sign question is asked again rather than settled by a guess).
    """
    evidence: dict[str, str] = {}
    notices: list[str] = []
    conflicting: set[str] = set()
    for name, state in pairs:
        name, state = str(name), "" if state is None else str(state).strip()
        if name not in variables:
            notices.append(
                f"Ignored '{shown(name)}': not a question of this tool{did_you_mean(shown(name), variables)}."
            )
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
        if state not in states:
            notices.append(
                f"Ignored '{name}={shown(state)}': expected one of {', '.join(states)}"
                f"{did_you_mean(shown(state), states)}."
            )
            continue
        evidence[name] = state
    return {name: evidence[name] for name in variables if name in evidence}, notices


def parse_query(search: str | None, variables: Mapping) -> tuple[dict[str, str], list[str]]:
    """Evidence from a query string such as ``?caffeine_intake=high&sleep=short``.

    Returns the valid answers in vocabulary order and one notice per part ignored.
    """
    query = (search or "").removeprefix("?")
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
