"""The two ways to answer: every question in a form, or one question at a time.

The form is built once: a group of radio buttons per question, with the
pattern-matching id ``{"type": "answer", "question": name}``, that one callback
reads. The interview shows the question the model asks next
(:func:`app.case.next_question`); where it stands (the order of the answers,
how far Back went, whether the person asked for the results) is a small dict in
a ``dcc.Store``, changed only by :func:`step`.
"""

from __future__ import annotations

from dash import html

from .labels import NOT_SURE_LABEL, state_label
from .state import NOT_SURE

NOT_ANSWERED = "Not answered"
MODES = ("interview", "form")  # the interview is the start on every screen: the form is one click away
START = {"order": [], "back": 0, "done": False, "focus": 0, "mode": "interview"}


def choices(variable) -> list[tuple[str, str]]:
    """``(state, label)`` of every answer to a question, "Not sure" last."""
    return [(s, state_label(variable, s)) for s in variable.states] + [(NOT_SURE, NOT_SURE_LABEL)]


def warning_badge():
    return html.Span("warning sign", className="badge text-bg-danger ms-1")


def answer_options(name: str, model) -> list[tuple[str, str]]:
    """``(state, label)`` of a form question's answers: the states, "Not sure", and "Not answered" ("")."""
    return [*choices(model.variables[name]), ("", NOT_ANSWERED)]


def answer_look(state: str, chosen: str, first: str) -> tuple[str, str, str]:
    """``(className, aria-pressed, tabIndex)`` of the form's button for ``state`` when ``chosen`` is chosen.

    One tab stop per question (the chosen answer, else the first): arrow keys move
    between the answers without choosing one (``assets/twitchcause.js``). Nothing
    chosen presses "Not answered" (state "").
    """
    pressed = state == chosen
    stop = state == (chosen or first)
    return (
        "answer" + (" chosen" if pressed else "") + ("" if state else " clear"),
        str(pressed).lower(),
        "0" if stop else "-1",
    )


def answer_buttons(name: str, chosen: str, model) -> list[html.Button]:
    """A form question's answers as buttons, the chosen one pressed; "Not answered" clears it."""
    options = answer_options(name, model)
    buttons = []
    for state, label in options:
        class_name, pressed, tab = answer_look(state, chosen, options[0][0])
        buttons.append(
            html.Button(
                label,
                id={"type": "answer", "question": name, "state": state},
                type="button",
                className=class_name,
                tabIndex=tab,
                **{"aria-pressed": pressed, "data-answer": state},
            )
        )
    return buttons


def form_question(name: str, chosen: str, pending: bool, model) -> html.Fieldset:
    variable = model.variables[name]
    return html.Fieldset(
        [
            html.Legend(
                [
                    variable.question,
                    warning_badge() if name in model.red_flags else None,
                    html.Span(form_mark(pending), id={"type": "mark", "question": name}, className="mark-slot"),
                    html.Span(id={"type": "words-mark", "question": name}, className="mark-slot"),
                ],
                className="form-label small fw-semibold mb-1",
            ),
            html.Div(
                answer_buttons(name, chosen, model), id={"type": "answers", "question": name}, className="answers"
            ),
        ],
        id=f"q-{name}",
        className="question mb-2",
        **{"data-question": name},
    )


def form_questions(case: dict[str, str], pending, model) -> list[html.Fieldset]:
    """Every question, in the display's groups, with the answers of ``case`` and the ``pending`` ones marked."""
    return [
        html.Fieldset(
            [
                html.Legend(group["heading"], className="h6 text-primary mt-2"),
                *(form_question(n, case.get(n, ""), n in pending, model) for n in group["variables"]),
            ],
            id=group["id"],
        )
        for group in model.display["question_groups"]
    ]


def form_mark(pending: bool):
    """The mark on a form question whose answer could still change the advice."""
    return (
        html.Span("not answered yet: can change the advice", className="badge text-bg-warning ms-1")
        if pending
        else None
    )


# -- the interview -------------------------------------------------------------------------------


def steps(case: dict[str, str], interview: dict) -> list[str]:
    """The questions Back steps through: answers from a link or the form first, then the interview's own."""
    order = [n for n in interview["order"] if n in case]
    return [n for n in case if n not in order] + order


def shown_question(case: dict[str, str], interview: dict, ask) -> str | None:
    """The question on screen: one Back stepped to, else what ``ask(case)`` returns (None: done)."""
    if interview["back"]:
        done = steps(case, interview)
        return done[len(done) - interview["back"]]
    if interview["done"]:
        return None
    question = ask(case)
    return question.variable if question is not None else None


def clean_interview(data, case: dict[str, str]) -> dict:
    """The store's interview state made valid for ``case``, whatever the browser sent."""
    data = data if isinstance(data, dict) else {}
    order = data.get("order") if isinstance(data.get("order"), list) else []
    order = [n for n in dict.fromkeys(o for o in order if isinstance(o, str)) if n in case]
    back = data.get("back") if isinstance(data.get("back"), int) else 0
    focus = data.get("focus") if isinstance(data.get("focus"), int) else 0
    mode = data.get("mode") if data.get("mode") in MODES else START["mode"]
    back = min(max(back, 0), len(case))
    return {"order": order, "back": back, "done": data.get("done") is True, "focus": focus, "mode": mode}


def step(action: str, interview: dict, case: dict[str, str], question: str | None = None) -> dict:
    """The interview after ``action``: "answer" (of ``question``), "back", "results", "restart",
    "show" (an answered ``question`` on screen, as Back would reach it), or a mode ("interview", "form")."""
    if action == "restart":
        return {**START, "mode": interview["mode"]}
    if action in MODES or action == "more":
        return {**interview, "mode": "form" if action == "more" else action}
    moved = {**interview, "focus": interview["focus"] + 1}
    if action == "answer":
        if interview["back"]:
            return {**moved, "back": interview["back"] - 1}
        return {**moved, "order": [*(n for n in interview["order"] if n != question), question], "done": False}
    if action == "back":
        return {**moved, "back": min(interview["back"] + 1, len(steps(case, interview))), "done": False}
    if action == "results":
        return {**moved, "back": 0, "done": True}
    if action == "show" and question in steps(case, interview):
        done = steps(case, interview)
        return {**moved, "back": len(done) - done.index(question), "done": False, "mode": "interview"}
    raise ValueError(f"unknown interview step '{action}'")


def step_button(label: str, action: str, class_name: str, **props) -> html.Button:
    """A button that moves the page along (``{"type": "step", "action": action}``): Back, results, reset..."""
    return html.Button(
        label,
        id={"type": "step", "action": action},
        **{"data-action": action},
        type="button",
        className=class_name,
        **props,
    )


def interview_view(case: dict[str, str], interview: dict, question: str | None, model) -> list:
    """The question on screen with its answers, "Not sure" among them, and Back; or the end."""
    answered = len(steps(case, interview)) - interview["back"]
    nav = [step_button("Back", "back", "btn btn-sm btn-outline-secondary", disabled=answered <= 0)]
    if question is None:
        return html.Div(
            [
                html.P(
                    "Your results are ready."
                    if interview["done"]
                    else "That is enough to go on: the model has no more questions that matter.",
                    className="fw-semibold mb-2",
                    id="interview-question",
                    tabIndex="-1",
                ),
                html.Div(
                    [
                        step_button("See your results", "results", "btn btn-primary btn-sm"),
                        step_button("Answer more questions", "more", "btn btn-sm btn-outline-secondary"),
                        *nav,
                    ],
                    className="d-flex flex-wrap gap-2",
                ),
            ],
            className="interview-done",
        )
    variable = model.variables[question]
    usual = round(model.display["interview"]["usual_length"])
    number = answered + 1
    return [
        html.P(
            f"Question {number}, usually about {usual}",
            className="small text-body-secondary mb-1",
            id="interview-progress",
        ),
        html.Div(
            html.Div(className="progress-bar", style={"width": f"{min(100, 100 * number / usual):.0f}%"}),
            className="progress mb-2",
            **{"aria-hidden": "true"},
        ),
        html.Fieldset(
            [
                html.Legend(
                    [variable.question, warning_badge() if question in model.red_flags else None],
                    className="h6 interview-question",
                    id="interview-question",
                    tabIndex="-1",
                ),
                html.Div(
                    [
                        html.Button(
                            label,
                            id={"type": "choice", "question": question, "state": state},
                            type="button",
                            className="btn text-start "
                            + ("btn-primary" if case.get(question) == state else "btn-outline-primary"),
                            **{
                                "aria-pressed": "true" if case.get(question) == state else "false",
                                "data-answer": state,
                            },
                        )
                        for state, label in choices(variable)
                    ],
                    className="choices d-grid gap-2",
                ),
            ],
            **{"data-variable": question},
        ),
        html.Div(
            [
                *nav,
                step_button("See results now", "results", "btn btn-sm btn-outline-secondary"),
            ],
            className="d-flex flex-wrap gap-2 mt-3",
        ),
    ]
