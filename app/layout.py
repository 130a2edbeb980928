"""The page: a sticky alert, the interview or the full form, the results, and a summary for the doctor.

The layout is static. The alert, the bars and the interview are drawn in the
browser from the numbers of :func:`app.case.case_view` (``assets/twitchcause.js``);
the words under "Why?", the advice and the doctor's summary come from the server.
"""

from __future__ import annotations

from dash import dcc, html

import twitchcause.model as twitch_model

from .case import source_title
from .labels import readable, state_label

NOT_ANSWERED = "not answered"
MOST_LIKELY = ""
MOST_LIKELY_LABEL = "the most likely cause"
WAITING = "Your results appear here after a few answers, the warning signs first."


def page_data(model, examples) -> dict:
    """What the browser needs to draw numbers: names, questions, answers, examples and display words."""
    display = model.display
    flags = set(model.red_flags)
    no_clear = display["no_clear_cause"]
    return {
        "variables": {
            name: {
                "question": v.question,
                "states": [[s, state_label(v, s)] for s in v.states],
                "flag": name in flags,
            }
            for name, v in model.variables.items()
        },
        "causes": {c: {"label": readable(c), "description": d} for c, d in model.priors.causes.items()},
        "examples": {name: e.evidence for name, e in examples.items()},
        "groups": display["question_groups"],
        "not_answered": NOT_ANSWERED,
        "levels": display["levels"],
        "interview": display["interview"],
        "no_clear_cause": {**no_clear, "source": source_title(model, no_clear["source"])},
    }


def form_section(model, examples) -> html.Section:
    example_buttons = [
        html.Button(
            example.label,
            type="button",
            className="btn btn-outline-secondary btn-sm me-1 mb-1",
            title=example.story,
            **{"data-example": name},
        )
        for name, example in examples.items()
    ]
    return html.Section(
        [
            html.H2("All questions", className="h5", id="form-heading"),
            html.P(
                "Every question is optional: one left \u201cnot answered\u201d counts as unknown, never as no.",
                className="small text-body-secondary",
            ),
            html.Div(
                [html.Span("Try an example: ", className="small me-1"), *example_buttons],
                role="group",
                **{"aria-label": "Example cases"},
            ),
            html.Div(html.Button("Reset all answers", id="reset", type="button", className="btn btn-link btn-sm px-0")),
            # Drawn in the browser from the page data: 32 native selects, no component per question.
            html.Div(id="questions"),
        ],
        id="form-section",
        className="card card-body mb-3",
        **{"aria-labelledby": "form-heading"},
    )


def interview_section() -> html.Section:
    """The frame of the guided interview; the question and its answers are drawn in the browser."""
    return html.Section(
        [
            html.H2("One question at a time", className="h5", id="interview-heading"),
            html.Div(html.P("Loading the first question\u2026", className="text-body-secondary"), id="interview"),
        ],
        id="interview-section",
        className="card card-body mb-3",
        **{"aria-labelledby": "interview-heading"},
    )


def mode_switch() -> html.Div:
    return html.Div(
        [
            html.Button(
                "One question at a time",
                type="button",
                className="btn btn-outline-primary btn-sm",
                **{"data-mode": "interview", "aria-pressed": "false"},
            ),
            html.Button(
                "All questions",
                type="button",
                className="btn btn-outline-primary btn-sm",
                **{"data-mode": "form", "aria-pressed": "false"},
            ),
        ],
        className="btn-group mb-2 mode-switch",
        role="group",
        **{"aria-label": "How to answer"},
    )


def results_section(model) -> html.Section:
    cause_options = [{"label": MOST_LIKELY_LABEL, "value": MOST_LIKELY}] + [
        {"label": readable(c), "value": c} for c in model.causes
    ]
    return html.Section(
        [
            html.H2("How likely is each cause?", className="h5", id="results-heading"),
            html.P(WAITING, className="results-wait text-body-secondary"),
            html.Div(
                [
                    html.P(
                        "The chance each cause is contributing, given your answers, with the range it could "
                        "reasonably take; the tick marks the chance before any answer. Several causes can "
                        "contribute at once. Open a cause to read what it is.",
                        className="small text-body-secondary mb-2",
                    ),
                    html.Ol(
                        id="causes",
                        className="causes list-unstyled mb-2",
                        **{"aria-label": "Causes, most likely first"},
                    ),
                    html.P(id="no-clear", className="no-clear small"),
                    html.Button(
                        "Summary for your doctor (print)",
                        type="button",
                        id="print-summary",
                        className="btn btn-outline-dark btn-sm mb-3",
                    ),
                    html.H3("What would help", className="h6"),
                    html.Div(id="help", className="mb-3"),
                    html.H3("What you can do", className="h6"),
                    html.Div(id="advice", className="mb-3"),
                    html.H3("Why?", className="h6", id="why-title"),
                    html.Label("Explain", htmlFor="why-select", className="form-label small fw-semibold mb-1"),
                    html.Select(
                        [html.Option(o["label"], value=o["value"]) for o in cause_options],
                        id="why-select",
                        className="form-select form-select-sm mb-2",
                    ),
                    html.Div(id="why", **{"aria-live": "polite"}),
                    html.P(twitch_model.DISCLAIMER, className="small text-body-secondary mb-0 mt-2"),
                ],
                className="results-body",
            ),
        ],
        id="results",
        className="card card-body mb-3 results-waiting",
        **{"aria-labelledby": "results-heading"},
    )


def build_layout(model, examples) -> html.Div:
    """The whole page; every part that depends on the answers is filled after load."""
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="case", data={}),
            dcc.Store(id="view"),
            dcc.Store(id="written-search"),
            dcc.Store(id="page-data", data=page_data(model, examples)),
            dcc.Store(id="drawn"),
            dcc.Store(id="intervals"),
            dcc.Store(id="why-cause", data=MOST_LIKELY),
            html.A("Skip to the questions", href="#answer-panel", className="visually-hidden-focusable"),
            html.Div(
                html.Div(
                    html.Div(
                        html.Div(
                            [
                                html.P("Answer a few questions", className="alert-heading fw-semibold mb-0"),
                                html.P("Loading\u2026", className="mb-0 small"),
                            ],
                            className="alert alert-secondary escalation mb-0",
                        ),
                        id="escalation",
                        **{"aria-live": "polite"},
                    ),
                    className="container-lg py-2",
                ),
                className="status-bar sticky-top",
                id="status-bar",
                role="region",
                **{"aria-label": "What to do"},
            ),
            html.Main(
                html.Div(
                    [
                        html.Div(id="url-notice", className="alert alert-warning small mb-2", hidden=True),
                        html.Div(
                            [
                                html.Div(
                                    [mode_switch(), interview_section(), form_section(model, examples)],
                                    id="answer-panel",
                                    className="col-lg-5 order-lg-last mode-auto",
                                ),
                                html.Div(results_section(model), className="col-lg-7"),
                            ],
                            className="row",
                        ),
                    ],
                    className="container-lg pt-3",
                ),
                id="main",
            ),
            html.Section(id="doctor-summary", className="doctor-summary", **{"aria-label": "Summary for your doctor"}),
            html.Footer(
                html.Div(html.P(twitch_model.DISCLAIMER, className="small mb-0"), className="container-lg"),
                className="bg-light border-top py-3 mt-2",
            ),
        ],
        className="page",
    )
