"""What a person sees about their case, as Dash components built by plain functions.

The alert, what to do and when, the bars, "Why?", the advice and the doctor's
summary: each a function of the model's answers that tests call without a
browser. Numbers are formatted here (``labels``) and nowhere else.
"""

from __future__ import annotations

import functools
import math
from datetime import date

from dash import html

import twitchcause.model as twitch_model

from .case import (
    CauseRow,
    Verdict,
    cause_name,
    cause_rows,
    infer_case,
    is_most_urgent,
    likely_causes,
    rule_questions,
    serious_causes,
    source_title,
    split_case,
    verdict,
)
from .labels import LEVEL_ICONS, answer_label, names_list, percent, percent_range, readable, state_label, text_of
from .state import NOT_SURE

SUMMARY_TOP_CAUSES = 5
NO_VERDICT = "No verdict yet"


def notices_view(notices: list[str]):
    """The list shown when a link held answers that had to be ignored."""
    return [
        html.Strong("Some of the link could not be used, so it was ignored: "),
        html.Ul([html.Li(n) for n in notices], className="mb-0"),
    ]


def look_of(level: str | None, model) -> dict:
    """The display entry of ``level`` (heading, colour, time frame, what to do), or the neutral one."""
    if level is None:
        return {"heading": NO_VERDICT, "colour": "secondary"}
    return model.display["levels"][level]


def heading_view(level: str | None, model, tag=html.H2, **props):
    look = look_of(level, model)
    return tag(
        [html.Span(LEVEL_ICONS[look["colour"]], className="level-icon", **{"aria-hidden": "true"}), look["heading"]],
        **props,
    )


ALERT_NAMES = 3  # the sticky alert names this many questions still open, then counts the rest


def pending_text(pending: tuple[str, ...], model, shown: int | None = None) -> str:
    """ "Not yet: 2 warning-sign questions left: weakness and persistent pain." (the first ``shown`` named)."""
    count = len(pending)
    noun = "question" if count == 1 else "questions"
    names = [model.display["question_names"][p] for p in pending]
    if shown is not None and count > shown:
        names = [*names[:shown], f"{count - shown} more"]
    return f"Not yet: {count} warning-sign {noun} left: {names_list(names)}."


def lead_text(v: Verdict) -> str:
    if v.reasons:
        more = f" (and {len(v.reasons) - 1} more)" if len(v.reasons) > 1 else ""
        return v.reasons[0]["message"] + more
    if v.settled:
        return "No warning signs among your answers."
    return "Answer the questions, the warning signs first: a verdict needs answers to rest on."


def alert_view(v: Verdict, model) -> html.Div:
    """The sticky alert: the level with its mark, when to act, the first reason, and what is still open."""
    look = look_of(v.level, model)
    when = text_of(look.get("time_frame"))
    return html.Div(
        [
            heading_view(v.level, model, className="h6 alert-heading mb-0"),
            html.P(when, className="when mb-0 fw-semibold") if when and v.level else None,
            html.P(lead_text(v), className="lead-reason mb-0"),
            html.P(pending_text(v.pending, model, ALERT_NAMES), className="pending mb-0") if v.pending else None,
        ],
        id="escalation-alert",
        className=f"alert alert-{look['colour']} escalation mb-0 level-{v.level or 'none'}",
    )


def reasons_view(v: Verdict):
    """Why this level: each reason in a line, its source and quote one tap away."""
    if not v.reasons:
        return None
    return [
        html.Ul(
            [
                html.Li(r["message"], className=f"reason reason-{r['level']}", **{"data-rule": r["rule"]})
                for r in v.reasons
            ],
            className="reasons mb-1",
        ),
        html.Details(
            [
                html.Summary("Where this comes from", className="small"),
                html.Ul(
                    [
                        html.Li(
                            [html.Cite(r["source"]), f": \u201c{r['quote']}\u201d"], className="reason-source small"
                        )
                        for r in v.reasons
                    ],
                    className="mb-1",
                ),
            ]
        ),
    ]


def what_to_do_view(look: dict):
    items = look.get("what_to_do")
    if not items:
        return None
    items = items if isinstance(items, list) else [items]
    return html.Ul([html.Li(text_of(item)) for item in items], className="what-to-do")


@functools.cache
def safety_net_view(model):
    """The documents' own "see a doctor if" conditions (after the causes of every result), their quotes one
    tap away. The same for every case: built once per model and drawn with the first result (an empty
    page's first render does not pay for it)."""
    net = model.safety_net
    return html.Div(
        [
            html.H4("See a doctor if", className="h6 mb-1"),
            html.Ul([html.Li(text_of(item.get("condition"))) for item in net], className="mb-1"),
            html.Details(
                [
                    html.Summary("Where these come from", className="small"),
                    html.Ul(
                        [
                            html.Li(
                                [
                                    f"\u201c{item.get('quote', '')}\u201d \u2014 ",
                                    html.Cite(source_title(model, item.get("source", ""))),
                                ],
                                className="small",
                            )
                            for item in net
                        ],
                        className="mb-0",
                    ),
                ]
            ),
        ],
        className="safety-net mb-3",
        id="safety-net",
    )


def lead_view(v: Verdict, model) -> html.Div:
    """What the results lead with: the level, when, what to do, why and what is still open (the safety net
    follows the causes: :func:`safety_net_view`)."""
    look = look_of(v.level, model)
    when = text_of(look.get("time_frame"))
    return html.Div(
        [
            heading_view(v.level, model, tag=html.H3, className="h5 mb-1"),
            html.P(when, className="when fw-semibold mb-1") if when and v.level else None,
            what_to_do_view(look) if v.level else None,
            *(reasons_view(v) or []),
            html.P(pending_text(v.pending, model), className="pending fw-semibold") if v.pending else None,
        ],
        className=f"result-lead level-{v.level or 'none'} border-{look['colour']}",
    )


def bar_view(row: CauseRow) -> html.Span:
    """A cause's bar: its chance filled, its interval a band, the chance before any answer a tick.

    One element whose custom properties the stylesheet draws (``.bar``): a main
    callback draws twelve of them per answer, and each element costs its share.
    """
    low, high = row.interval
    return html.Span(
        className="bar",
        style={
            "--p": f"{row.posterior:.1%}",
            "--low": f"{low:.1%}",
            "--band": f"{high - low:.1%}",
            "--before": f"{row.prior:.1%}",
        },
        **{"aria-hidden": "true"},
    )


def sentence(text: str) -> str:
    """``text`` with a capital and a full stop."""
    text = text.rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."


@functools.cache
def cause_parts(cause: str, model) -> tuple:
    """The parts of a cause's row that no answer changes: its name, what it is with its chance before any
    answer, and the place "Why?" fills. Built once per model and cause: a main callback draws twelve rows
    per answer, and each component costs its share."""
    # A serious cause in plain words (what a high chance of it means), not the diseases it holds.
    words = model.display["serious_causes"]["causes"].get(cause)
    description = text_of(words) if cause in serious_causes(model) else sentence(model.priors.causes[cause])
    return (
        html.Span(readable(cause), className="cause-name"),
        html.P(f"{description} Before any answer: {percent(model.prior[cause])}.", className="mb-1"),
        html.Div(id={"type": "why", "cause": cause}, className="why"),
    )


def cause_view(row: CauseRow, model, serious: bool) -> html.Li:
    name, description, why = cause_parts(row.cause, model)
    return html.Li(
        html.Details(
            [
                html.Summary(
                    [
                        name,
                        html.Span(
                            [
                                html.Strong(percent(row.posterior)),
                                f" {row.word} ",
                                html.Span(f"({percent_range(*row.interval)})", className="interval"),
                            ],
                            className="cause-value",
                        ),
                        bar_view(row),
                    ]
                ),
                html.Div(
                    [
                        # Where a phone shows the interval: its bar's line holds only the name and chance.
                        html.P(f"90% interval: {percent_range(*row.interval)}", className="interval-more mb-1"),
                        description,
                        why,
                    ],
                    className="cause-more small",
                ),
            ]
        ),
        className="cause" + (" serious" if serious else ""),
        key=row.cause,
        **{"data-cause": row.cause},
    )


def serious_notes_view(result, model):
    """What a high chance of a serious cause means, in plain words, before the bars."""
    if not result.serious_causes:
        return None
    return html.Div(
        [
            html.P(
                [text_of(n), " ", html.Small(["Source: ", html.Cite(source_title(model, n["source"]))])]
                if n.get("source")
                else text_of(n),
                className="mb-1",
            )
            for n in result.serious_causes
        ],
        className="serious-note fw-semibold mb-2",
    )


def causes_view(rows: list[CauseRow], result, v: Verdict, model) -> list:
    """The bars, most likely first; the serious causes in plain words; "no clear cause" only with no doctor's level."""
    serious = serious_causes(model)
    levels = list(model.display["levels"])
    reassure = v.settled and v.level == levels[0]
    no_clear = model.display["no_clear_cause"]
    return [
        serious_notes_view(result, model),
        html.Ol(
            [cause_view(r, model, r.cause in serious) for r in rows],
            id="causes",
            className="causes list-unstyled mb-2",
            **{"aria-label": "Causes, most likely first"},
        ),
        html.P(
            [
                html.Strong(f"No clear cause: {percent(result.none_identified)}"),
                f" (before any answer {percent(model.prior_none_identified)}). {no_clear['text']} ",
                html.Span(
                    ["Source: ", html.Cite(source_title(model, no_clear["source"]))], className="text-body-secondary"
                ),
            ],
            id="no-clear",
            className="no-clear small",
        )
        if reassure
        else None,
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


def why_view(evidence: dict[str, str], cause: str, result, model) -> list:
    """ "Why?" for one cause, in words (inside its bar's details)."""
    sentences = why_sentences(evidence, cause, result, model)
    heading = html.P("Why?", className="fw-semibold mb-0")
    if not sentences:
        hint = (
            f"None of your answers changes how likely {cause_name(cause)} is."
            if evidence
            else f"Answer a few questions to see what speaks for or against {cause_name(cause)}."
        )
        return [heading, html.P(hint, className="text-body-secondary mb-1")]
    return [heading, html.Ul([html.Li(s) for s in sentences], className="why-list mb-1")]


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


def advice_view(result, v: Verdict, model):
    """Self-care advice for the likely causes; none beside a red flag, where it would reassure."""
    if is_most_urgent(v.level, model):
        return html.P("See a doctor first; self-care is not the answer to a warning sign.", className="mb-0")
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


def help_view(sentences: list[str]):
    if not sentences:
        return html.P(
            "None of your answers is a habit or exposure whose change the articles tie to a listed cause.",
            className="text-body-secondary mb-0",
        )
    return html.Ul([html.Li(s) for s in sentences], className="help-list mb-0")


def summary_view(case: dict[str, str], result, v: Verdict, helps: list[str], model, today: date | None = None):
    """A print-ready page for a doctor: the level and its sources, every answer, every "not sure",
    the rule questions never asked, the top causes."""
    answers, not_sure = split_case(case)
    look = look_of(v.level, model)
    words = model.display["probability_words"]
    top = [c for c in result.ranking if result.posterior[c] >= words[-2]["at_least"]][:SUMMARY_TOP_CAUSES]
    cause_rows = [
        html.Li(f"{readable(c)}: {percent(result.posterior[c])} ({percent_range(*result.interval[c])})") for c in top
    ]

    def question_list(names, state_of):
        return html.Ul(
            [html.Li([html.Span(f"{model.variables[n].question} "), html.Strong(state_of(n))]) for n in names]
        )

    never_asked = [n for n in rule_questions(model) if n not in case]
    return [
        html.H2("twitchcause: summary for your doctor", className="h4"),
        html.P(f"Made on {(today or date.today()).isoformat()} from the answers below.", className="mb-2"),
        html.H3(look["heading"] + ("" if v.settled else " (not settled: questions left)"), className="h5"),
        html.P(text_of(look.get("time_frame"))) if v.level and look.get("time_frame") else None,
        html.Ul(
            [
                html.Li([r["message"], " Source: ", html.Cite(r["source"]), f" \u2014 \u201c{r['quote']}\u201d"])
                for r in v.reasons
            ]
        )
        if v.reasons
        else None,
        html.H3("Answers given", className="h6"),
        question_list(answers, lambda n: answer_label(model.variables[n], answers[n], NOT_SURE))
        if answers
        else html.P("No answers given."),
        html.H3("Answered \u201cnot sure\u201d", className="h6"),
        question_list(not_sure, lambda n: "Not sure") if not_sure else html.P("None."),
        html.H3("Warning-sign questions never asked", className="h6"),
        question_list(never_asked, lambda n: "not asked") if never_asked else html.P("None: every one was answered."),
        html.H3("Most likely causes, each with its 90% interval", className="h6"),
        html.Ul(cause_rows) if cause_rows else html.P("None stands out."),
        html.H3("What would help", className="h6") if helps else None,
        html.Ul([html.Li(s) for s in helps]) if helps else None,
        html.P(twitch_model.DISCLAIMER, className="small mt-2"),
    ]


def case_view(case: dict[str, str], model) -> dict:
    """Everything the main callback shows for a validated case: ``alert``, ``lead``, ``causes``
    (components), ``pending`` (the rule questions still open), ``answered`` (count) and the ``case``."""
    result = infer_case(case, model)
    v = verdict(result, case, model)
    return {
        "alert": alert_view(v, model),
        # No answer, no results to show (they wait, hidden): the first screen draws only the alert.
        "lead": lead_view(v, model) if case else [],
        "causes": [*causes_view(cause_rows(result, model), result, v, model), safety_net_view(model)] if case else [],
        "pending": frozenset(v.pending),
        "answered": len(case),
        "case": case,
    }


def details_view(case: dict[str, str], model) -> dict:
    """What the results show one tap away, computed once per case: ``why`` per cause, ``help``,
    ``advice`` and the doctor's ``summary``."""
    result = infer_case(case, model)
    v = verdict(result, case, model)
    answers, _ = split_case(case)
    helps = help_sentences(answers, model)
    return {
        "why": {c: why_view(answers, c, result, model) for c in model.causes},
        "help": help_view(helps),
        "advice": advice_view(result, v, model),
        "summary": summary_view(case, result, v, helps, model),
    }
