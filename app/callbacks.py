"""The callbacks: each a few lines around a plain function of ``views``, ``questions`` or :func:`apply_event`.

1. ``on_event`` (the main callback): whatever a person does (an answer in the
   form or the interview, an example, Back, a mode, the own-words box's
   buttons via :func:`words_event`) and the address (on load and on
   back/forward) make the new case and interview state; its response also
   carries what they change: the alert, what to do, the bars and the form's
   marks (:func:`results_outputs`, cached per case), the interview's next
   question, the address (:func:`state.to_query`) and the form's questions
   whose answer changed. One round trip from a click to the new numbers.
2. ``on_words_marks`` marks the form's answers the story gave.
3. ``on_form``: the whole form, the first time it is on screen.
4. ``on_details``: "Why?", what would help, advice and the doctor's summary,
   after the bars are drawn, cached per case.
Clientside callbacks (``assets/twitchcause.js``) move focus, ask for the form
once it is on screen and open the print dialogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from .cache import PAGE_CACHE_SIZE, per_case, per_case_page
from .case import case_from_link, next_question, stored_case
from .diary import register_diary_callbacks
from .examples import load_examples
from .layout import form_tools
from .questions import (
    START,
    answer_buttons,
    clean_interview,
    form_mark,
    form_questions,
    interview_view,
    shown_question,
    step,
)
from .state import to_query
from .views import case_view, details_view, notices_view
from .words import read_words, words_mark

FORM_ANSWERS = {"type": "answers", "question": ALL}
FORM_MARKS = {"type": "mark", "question": ALL}


@dataclass(frozen=True)
class PageUpdate:
    """What an event changes: the case (None: unchanged), the interview state, the address
    (None: leave it) and the link's notices (None: keep them)."""

    case: dict | None
    interview: dict
    search: str | None
    notices: list[str] | None


def apply_event(trigger, value, case: dict, interview: dict, search: str | None, model, examples) -> PageUpdate | None:
    """The page after the event ``trigger`` (a component id; None on load) with ``value``; None: nothing to do."""
    kind = trigger.get("type") if isinstance(trigger, dict) else trigger
    if kind in (None, "url"):
        link = case_from_link(search, model)
        return PageUpdate(link.evidence, clean_interview({**interview, "back": 0}, link.evidence), None, link.notices)
    if not value:
        raise PreventUpdate  # a button just drawn, not clicked
    if kind == "answer":
        new = stored_case({**case, trigger["question"]: trigger.get("state", "")}, model)
        return changed(new, interview, model)
    if kind == "choice":
        new = stored_case({**case, trigger["question"]: trigger["state"]}, model)
        return changed(new, step("answer", interview, case, trigger["question"]), model)
    if kind == "example" and trigger.get("name") in examples:
        return changed(dict(examples[trigger["name"]].evidence), step("restart", interview, case), model)
    if kind == "step" and trigger.get("action") == "reset":
        return changed({}, step("restart", interview, case), model)
    if kind == "step":
        try:
            return PageUpdate(None, step(trigger.get("action"), interview, case), None, None)
        except ValueError:
            raise PreventUpdate from None
    raise PreventUpdate


def changed(case: dict, interview: dict, model) -> PageUpdate:
    return PageUpdate(case, clean_interview(interview, case), to_query(case, model.variables), [])


def words_event(trigger, value, text, case: dict, interview: dict, model, earlier=None):
    """``(PageUpdate, WordsReading | None)`` for the own-words box's buttons; None: not one of them."""
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    if kind not in ("words", "words-change"):
        return None
    if not value:
        raise PreventUpdate  # a button just drawn, not clicked
    if kind == "words-change":  # its question on screen, its answer pressed: one click changes it
        return PageUpdate(None, step("show", interview, case, trigger.get("question")), None, None), None
    reading = read_words(text, case, model, earlier)
    if reading.case is None:  # the story could not be read: the message says why
        return PageUpdate(None, interview, None, None), reading
    return changed(reading.case, interview, model), reading


def words_outputs(reading, trigger) -> tuple:
    """``(from-words data, words-found children)`` after an event: a story read sets both; a new case
    (an example, Reset, a link) forgets what an earlier story gave; any other answer leaves them."""
    if reading is not None:
        return (reading.from_words if reading.case is not None else no_update), reading.found
    kind = trigger.get("type") if isinstance(trigger, dict) else trigger
    if kind in (None, "url", "example") or (kind == "step" and trigger.get("action") == "reset"):
        return {}, []
    return no_update, no_update


def results_outputs(view: dict | None, marks: list[dict]) -> dict:
    """The alert, what to do, the bars and the form's marks of ``view`` (:func:`views.case_view`);
    all no_update when the case did not change (None)."""
    if view is None:
        keys = ("alert", "lead", "causes", "results_class", "drawn_case")
        return {**dict.fromkeys(keys, no_update), "form_marks": [no_update] * len(marks)}
    return {
        "alert": view["alert"],
        "lead": view["lead"],
        "causes": view["causes"],
        "results_class": "card card-body mb-3" + ("" if view["answered"] else " results-waiting"),
        "form_marks": [form_mark(o["id"]["question"] in view["pending"]) for o in marks],
        "drawn_case": view["case"],
    }


def panel_class(interview: dict) -> str:
    return f"col-lg-5 order-lg-last mode-{interview['mode']}"


def form_answers(ids: list[dict], before: dict, after: dict, model) -> list:
    """The answer buttons of each form question of ``ids`` whose answer changed; no_update for the rest."""
    return [
        answer_buttons(q, after.get(q, ""), model) if before.get(q) != after.get(q) else no_update
        for q in (item["id"]["question"] for item in ids)
    ]


def register_callbacks(app, model, examples=None) -> None:
    """Wire the page to ``model`` (and its ``examples``); the only state is what the browser sends back."""
    examples = examples if examples is not None else load_examples(model)

    # One answer per case and worker, kept: a case seen before costs no model work.
    view_of = per_case_page(lambda evidence: case_view(evidence, model))
    ask = per_case(lambda evidence: next_question(evidence, model), PAGE_CACHE_SIZE)

    # Whatever a person does, and the address on load and on back/forward (its own writes come
    # back to this callback too: they change nothing). Its response carries the new case's alert,
    # bars and next question: one round trip from a click to the numbers.
    @app.callback(
        output={
            "case": Output("case", "data"),
            "interview_state": Output("interview-state", "data"),
            "search": Output("url", "search"),
            "notices": Output("url-notice", "children"),
            "notices_hidden": Output("url-notice", "hidden"),
            "form_answers": Output(FORM_ANSWERS, "children"),
            "panel": Output("answer-panel", "className"),
            "form_focus": Output("form-focus", "data"),
            "from_words": Output("from-words", "data"),
            "words_found": Output("words-found", "children"),
            "alert": Output("escalation", "children"),
            "lead": Output("result-lead", "children"),
            "causes": Output("result-causes", "children"),
            "results_class": Output("results", "className"),
            "form_marks": Output(FORM_MARKS, "children"),
            "drawn_case": Output("drawn-case", "data"),
            "interview": Output("interview", "children"),
        },
        inputs={
            "search": Input("url", "search"),
            "answers": Input({"type": "answer", "question": ALL, "state": ALL}, "n_clicks"),
            "choices": Input({"type": "choice", "question": ALL, "state": ALL}, "n_clicks"),
            "examples": Input({"type": "example", "name": ALL}, "n_clicks"),
            "steps": Input({"type": "step", "action": ALL}, "n_clicks"),
            "words": Input({"type": "words", "action": ALL}, "n_clicks"),
            "changes": Input({"type": "words-change", "question": ALL}, "n_clicks"),
        },
        state={
            "data": State("case", "data"),
            "interview_data": State("interview-state", "data"),
            "text": State("words-text", "value"),
            "earlier": State("from-words", "data"),
        },
    )
    def on_event(search, data, interview_data, text, earlier, **_clicks):
        trigger = ctx.triggered_id
        loading = data is None and trigger in (None, "url")  # the page has just loaded: its address holds the case
        if loading:
            trigger = None
        value = ctx.triggered[0]["value"] if ctx.triggered else None
        case = stored_case(data, model)
        interview = clean_interview(interview_data, case)
        own_words = words_event(trigger, value, text, case, interview, model, earlier)
        update, reading = own_words or (apply_event(trigger, value, case, interview, search, model, examples), None)
        if (loading or trigger == "url") and update.case == case and not update.notices:
            raise PreventUpdate  # no answers in a new page's address (it is drawn as it is), or the page's own write
        after = update.case if update.case is not None else case
        outputs = ctx.outputs_grouping
        from_words, words_found = words_outputs(reading, trigger)
        return {
            "case": update.case if update.case is not None else no_update,
            "interview_state": update.interview if update.interview != interview_data else no_update,
            "search": update.search if update.search is not None and update.search != (search or "") else no_update,
            "notices": notices_view(update.notices) if update.notices else no_update,
            "notices_hidden": not update.notices if update.notices is not None else no_update,
            "form_answers": form_answers(outputs["form_answers"], case, after, model),
            "panel": panel_class(update.interview)
            if update.interview["mode"] != (interview_data or {}).get("mode")
            else no_update,
            # A form answer is drawn again: the focus goes back to it.
            "form_focus": trigger if isinstance(trigger, dict) and trigger.get("type") == "answer" else no_update,
            "from_words": from_words,
            "words_found": words_found,
            **results_outputs(view_of(after) if after != case or loading else None, outputs["form_marks"]),
            "interview": interview_output(after, update.interview, after != case or update.interview != interview),
        }

    def interview_output(case: dict, interview: dict, moved: bool):
        """The interview's question after an event that ``moved`` the case or the interview; hidden, not drawn."""
        if not moved or interview["mode"] == "form":
            return no_update  # the form is on screen: the interview is drawn when it is shown again
        return interview_view(case, interview, shown_question(case, interview, ask), model)

    # A form question keeps its "from your words" mark while its answer is the one the story gave.
    @app.callback(
        Output({"type": "words-mark", "question": ALL}, "children"),
        Input("case", "data"),
        Input("from-words", "data"),
    )
    def on_words_marks(data, from_words):  # also runs when the form is first drawn (new outputs)
        case = stored_case(data, model)
        given = from_words if isinstance(from_words, dict) else {}
        return [words_mark(item["id"]["question"], case, given) for item in ctx.outputs_list]

    # The form is drawn the first time it is on screen: a phone that answers one question at a
    # time never pays for its 32 questions.
    @app.callback(
        Output("questions", "children"),
        Input("form-wanted", "data"),
        State("case", "data"),
        prevent_initial_call=True,
    )
    def on_form(wanted, data):
        if not wanted:
            raise PreventUpdate
        case = stored_case(data, model)
        return [*form_tools(examples), *form_questions(case, view_of(case)["pending"], model)]

    app.clientside_callback(
        ClientsideFunction("twitchcause", "formWanted"),
        Output("form-wanted", "data"),
        Input("answer-panel", "className"),
        State("form-wanted", "data"),
        prevent_initial_call=True,
    )

    details_of = per_case_page(lambda evidence: details_view(evidence, model))

    @app.callback(
        Output({"type": "why", "cause": ALL}, "children"),
        Output("help", "children"),
        Output("advice", "children"),
        Output("doctor-summary", "children"),
        # After the bars, not beside them: the bars never wait for the words.
        Input("drawn-case", "data"),
        prevent_initial_call=True,
    )
    def on_details(data):
        details = details_of(stored_case(data, model))
        why = [details["why"][o["id"]["cause"]] for o in ctx.outputs_list[0]]
        return why, details["help"], details["advice"], details["summary"]

    app.clientside_callback(
        ClientsideFunction("twitchcause", "focus"),
        Output("focused", "data"),
        Input("interview", "children"),
        State("interview-state", "data"),
        State("focused", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("twitchcause", "refocus"),
        Input(FORM_ANSWERS, "children"),
        State("form-focus", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("twitchcause", "print"),
        Input("print-summary", "n_clicks"),
        prevent_initial_call=True,
    )
    register_diary_callbacks(app, model)


__all__ = ["START", "PageUpdate", "apply_event", "register_callbacks"]
