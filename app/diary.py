"""The diary on the page: check-ins kept in the person's own browser, and what they show over days.

The diary lives in a ``dcc.Store`` in the browser's local storage, as the very JSON
``twitchcause diary export`` writes (``model.diary_format``); the server keeps nothing and
reads it again, validated, on every request. "Save as a check-in" keeps the current answers;
"Check in again" asks only what changed since (the changes of ``changes.yaml`` and how the
twitch is now) and carries the other answers over. The date is the browser's (a clientside
callback reads its clock). What a diary shows is :meth:`Model.follow_up`'s; the level is
the model's, never below what the latest check-in alone calls for.
"""

from __future__ import annotations

import base64
import binascii
import json

from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from twitchcause.model import diary_format
from twitchcause.model.followup import DiaryError

from .case import Verdict, cause_name, shown_verdict, stored_case
from .labels import percent, percent_range
from .security import MAX_BODY_BYTES, OTHER_REQUEST_BYTES
from .state import NOT_SURE
from .views import heading_view, pending_text, reasons_view

DEFAULT_NAME = "my diary"
EXPORT_FILE = "twitchcause-diary.json"
SHOWN_DRIVERS = 3
NOT_SURE_LABEL = "Not sure"


# -- the diary as stored --------------------------------------------------------------------
def read_stored(stored, model) -> tuple[str, list[dict]]:
    """The name and check-ins of the browser's diary (none yet: the default name, no check-in)."""
    if not stored:
        return DEFAULT_NAME, []
    return diary_format.parse_export(model, stored)


def with_check_in(stored, check_in: dict, model) -> dict:
    """The stored diary with ``check_in`` added, validated as the command line validates it."""
    name, check_ins = read_stored(stored, model)
    name, check_ins = diary_format.parse_export(model, diary_format.exported(name, [*check_ins, check_in]))
    return kept_in_browser(name, check_ins)


def kept_in_browser(name: str, check_ins: list[dict]) -> dict:
    """The diary as the browser keeps it; refused in one line past :data:`BROWSER_CHECK_INS`."""
    if len(check_ins) > BROWSER_CHECK_INS:
        raise DiaryError(
            f"{len(check_ins):,} check-ins; this browser keeps at most {BROWSER_CHECK_INS} check-ins: "
            "export the diary, clear it and start a new one (the command line keeps any number)"
        )
    return diary_format.exported(name, check_ins)


def saved_check_in(case: dict, date: str) -> dict:
    """The current answers as a check-in dated ``date``."""
    return {"date": date, "answers": dict(case), "changes": []}


def open_changes(check_ins: list[dict], model) -> list[str]:
    """The changes a person may have made since the latest check-in: those whose exposure was not already safe."""
    answers = check_ins[-1]["answers"] if check_ins else {}
    return [v for v, c in model.priors.changes.items() if answers.get(v) in (None, NOT_SURE, *c.risky)]


def again_check_in(check_ins: list[dict], changes, twitch, date: str, model) -> dict:
    """A check-in that says only what changed: the latest answers carried over, each change's exposure now
    at its safer answer, and how the twitch is now (which replaces the latest ``trend``)."""
    if not check_ins:
        raise DiaryError("save a first check-in before checking in again")
    if not twitch:
        raise DiaryError("say how the twitch is now before saving this check-in")
    known = model.priors.changes
    changes = [v for v in (changes or []) if v in known]
    answers = {v: s for v, s in check_ins[-1]["answers"].items() if v != "trend"}
    answers.update({v: known[v].safer for v in changes})
    return {"date": date, "answers": answers, "changes": changes, "twitch": twitch}


def decode_upload(contents) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL (the browser may send anything)."""
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (AttributeError, IndexError, ValueError, binascii.Error):
        raise DiaryError("the file could not be read") from None


def imported(contents: str, model) -> dict:
    """The diary of an uploaded export file, refused in one line as ``twitchcause diary import`` refuses it."""
    raw = decode_upload(contents)
    if len(raw) > diary_format.IMPORT_LIMIT:
        raise DiaryError(f"{len(raw):,} bytes; a diary file is at most {diary_format.IMPORT_LIMIT:,}")
    name, check_ins = diary_format.parse_export(model, diary_format.load_export(raw))
    return kept_in_browser(name, check_ins)


def export_text(stored, model) -> str:
    """The file ``twitchcause diary export`` writes for this diary."""
    return json.dumps(diary_format.exported(*read_stored(stored, model)), indent=2) + "\n"


CHECK_IN_ACTIONS = ("diary-save", "diary-again-save")
# The diary travels with every diary request (the browser keeps it, the server keeps nothing), so it
# is bounded: over a year of daily check-ins. The server's door is sized to let the largest through.
BROWSER_CHECK_INS = 400
UPLOAD = {"type": "diary-upload", "index": 0}  # a pattern id: the callbacks run before it is drawn
UPLOADS = {"type": "diary-upload", "index": ALL}
IMPORT_LIMIT = {"type": "diary-import-limit", "index": 0}  # what the page can post, drawn with the chooser
IMPORT_LIMITS = {"type": "diary-import-limit", "index": ALL}
# A file the server's door would refuse (413, which the page cannot show) is refused in the browser, in words.
TOO_LARGE = (
    "Not imported: {file} is larger than this page can send beside the diary it keeps (at most "
    f"{BROWSER_CHECK_INS:,} check-ins); on the command line, twitchcause diary import takes up to "
    f"{diary_format.MAX_CHECK_INS:,}."
)


def is_check_in_request(request) -> bool:
    """Whether the store holds what the clientside callback writes, ``{action, date}`` (a browser may send anything)."""
    return (
        isinstance(request, dict) and request.get("action") in CHECK_IN_ACTIONS and isinstance(request.get("date"), str)
    )


def diary_event(trigger, request, upload, filename, stored, case, changes, twitch, model):
    """The stored diary (no_update: unchanged) and a one-line message after what a person did."""
    try:
        if trigger == "diary-clear":
            return None, "The diary is cleared from this browser."
        if trigger == "diary-file":
            if not upload:
                raise PreventUpdate
            diary = imported(upload, model)
            count = len(diary["check_ins"])
            return diary, f"Imported {count} check-in{'s' * (count != 1)} from {filename or 'the file'}."
        if trigger == "diary-request" and is_check_in_request(request):
            if request["action"] == "diary-save":
                new = saved_check_in(case, request["date"])
            else:
                new = again_check_in(read_stored(stored, model)[1], changes, twitch, request["date"], model)
            diary = with_check_in(stored, new, model)
            return diary, f"Check-in of {request['date']} saved in this browser."
    except DiaryError as exc:
        prefix = f"{filename}: " if trigger == "diary-file" and filename else ""
        return no_update, f"Not saved: {prefix}{exc}"
    raise PreventUpdate


# -- what the diary shows --------------------------------------------------------------------
def diary_verdict(result, model) -> Verdict:
    """The follow-up's level as the alert shows a level: settled only when no rule question is open."""
    return shown_verdict(result.level, result.reasons, result.pending, model)


def twitch_label(state: str | None, model) -> str:
    if state == NOT_SURE:
        return NOT_SURE_LABEL.lower()
    return model.priors.followup.twitch_states.get(state, state or "")


def timeline_view(result, model) -> html.Ol:
    items = []
    for row in result.timeline:
        said = [*(f"changed: {c.lower()}" for c in row.changes)]
        if row.twitch:
            said.append(f"the twitch: {twitch_label(row.twitch, model)}")
        text = "; ".join(said) if row.day else "first check-in"
        items.append(html.Li(f"{row.date.isoformat()} (day {row.day}): {text}", className="small"))
    return html.Ol(items, className="diary-timeline mb-2")


def follow_up_view(stored, model) -> list:
    """What the diary shows: the level with its reasons, what drives the twitch, what helped, what next."""
    _, check_ins = read_stored(stored, model)
    if not check_ins:
        return [html.P("No check-in yet.", className="small text-body-secondary mb-0")]
    result = model.follow_up(check_ins)
    v = diary_verdict(result, model)
    drivers = [
        html.Li(
            f"{cause_name(c)}: {percent(result.drivers[c])} ({percent_range(*result.interval[c])})",
            **{"data-cause": c},
        )
        for c in result.ranking[:SHOWN_DRIVERS]
    ]
    helped = [html.Li(c.summary, **{"data-change": c.variable}) for c in result.changes]
    nexts = result.try_next[:1]
    return [
        html.H3("Your check-ins", className="h6"),
        timeline_view(result, model),
        html.Div(
            [
                heading_view(v.level, model, tag=html.H3, className="h6 mb-1"),
                html.P(pending_text(v.pending, model), className="small mb-1") if v.pending else None,
                reasons_view(v),
            ],
            id="diary-level",
            className=f"diary-level level-{v.level or 'none'} mb-2",
        ),
        html.H3("What drives it, over your check-ins", className="h6"),
        html.Ul(drivers, className="small mb-2", id="diary-drivers"),
        *(
            [html.H3("Did it help?", className="h6"), html.Ul(helped, className="small mb-2", id="diary-helped")]
            if helped
            else []
        ),
        *(
            [
                html.H3("What to try next", className="h6"),
                html.P(
                    f"{nexts[0].action}: how the twitch is after it would tell the most about what drives it.",
                    className="small mb-0",
                    id="diary-next",
                ),
            ]
            if nexts
            else []
        ),
    ]


EMPTY_DRAFT = {"changes": [], "twitch": None}
CHOICE = "btn btn-outline-primary btn-sm me-1 mb-1 text-start diary-choice"


def toggle_view(kind: str, value: str, label: str) -> html.Button:
    return html.Button(
        label, id={"type": kind, "value": value}, type="button", className=CHOICE, **{"aria-pressed": "false"}
    )


def change_buttons(stored, model) -> list:
    """One toggle per change a person may have made since the latest check-in."""
    _, check_ins = read_stored(stored, model)
    return [toggle_view("diary-change", v, model.priors.changes[v].action) for v in open_changes(check_ins, model)]


def twitch_buttons(model) -> list:
    states = model.priors.followup.twitch_states
    labels = [*((s, label.capitalize()) for s, label in states.items()), (NOT_SURE, NOT_SURE_LABEL)]
    return [toggle_view("diary-twitch", s, label) for s, label in labels]


def toggled(draft, kind: str, value: str) -> dict:
    """The draft after a tap: a change toggles in or out, the twitch is the one tapped."""
    draft = {**EMPTY_DRAFT, **(draft or {})}
    if kind == "diary-twitch":
        return {**draft, "twitch": value}
    changes = [c for c in draft["changes"] if c != value]
    return {**draft, "changes": changes if value in draft["changes"] else [*changes, value]}


def diary_section(model) -> html.Section:
    """The diary: empty, and costing no model work, until a person uses it."""
    button = "btn btn-outline-secondary btn-sm me-1 mb-1"
    return html.Section(
        [
            dcc.Store(id="diary", storage_type="local", data=None),
            dcc.Store(id="diary-request"),
            dcc.Store(id="diary-file"),  # {contents, filename}: an imported file the page can send
            dcc.Store(id="diary-draft"),  # the changes and the twitch chosen for the next check-in (None: none yet)
            dcc.Download(id="diary-download"),
            html.H2("Your diary over days", className="h5", id="diary-heading"),
            html.P(
                "Kept only in this browser, never on the server. Save your answers as a check-in; in a few days, "
                "check in again with what you changed and how the twitch is, to learn what drives it.",
                className="small text-body-secondary",
            ),
            html.Div(
                html.Button("Save as a check-in", id="diary-save", type="button", className="btn btn-primary btn-sm"),
                className="mb-2",
            ),
            html.Details(
                [
                    html.Summary("Check in again", className="fw-semibold"),
                    html.Fieldset(
                        [
                            html.Legend(
                                "What have you changed since your last check-in? (all that apply)",
                                className="small fw-semibold",
                            ),
                            html.Div(id="diary-changes", className="diary-choices"),
                        ],
                        className="mt-2",
                    ),
                    html.Fieldset(
                        [
                            html.Legend(
                                "How is the twitch now, compared with your first check-in?",
                                className="small fw-semibold",
                            ),
                            html.Div(id="diary-twitch", className="diary-choices"),  # drawn with a diary
                        ],
                        className="mt-2",
                    ),
                    html.Button(
                        "Save this check-in",
                        id="diary-again-save",
                        type="button",
                        className="btn btn-primary btn-sm mt-2",
                    ),
                ],
                id="diary-again",
                className="mb-2",
                hidden=True,
            ),
            html.P(id="diary-message", className="small mb-2", role="status"),
            html.Div(follow_up_view(None, model), id="diary-view", className="mb-2"),
            html.Div(
                [
                    html.Button("Export (download)", id="diary-export", type="button", className=button),
                    html.Button("Clear this diary", id="diary-clear", type="button", className=button),
                    html.Details(
                        [
                            html.Summary("Import a diary file", id="diary-import-open", className=button),
                            html.Div(id="diary-import"),  # the file chooser, drawn the first time it is opened
                        ],
                        className="diary-import",
                    ),
                ],
                className="d-flex flex-wrap align-items-start",
                role="group",
                **{"aria-label": "Diary file"},
            ),
        ],
        id="diary-section",
        className="card card-body mb-3",
        **{"aria-labelledby": "diary-heading"},
    )


def import_view() -> list:
    """The file chooser that imports a diary, and the most the page can send. It is drawn only once asked
    for: a ``dcc.Upload`` on the page loads its own script and draws the whole page a second time as it
    arrives."""
    return [
        dcc.Upload(
            html.Button(
                "Choose a file or drop it here",
                type="button",
                className="btn btn-outline-primary btn-sm",
                tabIndex="-1",
            ),
            id=UPLOAD,
            accept=".json,application/json",
            className="diary-upload d-inline-block mb-1",
        ),
        # The file's base64 and the kept diary travel together; the rest of the request is under OTHER_REQUEST_BYTES.
        dcc.Store(id=IMPORT_LIMIT, data={"bytes": MAX_BODY_BYTES - OTHER_REQUEST_BYTES, "message": TOO_LARGE}),
    ]


def register_diary_callbacks(app, model) -> None:
    app.clientside_callback(
        ClientsideFunction("twitchcause", "diaryRequest"),
        Output("diary-request", "data"),
        Input("diary-save", "n_clicks"),
        Input("diary-again-save", "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("diary", "data"),
        Output("diary-message", "children"),
        Input("diary-request", "data"),
        Input("diary-file", "data"),
        Input("diary-clear", "n_clicks"),
        State("diary", "data"),
        State("case", "data"),
        State("diary-draft", "data"),
        prevent_initial_call=True,
    )
    def on_diary_event(request, file, _clear, stored, case, draft):
        draft = {**EMPTY_DRAFT, **(draft or {})}
        case = stored_case(case, model)
        file = file if isinstance(file, dict) else {}
        upload, filename = file.get("contents"), file.get("filename")
        filename = filename if isinstance(filename, str) else None
        return diary_event(
            ctx.triggered_id, request, upload, filename, stored, case, draft["changes"], draft["twitch"], model
        )

    app.clientside_callback(
        ClientsideFunction("twitchcause", "diaryFile"),
        Output("diary-file", "data"),
        Output("diary-message", "children", allow_duplicate=True),
        Input(UPLOADS, "contents"),
        State(UPLOADS, "filename"),
        State(IMPORT_LIMITS, "data"),
        State("diary", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("diary-import", "children"),
        Input("diary-import-open", "n_clicks"),
        State("diary-import", "children"),
        prevent_initial_call=True,
    )
    def on_import_open(_opened, drawn):
        return no_update if drawn else import_view()

    @app.callback(
        Output("diary-draft", "data"),
        Output({"type": "diary-change", "value": ALL}, "aria-pressed"),
        Output({"type": "diary-twitch", "value": ALL}, "aria-pressed"),
        Input({"type": "diary-change", "value": ALL}, "n_clicks"),
        Input({"type": "diary-twitch", "value": ALL}, "n_clicks"),
        Input("diary", "data"),
        State("diary-draft", "data"),
        prevent_initial_call=True,
    )
    def on_draft(_changes, _twitch, _stored, draft):
        trigger = ctx.triggered_id
        if trigger == "diary":
            # A check-in saved, or another diary: start afresh (its buttons are drawn again, unpressed).
            return EMPTY_DRAFT, [no_update] * len(ctx.outputs_list[1]), [no_update] * len(ctx.outputs_list[2])
        if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # buttons just drawn, not tapped
        draft = toggled(draft, trigger["type"], trigger["value"])
        changes = [str(o["id"]["value"] in draft["changes"]).lower() for o in ctx.outputs_list[1]]
        twitch = [str(o["id"]["value"] == draft["twitch"]).lower() for o in ctx.outputs_list[2]]
        return draft, changes, twitch

    @app.callback(
        Output("diary-download", "data"),
        Input("diary-export", "n_clicks"),
        State("diary", "data"),
        prevent_initial_call=True,
    )
    def on_export(clicks, stored):
        if not clicks or not stored:
            raise PreventUpdate
        try:
            return {"content": export_text(stored, model), "filename": EXPORT_FILE, "type": "application/json"}
        except DiaryError:
            raise PreventUpdate from None

    # On load too: a diary kept in this browser is shown again (its store sets its data as it is drawn);
    # while there is none, nothing runs.
    @app.callback(
        Output("diary-view", "children"),
        Output("diary-changes", "children"),
        Output("diary-twitch", "children"),
        Output("diary-again", "hidden"),
        Input("diary", "data"),
        prevent_initial_call=True,
    )
    def on_diary(stored):
        try:
            view = follow_up_view(stored, model)
            changes = change_buttons(stored, model)
        except DiaryError as exc:
            unread = html.P(f"The diary kept in this browser cannot be read ({exc}); clear it or import a file.")
            return [unread], [], no_update, True
        return view, changes, twitch_buttons(model), not stored
