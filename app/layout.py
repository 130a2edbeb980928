"""The page: a sticky alert, the ways to answer, the results, and a summary for the doctor.

Every part is a Dash component built here or in ``views``/``questions``; the
page as it is with no answer (the alert, the first question) is built here, so
an empty page costs no callback; the callbacks fill what the answers change. A new way to answer (a
panel beside the interview and the form) goes into :func:`answer_sections`, a
new part of the results into :func:`result_sections`.
"""

from __future__ import annotations

from dash import dcc, html

import twitchcause.model as twitch_model

from .case import infer_case, next_question, verdict
from .diary import diary_section
from .questions import START, interview_view, step_button
from .views import alert_view
from .words import words_section

WAITING = "Your results appear here after your first answer, the warning signs first."


def form_section() -> html.Section:
    """The full form: its heading and how to answer; its examples, Reset and questions are drawn (by
    :func:`form_tools` and the callbacks) the first time it is on screen."""
    return html.Section(
        [
            html.H2("All questions", className="h5", id="form-heading"),
            html.P(
                "Every question is optional: one left \u201cnot answered\u201d counts as unknown, never as no. "
                "Arrow keys move between the answers of a question; Space chooses one.",
                className="small text-body-secondary",
            ),
            html.Div(id="questions"),  # drawn the first time the form is on screen
        ],
        id="form-section",
        className="card card-body mb-3",
        **{"aria-labelledby": "form-heading"},
    )


def form_tools(examples) -> list:
    """What the form shows above its questions: the example cases and Reset."""
    example_buttons = [
        html.Button(
            example.label,
            id={"type": "example", "name": name},
            type="button",
            className="btn btn-outline-secondary btn-sm me-1 mb-1",
            title=example.story,
            **{"data-example": name},
        )
        for name, example in examples.items()
    ]
    return [
        html.Div(
            [html.Span("Try an example: ", className="small me-1"), *example_buttons],
            role="group",
            **{"aria-label": "Example cases"},
        ),
        html.Div(step_button("Reset all answers", "reset", "btn btn-link btn-sm px-0")),
    ]


def interview_section(model) -> html.Section:
    """The guided interview, at its first question; the callbacks draw the question the model asks next."""
    first = next_question({}, model)
    return html.Section(
        [
            html.H2("One question at a time", className="h5", id="interview-heading"),
            html.Div(interview_view({}, START, first.variable if first else None, model), id="interview"),
        ],
        id="interview-section",
        className="card card-body mb-3",
        **{"aria-labelledby": "interview-heading"},
    )


def mode_switch() -> html.Div:
    """One button to switch to the other way of answering (which one shows depends on the mode)."""
    return html.Div(
        [
            step_button(
                "Answer one question at a time instead", "interview", "btn btn-outline-primary btn-sm to-interview"
            ),
            step_button("See all questions instead", "form", "btn btn-outline-primary btn-sm to-form"),
        ],
        className="mb-2 mode-switch",
    )


def answer_sections(model) -> list:
    """The ways to answer, in order: the interview (the start) and the full form (one click away)."""
    return [interview_section(model), form_section()]


def result_sections() -> list:
    """The results, in order: what to do and when, the causes and when to see a doctor anyway, then the
    details one tap away."""
    return [
        html.Div(id="result-lead", className="mb-3"),
        html.H3("How likely is each cause?", className="h6"),
        html.P(
            "The chance each cause is contributing, given your answers, with the range it could reasonably take; "
            "the tick marks the chance before any answer. Several causes can contribute at once. "
            "Open a cause to read what it is and why.",
            className="small text-body-secondary mb-2",
        ),
        html.Div(id="result-causes"),
        html.Details(
            [
                html.Summary("What would help, and what you can do", className="fw-semibold"),
                html.H4("What would help", className="h6 mt-2"),
                html.Div(id="help", className="mb-3"),
                html.H4("What you can do", className="h6"),
                html.Div(id="advice", className="mb-2"),
            ],
            className="more mb-3",
        ),
        html.Button(
            "Summary for your doctor (print)",
            type="button",
            id="print-summary",
            className="btn btn-outline-dark btn-sm mb-3",
        ),
        html.P(twitch_model.DISCLAIMER, className="small text-body-secondary mb-0"),
    ]


def results_section() -> html.Section:
    return html.Section(
        [
            html.H2("Your result", className="h5", id="results-heading", tabIndex="-1"),
            html.P(WAITING, className="results-wait text-body-secondary"),
            html.Div(result_sections(), className="results-body", **{"aria-live": "polite"}),
        ],
        id="results",
        className="card card-body mb-3 results-waiting",
        **{"aria-labelledby": "results-heading"},
    )


def build_layout(model, examples) -> html.Div:
    """The whole page; the parts that depend on the answers are filled by the callbacks on load."""
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            # The stores start empty (None reads as their empty value: the interview's start, no story
            # read, nothing focused, the form not wanted): a store given data at first sets it again as it
            # is drawn, a round of the renderer each.
            dcc.Store(id="case"),  # set from the address on load, when it holds answers
            dcc.Store(id="interview-state"),
            dcc.Store(id="from-words"),  # the answers the story gave: {variable: state}
            dcc.Store(id="drawn-case"),  # the case whose bars are on screen: its details follow
            dcc.Store(id="focused"),  # the interview step focus last moved for
            dcc.Store(id="form-wanted"),
            dcc.Store(id="form-focus"),  # the form answer just chosen, focused again once drawn
            html.A("Skip to the questions", href="#answer-panel", className="visually-hidden-focusable"),
            html.Div(
                html.Div(
                    html.Div(
                        alert_view(verdict(infer_case({}, model), {}, model), model),
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
                                    [words_section(), mode_switch(), *answer_sections(model)],
                                    id="answer-panel",
                                    className="col-lg-5 order-lg-last mode-interview",
                                ),
                                html.Div([results_section(), diary_section(model)], className="col-lg-7"),
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
