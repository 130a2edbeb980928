"""The case and what the model says about it, as plain values the views put into words.

The case is a dict ``{variable: state}`` of answered questions, ``NOT_SURE``
included; it lives in the URL and in a ``dcc.Store``, never in this module.
Whatever the browser sends is checked again here, so a tampered store or link
cannot reach the model. Every decision (the level, whether it is settled, the
next question) is the model's; this module only calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .labels import probability_word, readable
from .state import NOT_SURE, clean_answers, parse_query


@dataclass(frozen=True)
class LinkUpdate:
    """The case a link holds, and one notice per part of it that had to be ignored."""

    evidence: dict[str, str]
    notices: list[str]


def case_from_link(search: str | None, model) -> LinkUpdate:
    """The case in the page's address (on load, and on back/forward)."""
    evidence, notices = parse_query(search, model.variables)
    return LinkUpdate(evidence, notices)


def stored_case(data, model) -> dict[str, str]:
    """The store's content as a valid case; anything but a JSON object counts as no answers."""
    pairs = data.items() if isinstance(data, dict) else ()
    evidence, _ = clean_answers(pairs, model.variables)
    return evidence


def split_case(case: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """``(answers, not_sure)``: the real answers, and the questions answered "not sure" (sorted)."""
    answers = {name: state for name, state in case.items() if state != NOT_SURE}
    return answers, tuple(sorted(name for name, state in case.items() if state == NOT_SURE))


def infer_case(case: dict[str, str], model):
    """The model's :class:`Result` for a validated case, "not sure" answers passed as such."""
    answers, not_sure = split_case(case)
    return model.infer(answers, not_sure=not_sure)


def next_question(case: dict[str, str], model):
    """What the interview asks next (a ``NextQuestion``), or None when it is done: the model decides."""
    answers, not_sure = split_case(case)
    return model.next_question(answers, not_sure=not_sure)


@dataclass(frozen=True)
class Verdict:
    """What the alert shows: the level (None before anything is known), whether it is settled, and why.

    ``pending`` names the rule questions still unanswered that could raise the
    level; ``reasons`` are dicts ``{rule, level, message, source, quote,
    not_sure}`` with the source's title.
    """

    level: str | None
    settled: bool
    pending: tuple[str, ...]
    reasons: tuple[dict, ...]


def verdict(result, case: dict[str, str], model) -> Verdict:
    """The model's escalation as the screen shows it (see :func:`shown_verdict`)."""
    escalation = result.escalation
    return shown_verdict(escalation.level, escalation.reasons, escalation.pending, model)


def shown_verdict(level: str, reasons, pending, model) -> Verdict:
    """A level, the reasons that fired and the open rule questions, as the alert shows them.

    With no rule question open the level shows; before that, reasons that fired
    show at once (a red flag turns the alert red on the first answer), and with
    none fired there is no level yet. Used for one case and for a diary alike.
    """
    shown = tuple(
        {
            "rule": r.rule,
            "level": r.level,
            "message": r.message,
            "source": source_title(model, r.source),
            "quote": r.quote,
            "not_sure": r.not_sure,
        }
        for r in reasons
    )
    settled = not pending
    return Verdict(level if settled else (shown[0]["level"] if shown else None), settled, tuple(pending), shown)


def is_most_urgent(level: str | None, model) -> bool:
    """Whether ``level`` is the most urgent one (a red flag)."""
    return level is not None and level == list(model.display["levels"])[-1]


def rule_questions(model) -> list[str]:
    """The questions whose answer can fire an escalation rule, in vocabulary order."""
    named = {name for rule in model.priors.escalation.rules for name in rule.when}
    return [name for name in model.variables if name in named]


def source_title(model, source: str) -> str:
    found = model.priors.sources.get(source)
    return found.title if found else source


@dataclass(frozen=True)
class CauseRow:
    """One bar: the cause, its chance now, before any answer, its word and its 90% interval."""

    cause: str
    posterior: float
    prior: float
    word: str
    interval: tuple[float, float]


def cause_rows(result, model) -> list[CauseRow]:
    """Every cause, most probable first."""
    words = model.display["probability_words"]
    return [
        CauseRow(
            c, result.posterior[c], result.prior[c], probability_word(result.posterior[c], words), result.interval[c]
        )
        for c in result.ranking
    ]


def serious_causes(model) -> set[str]:
    """Causes said in plain words, not by the diseases they hold (``display.yaml``'s ``serious_causes``)."""
    return set(model.display["serious_causes"]["causes"])


def likely_causes(result, model) -> list[str]:
    """Causes whose probability earns the first (strongest) word of the display scale, most probable first."""
    words = model.display["probability_words"]
    return [c for c in result.ranking if probability_word(result.posterior[c], words) == words[0]["word"]]


def cause_name(cause: str) -> str:
    return readable(cause).lower()


__all__ = [
    "CauseRow",
    "LinkUpdate",
    "Verdict",
    "case_from_link",
    "cause_rows",
    "infer_case",
    "is_most_urgent",
    "likely_causes",
    "next_question",
    "rule_questions",
    "serious_causes",
    "split_case",
    "stored_case",
    "shown_verdict",
    "verdict",
]
