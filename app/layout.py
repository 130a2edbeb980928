"""The page: a sticky alert, the causes, why and what to ask next, and the questions."""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import dcc, html

import twitchcause.model as twitch_model

from .figures import causes_figure
from .labels import readable, state_label
from .views import GRAPH_CONFIG, red_flag_variables

TWITCH_VARIABLES = ("twitch_site", "spread", "timing", "duration", "frequency", "trend", "intensity")
NOT_ANSWERED = "not answered"
MOST_LIKELY = ""
MOST_LIKELY_LABEL = "the most likely cause"


def question_groups(model) -> list[tuple[str, str, list[str]]]:
    """``(id, heading, variables)`` for the three groups of questions.

    The vocabulary lists the context questions (exposures and history) first,
    then the twitch itself, then what comes with it: "About you" is everything
    before the first question about the twitch, and a question added later
    lands under "What comes with it".
    """
    names = list(model.variables)
    first_twitch = min(names.index(n) for n in TWITCH_VARIABLES if n in names)
    about = names[:first_twitch]
    twitch = [n for n in names[first_twitch:] if n in TWITCH_VARIABLES]
    rest = [n for n in names[first_twitch:] if n not in TWITCH_VARIABLES]
    return [
        ("about-you", "About you", about),
        ("the-twitch", "The twitch", twitch),
        ("comes-with-it", "What comes with it", rest),
    ]


def answer_id(variable: str) -> dict:
    return {"type": "answer", "variable": variable}


def dom_id(component_id: dict) -> str:
    """The element id Dash gives a pattern-matching component (keys sorted, compact JSON)."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def question_field(model, name: str, red_flags: set[str]) -> html.Div:
    variable = model.variables[name]
    options = [{"label": NOT_ANSWERED, "value": ""}] + [
        {"label": state_label(variable, s), "value": s} for s in variable.states
    ]
    badge = dbc.Badge("warning sign", color="danger", className="ms-1") if name in red_flags else None
    return html.Div(
        [
            dbc.Label([variable.question, badge], html_for=dom_id(answer_id(name)), className="mb-1 small fw-semibold"),
            # The placeholder shows while unanswered; the visible "not answered" option clears an answer.
            dbc.Select(id=answer_id(name), options=options, value="", placeholder=NOT_ANSWERED, size="sm"),
        ],
        className="question mb-2",
        **{"data-variable": name},
    )


def evidence_panel(model, examples, red_flags) -> dbc.Card:
    groups = [
        html.Fieldset(
            [
                html.Legend(heading, className="h6 text-primary mt-2"),
                *[question_field(model, n, red_flags) for n in names],
            ],
            id=group_id,
        )
        for group_id, heading, names in question_groups(model)
    ]
    example_buttons = [
        dbc.Button(
            example.label,
            id={"type": "example", "name": name},
            color="secondary",
            outline=True,
            size="sm",
            className="me-1 mb-1",
            title=example.story,
        )
        for name, example in examples.items()
    ]
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("What you notice", className="h5 mb-0")),
            dbc.CardBody(
                [
                    html.P(
                        "Every question is optional: one left \u201cnot answered\u201d counts as unknown, never as no.",
                        className="small text-body-secondary",
                    ),
                    html.Div(
                        [html.Span("Try an example: ", className="small me-1"), *example_buttons],
                        role="group",
                        **{"aria-label": "Example cases"},
                    ),
                    dbc.Button(
                        [
                            html.I(className="bi bi-arrow-counterclockwise me-1", **{"aria-hidden": "true"}),
                            "Reset all answers",
                        ],
                        id="reset",
                        color="link",
                        size="sm",
                        className="px-0",
                    ),
                    html.Div(groups, id="questions", role="form", **{"aria-label": "Questions"}),
                ]
            ),
        ],
        className="mb-3",
    )


def results_panel(model, first_result) -> html.Div:
    descriptions = {c: d["description"] for c, d in model.schema()["causes"].items()}
    cause_options = [{"label": MOST_LIKELY_LABEL, "value": MOST_LIKELY}] + [
        {"label": readable(c), "value": c} for c in model.causes
    ]
    return html.Div(
        [
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("How likely is each cause?", className="h5 mb-0")),
                    dbc.CardBody(
                        [
                            html.P(
                                "Bars: the chance each cause is contributing, given your answers. "
                                "Ticks: before any answer. Several causes can contribute at once.",
                                className="small text-body-secondary mb-1",
                            ),
                            dcc.Graph(
                                id="causes-graph",
                                figure=causes_figure(first_result, descriptions),
                                config=GRAPH_CONFIG,
                                className="causes-graph",
                            ),
                            html.Ol(
                                id="cause-summary",
                                className="visually-hidden",
                                **{"aria-label": "Causes, most likely first"},
                            ),
                            html.P(twitch_model.DISCLAIMER, className="small text-body-secondary mb-0 disclaimer"),
                        ]
                    ),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Ask next", className="h5 mb-0")),
                    dbc.CardBody(html.Div(id="ask-next"), className="py-1"),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Why?", className="h5 mb-0")),
                    dbc.CardBody(
                        [
                            dbc.Label("Explain", html_for="why-cause", className="small fw-semibold mb-1"),
                            dbc.Select(
                                id="why-cause",
                                options=cause_options,
                                value=MOST_LIKELY,
                                placeholder=MOST_LIKELY_LABEL,
                                size="sm",
                                className="mb-2",
                            ),
                            html.H3(id="why-heading", className="h6"),
                            html.Div(id="why-evidence", **{"aria-live": "polite"}),
                            html.H3("What you can do", className="h6 mt-3"),
                            html.Div(id="why-advice"),
                        ]
                    ),
                ],
                className="mb-3",
            ),
        ]
    )


def build_layout(model, examples) -> html.Div:
    """The whole page; every part that depends on the answers is filled by callbacks."""
    red_flags = red_flag_variables(model)
    first_result = model.infer({})
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="case", data={}),
            html.A("Skip to the questions", href="#questions", className="visually-hidden-focusable"),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand(
                            [html.I(className="bi bi-activity me-2", **{"aria-hidden": "true"}), "twitchcause"]
                        ),
                        html.Span(
                            "Why is my toe, foot or leg twitching? It informs; it does not diagnose.",
                            className="navbar-text small text-white-50",
                        ),
                    ],
                    fluid="lg",
                ),
                color="dark",
                dark=True,
                className="py-1",
            ),
            html.Div(
                dbc.Container(
                    [
                        html.Div(id="escalation", role="region", **{"aria-label": "What to do", "aria-live": "polite"}),
                        dbc.Alert(
                            id="url-notice",
                            color="warning",
                            is_open=False,
                            dismissable=True,
                            className="mt-2 mb-0 small",
                        ),
                    ],
                    fluid="lg",
                    className="py-2",
                ),
                className="status-bar sticky-top",
                id="status-bar",
            ),
            html.Main(
                dbc.Container(
                    dbc.Row(
                        [
                            dbc.Col(results_panel(model, first_result), lg=7),
                            dbc.Col(evidence_panel(model, examples, red_flags), lg=5),
                        ]
                    ),
                    fluid="lg",
                    className="pt-3",
                ),
                id="main",
            ),
            html.Footer(
                dbc.Container(html.P(twitch_model.DISCLAIMER, className="small mb-0"), fluid="lg"),
                className="bg-light border-top py-3 mt-2",
            ),
        ]
    )
