"""Pieces of the page built from what the model returns (plain functions, no callbacks)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from .figures import explanation_figure
from .labels import percent, readable, state_label

# Colour, icon and heading of the alert for each escalation level of the vocabulary.
LEVEL_LOOK = {
    "self_care": ("success", "bi-check-circle-fill", "Self-care"),
    "see_doctor": ("warning", "bi-exclamation-triangle-fill", "See a doctor"),
    "see_doctor_promptly": ("danger", "bi-exclamation-octagon-fill", "See a doctor promptly"),
}
UNKNOWN_LEVEL_LOOK = ("secondary", "bi-info-circle-fill", None)
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def red_flag_variables(model) -> set[str]:
    """Questions whose answer alone can call for the most urgent level."""
    return set(model.red_flags)


def source_title(model, source: str) -> str:
    found = model.priors.sources.get(source)
    return found.title if found else source


def escalation_alert(result, model) -> dbc.Alert:
    """The alert for ``result.escalation``: colour and icon by level, every reason with its source."""
    level = result.escalation.level
    colour, icon, heading = LEVEL_LOOK.get(level, UNKNOWN_LEVEL_LOOK)
    reasons = [
        html.Li(
            [
                html.Span(reason.message),
                html.Span(
                    [" Source: ", html.Cite(source_title(model, reason.source))],
                    className="reason-source",
                    title=f"\u201c{reason.quote}\u201d",
                ),
            ],
            className=f"reason reason-{reason.level}",
            **{"data-rule": reason.rule},
        )
        for reason in result.escalation.reasons
    ]
    if not reasons:
        summary = (
            "No warning signs among your answers so far."
            if result.evidence
            else "No answers yet: answer the questions below, or load an example."
        )
        reasons = [html.Li(summary, className="reason")]
    return dbc.Alert(
        html.Div(
            [
                html.I(className=f"bi {icon} level-icon", **{"aria-hidden": "true"}),
                html.Div(
                    [
                        html.H2(
                            [
                                heading or readable(level),
                                html.Span(
                                    f" \u2014 {model.priors.level_descriptions.get(level, '')}",
                                    className="level-description",
                                ),
                            ],
                            className="h6 alert-heading mb-1",
                        ),
                        html.Ul(reasons, className="reasons mb-0"),
                    ],
                    className="flex-grow-1",
                ),
            ],
            className="d-flex gap-2",
        ),
        id="escalation-alert",
        color=colour,
        className=f"escalation mb-0 level-{level}",
    )


def notices_view(notices: list[str]):
    """The list shown when a link held answers that had to be ignored."""
    return [
        html.Strong("Some of the link could not be used, so it was ignored: "),
        html.Ul([html.Li(n) for n in notices], className="mb-0"),
    ]


def cause_summary(result) -> list:
    """The chart as text, for screen readers and anyone who cannot see it."""
    return [
        html.Li(
            f"{readable(c)}: {percent(result.posterior[c])} (before any answer {percent(result.prior[c])})",
            **{"data-cause": c},
        )
        for c in result.ranking
    ]


def ask_next_view(questions, model):
    """One card per suggested question, with a button for each answer."""
    if not questions:
        return html.P("Every question is answered.", className="text-body-secondary mb-0")
    items = []
    for question in questions:
        variable = model.variables[question.variable]
        badge = dbc.Badge("warning sign", color="danger", className="ms-2") if question.red_flag else None
        buttons = [
            dbc.Button(
                state_label(variable, state),
                id={"type": "quick-answer", "variable": question.variable, "state": state},
                color="primary",
                outline=True,
                size="sm",
                className="me-1 mb-1",
            )
            for state in variable.states
        ]
        items.append(
            html.Li(
                [
                    html.P([question.question, badge], className="mb-1 fw-semibold"),
                    html.Div(buttons, role="group", **{"aria-label": question.question}),
                ],
                className="list-group-item",
                **{"data-variable": question.variable},
            )
        )
    return html.Ol(items, className="list-group list-group-flush ask-next")


def explanation_view(cause: str, contributions, model):
    """What speaks for and against ``cause``: a chart, or a hint when nothing is answered."""
    if not contributions:
        return html.P(
            f"Answer a few questions to see what speaks for or against {readable(cause).lower()}.",
            className="text-body-secondary",
        )
    return dcc.Graph(
        id="why-graph",
        figure=explanation_figure(contributions, model.variables),
        config=GRAPH_CONFIG,
        className="why-graph",
    )


def advice_view(cause: str, model):
    """Self-care advice the articles give for ``cause``, each with its quote and source."""
    items = model.priors.advice.get(cause, [])
    if not items:
        return html.P("The articles give no self-care advice for this cause.", className="text-body-secondary")
    return html.Ul(
        [
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
            for item in items
        ],
        className="list-group list-group-flush advice",
    )
