"""What the callbacks compute, as plain functions: the case in, numbers out.

The case is a dict ``{variable: state}`` of answered questions; it lives in the
URL and in a ``dcc.Store``, never in this module. Whatever the browser sends is
checked again here, so a tampered store or link cannot reach the model. The
browser draws the numbers (``assets/twitchcause.js``); nothing here builds HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

from .labels import probability_word, readable
from .state import clean_answers, parse_query


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


def earned(evidence: dict[str, str], model) -> bool:
    """Whether the answers can support a verdict: every warning sign answered, or a few answers."""
    enough = model.display["interview"]["earned_after_answers"]
    return all(flag in evidence for flag in model.red_flags) or len(evidence) >= enough


def source_title(model, source: str) -> str:
    found = model.priors.sources.get(source)
    return found.title if found else source


def interval_numbers(evidence: dict[str, str], result) -> dict:
    """Each cause's 90% interval, with the case it belongs to (the browser drops a stale one)."""
    return {"case": evidence, "interval": {c: list(bounds) for c, bounds in result.interval.items()}}


def alert_numbers(result, evidence: dict[str, str], model) -> dict:
    """The level to show and the reasons that fired.

    Deterministic rules always show at once (a red flag turns the alert red on
    the first answer); a level that rests on probabilities, self-care
    included, shows only once the answers have earned it. ``level`` None is the
    neutral "answer a few questions" alert.
    """
    rules = {rule.id for rule in model.priors.escalation.rules}
    verdict = earned(evidence, model)
    reasons = [r for r in result.escalation.reasons if verdict or r.rule in rules]
    level = reasons[0].level if reasons else (result.escalation.level if verdict else None)
    return {
        "level": level,
        "reasons": [
            {
                "rule": r.rule,
                "level": r.level,
                "message": r.message,
                "source": source_title(model, r.source),
                "quote": r.quote,
            }
            for r in reasons
        ],
    }


def case_view(data, model) -> dict:
    """Everything the page draws for a case, as numbers and short words (JSON-ready).

    Returns
    -------
    dict
        ``answered`` (count), ``earned`` (bool), ``alert`` (see
        :func:`alert_numbers`), ``causes`` (``[cause, posterior, prior,
        word]``, most probable first; the intervals follow separately, see
        :func:`interval_numbers`),
        ``none`` (``[P(no listed cause), before any answer]``) and ``next``
        (``[variable, information gain in bits, is a warning sign]`` for every
        unanswered question, in the order to ask them).
    """
    evidence = stored_case(data, model)
    result = model.infer(evidence)
    words = model.display["probability_words"]
    causes = [
        [c, result.posterior[c], result.prior[c], probability_word(result.posterior[c], words)] for c in result.ranking
    ]
    return {
        "answered": len(evidence),
        "earned": earned(evidence, model),
        "alert": alert_numbers(result, evidence, model),
        "causes": causes,
        "none": [result.none_identified, model.prior_none_identified],
        "next": [[q.variable, q.information_gain, q.red_flag] for q in model.ask_next(evidence)],
    }


def likely_causes(result, model) -> list[str]:
    """Causes whose probability earns the first (strongest) word of the display scale, most probable first."""
    words = model.display["probability_words"]
    return [c for c in result.ranking if probability_word(result.posterior[c], words) == words[0]["word"]]


def chosen_cause(chosen: str | None, result, model) -> str:
    """The cause picked under "Why?", or the most likely one for "" or anything unknown."""
    return chosen if chosen in model.causes else result.ranking[0]


def cause_name(cause: str) -> str:
    return readable(cause).lower()


__all__ = [
    "LinkUpdate",
    "alert_numbers",
    "case_from_link",
    "case_view",
    "interval_numbers",
    "chosen_cause",
    "earned",
    "likely_causes",
    "stored_case",
]
