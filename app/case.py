"""What the callbacks do, as plain functions: answers in, the case and the page out.

The case is a dict ``{variable: state}`` of answered questions; it lives in the
URL and in a ``dcc.Store``, never in this module. Whatever the browser sends is
checked again here, so a tampered store or link cannot reach the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .figures import causes_figure
from .labels import readable
from .state import clean_answers, parse_query, to_query
from .views import advice_view, ask_next_view, cause_summary, escalation_alert, explanation_view

ASK_NEXT_COUNT = 3


@dataclass(frozen=True)
class CaseUpdate:
    """A new case; ``notices`` and ``search`` are None when they should stay as they are."""

    evidence: dict[str, str]
    notices: list[str] | None = None
    search: str | None = None


def update_case(
    trigger, clicked: bool, *, search: str | None, answers: dict, current: dict | None, model, examples
) -> CaseUpdate | None:
    """The case after one event, or None when nothing should change.

    Parameters
    ----------
    trigger : None, str or dict
        What fired: None on page load; ``"url"`` (back/forward), ``"reset"``; a
        dict id ``{"type": "answer" | "example" | "quick-answer", ...}``.
    clicked : bool
        False when a button fired only because it was just drawn (no click).
    search : str
        The page's query string.
    answers : dict
        ``{variable: value}`` of every question's select ("" = not answered).
    current : dict
        The case in the store.
    """
    kind = trigger.get("type") if isinstance(trigger, dict) else trigger
    if kind in (None, "url"):
        evidence, notices = parse_query(search, model.variables)
        return CaseUpdate(evidence, notices)
    if kind in ("reset", "example", "quick-answer") and not clicked:
        return None
    if kind == "reset":
        evidence = {}
    elif kind == "example":
        name = trigger.get("name")
        evidence = dict(examples[name].evidence) if isinstance(name, str) and name in examples else None
    elif kind == "quick-answer":
        clicked_answer = {str(trigger.get("variable")): trigger.get("state")}
        evidence, _ = clean_answers({**stored_case(current), **clicked_answer}.items(), model.variables)
    elif kind == "answer":
        evidence, _ = clean_answers(answers.items(), model.variables)
    else:
        evidence = None
    if evidence is None:
        return None
    query = to_query(evidence, model.variables)
    return CaseUpdate(evidence, search=query if query != (search or "") else None)


def stored_case(data) -> dict:
    """The store's content as a case; anything but a JSON object counts as no answers."""
    return data if isinstance(data, dict) else {}


def _result(evidence, model):
    evidence, _ = clean_answers(stored_case(evidence).items(), model.variables)
    return evidence, model.infer(evidence)


def render_case(evidence: dict | None, model) -> dict:
    """Everything that depends on the answers: alert, chart, its text and what to ask next."""
    evidence, result = _result(evidence, model)
    descriptions = {c: d["description"] for c, d in model.schema()["causes"].items()}
    questions = model.ask_next(evidence, n=ASK_NEXT_COUNT)
    return {
        "alert": escalation_alert(result, model),
        "figure": causes_figure(result, descriptions),
        "summary": cause_summary(result),
        "ask_next": ask_next_view(questions, model),
    }


def render_why(evidence: dict | None, chosen: str | None, model) -> dict:
    """Why a cause: what speaks for and against it, and the articles' advice for it.

    ``chosen`` is a cause, or "" for the most likely one.
    """
    evidence, result = _result(evidence, model)
    cause = chosen if chosen in model.causes else result.ranking[0]
    contributions = model.explain(evidence, cause) if evidence else []
    return {
        "heading": f"{readable(cause)}: what speaks for and against it",
        "evidence": explanation_view(cause, contributions, model),
        "advice": advice_view(cause, model),
    }


def cause_from_click(click_data, model) -> str | None:
    """The cause of a clicked bar, or None."""
    try:
        label = click_data["points"][0]["y"]
    except (TypeError, KeyError, IndexError):
        return None
    return next((c for c in model.causes if readable(c) == label), None)


__all__ = ["CaseUpdate", "cause_from_click", "render_case", "render_why", "stored_case", "update_case"]
