"""The parts of the page drawn on the server: notices, "Why?" in words, advice, the doctor's summary.

Plain functions from the model's answers to Dash components; the bars and the
alert are drawn in the browser from numbers (``assets/twitchcause.js``).
"""

from __future__ import annotations

import math
from datetime import date

from dash import html

import twitchcause.model as twitch_model

from .case import alert_numbers, cause_name, chosen_cause, likely_causes, source_title
from .labels import percent, percent_range, probability_word, readable, state_label

SUMMARY_TOP_CAUSES = 5


def notices_view(notices: list[str]):
    """The list shown when a link held answers that had to be ignored."""
    return [
        html.Button(
            type="button", className="btn-close float-end", **{"aria-label": "Close", "data-dismiss": "url-notice"}
        ),
        html.Strong("Some of the link could not be used, so it was ignored: "),
        html.Ul([html.Li(n) for n in notices], className="mb-0"),
    ]


def answer_phrase(variable: str, state: str, model) -> str:
    v = model.variables[variable]
    return f"Your answer \u201c{state_label(v, state)}\u201d to \u201c{v.question}\u201d"


def why_sentences(evidence: dict[str, str], cause: str, result, model) -> list[str]:
    """What speaks for and against ``cause``, in words, strongest first; no numbers.

    An answer that speaks against ``cause`` but for the most likely other cause
    is said as a comparison ("points more to dehydration than to overexertion").
    """
    if not evidence:
        return []
    strong = math.log(model.display["strong_answer_odds"])
    rival = next(c for c in result.ranking if c != cause)
    for_rival = {c.variable: c.direction for c in model.explain(evidence, rival)}
    sentences = []
    for item in model.explain(evidence, cause):
        if item.direction == "neutral":
            continue
        phrase = answer_phrase(item.variable, item.state, model)
        if item.direction == "conflicts" and for_rival.get(item.variable) == "supports":
            sentences.append(f"{phrase} points more to {cause_name(rival)} than to {cause_name(cause)}.")
            continue
        much = "much " if abs(item.contribution) >= strong else ""
        way = "more" if item.direction == "supports" else "less"
        sentences.append(f"{phrase} makes {cause_name(cause)} {much}{way} likely.")
    return sentences


def why_view(evidence: dict[str, str], chosen: str | None, result, model) -> list:
    cause = chosen_cause(chosen, result, model)
    sentences = why_sentences(evidence, cause, result, model)
    heading = html.H3(f"{readable(cause)}: what speaks for and against it", id="why-heading", className="h6")
    if not sentences:
        hint = (
            f"None of your answers changes how likely {cause_name(cause)} is."
            if evidence
            else f"Answer a few questions to see what speaks for or against {cause_name(cause)}."
        )
        return [heading, html.P(hint, className="text-body-secondary")]
    return [heading, html.Ul([html.Li(s) for s in sentences], className="why-list")]


def advice_items(cause: str, model) -> list:
    return [
        html.Li(
            [
                html.P(item.text, className="mb-1"),
                html.Small(
                    [f"\u201c{item.quote}\u201d \u2014 ", html.Cite(source_title(model, item.source))],
                    className="text-body-secondary",
                ),
            ],
            className="list-group-item px-0",
            **{"data-source": item.source},
        )
        for item in model.priors.advice.get(cause, [])
    ]


def advice_view(result, evidence: dict[str, str], model):
    """Self-care advice for the causes the answers make likely (none before a verdict is earned)."""
    causes = likely_causes(result, model)
    if not causes:
        return html.P(
            "Advice appears here for the causes your answers make likely; none is likely yet.",
            className="text-body-secondary mb-0",
        )
    return [
        html.Div(
            [
                html.H4(readable(c), className="h6 mt-2 mb-0"),
                html.Ul(advice_items(c, model), className="list-group list-group-flush advice"),
            ],
            **{"data-cause": c},
        )
        for c in causes
    ]


def help_sentences(evidence: dict[str, str], model) -> list[str]:
    """What would help, from the model's counterfactuals: "Cutting out caffeine ... would lower caffeine 62% -> 5%"."""
    sentences = []
    for item in model.what_would_help(evidence):
        parts = [f"{cause_name(c)} {percent(item.before[c])} \u2192 {percent(item.after[c])}" for c in item.causes]
        sentences.append(f"{item.action} would lower {', '.join(parts)}.")
    return sentences


def help_view(evidence: dict[str, str], model):
    sentences = help_sentences(evidence, model)
    if not sentences:
        return html.P(
            "None of your answers is a habit or exposure whose change the articles tie to a listed cause.",
            className="text-body-secondary mb-0",
        )
    return html.Ul([html.Li(s) for s in sentences], className="help-list mb-0")


def summary_view(evidence: dict[str, str], result, model, today: date | None = None):
    """A print-ready page for a doctor: the alert and its sources, the answers given, the top causes."""
    alert = alert_numbers(result, evidence, model)
    looks = model.display["levels"]
    level = looks[alert["level"]]["heading"] if alert["level"] else "No verdict yet: too few answers"
    words = model.display["probability_words"]
    top = [c for c in result.ranking if result.posterior[c] >= words[-2]["at_least"]][:SUMMARY_TOP_CAUSES]
    cause_rows = []
    for c in top:
        spread = percent_range(*result.interval[c])
        word = probability_word(result.posterior[c], words)
        cause_rows.append(html.Li(f"{readable(c)}: {percent(result.posterior[c])} ({spread}), {word}"))
    no_clear = model.display["no_clear_cause"]
    cause_rows.append(
        html.Li(f"No clear cause: {percent(result.none_identified)}. {no_clear['text']}", className="no-clear")
    )
    answers = [
        html.Li([html.Span(f"{model.variables[v].question} "), html.Strong(state_label(model.variables[v], s))])
        for v, s in evidence.items()
    ]
    helps = help_sentences(evidence, model)
    return [
        html.H2("twitchcause: summary for your doctor", className="h4"),
        html.P(f"Made on {(today or date.today()).isoformat()} from the answers below.", className="mb-2"),
        html.H3(level, className="h5"),
        html.Ul(
            [
                html.Li([r["message"], " Source: ", html.Cite(r["source"]), f" \u2014 \u201c{r['quote']}\u201d"])
                for r in alert["reasons"]
            ]
        )
        if alert["reasons"]
        else None,
        html.H3("Answers given", className="h6"),
        html.Ul(answers) if answers else html.P("No answers given."),
        html.H3("Most likely causes, each with its 90% interval", className="h6"),
        html.Ul(cause_rows),
        html.H3("What would help", className="h6") if helps else None,
        html.Ul([html.Li(s) for s in helps]) if helps else None,
        html.P(twitch_model.DISCLAIMER, className="small mt-2"),
    ]
