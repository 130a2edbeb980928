"""The callbacks: the server turns a case into numbers; the browser draws them.

Three server callbacks, each a few lines around a plain function: the link to a
case (on load and back/forward), the case to numbers (the main callback, with a
small request and a small JSON answer), and the case to the words under the
results. The browser's part lives in ``assets/twitchcause.js``: drawing the
numbers, the interview, the form and the address.
"""

from __future__ import annotations

from dash import ALL, ClientsideFunction, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from .cache import per_case
from .case import case_from_link, case_view, stored_case
from .views import advice_view, help_view, notices_view, summary_view, why_view

ANSWERS = {"type": "answer", "variable": ALL}


def register_callbacks(app, model) -> None:
    """Wire the page to ``model``; the only state is what the browser sends back."""

    @app.callback(
        Output("case", "data"),
        Output("url-notice", "children"),
        Output("url-notice", "is_open"),
        Input("url", "search"),
        State("written-search", "data"),
        State("case", "data"),
    )
    def on_link(search, written, current):
        if written is not None and (search or "") == written:
            # The page wrote this address itself: the case is already in the store.
            if current is None:
                raise PreventUpdate
            return no_update, no_update, False
        update = case_from_link(search, model)
        notice = notices_view(update.notices) if update.notices else no_update
        return update.evidence, notice, bool(update.notices)

    # One answer per case and worker, kept: a case seen before costs no model work.
    view_of = per_case(lambda evidence: case_view(evidence, model))

    # Not on page load by itself: the link sets the case first (an earlier start would race it).
    @app.callback(Output("view", "data"), Input("case", "data"), prevent_initial_call=True)
    def on_case(data):
        return view_of(stored_case(data, model))

    @app.callback(
        Output("why", "children"),
        Output("advice", "children"),
        Output("help", "children"),
        Output("doctor-summary", "children"),
        # After the numbers, not beside them: the bars never wait for the words.
        Input("view", "data"),
        Input("why-cause", "value"),
        State("case", "data"),
        prevent_initial_call=True,
    )
    def on_details(_view, chosen, data):
        evidence = stored_case(data, model)
        result = model.infer(evidence)
        return (
            why_view(evidence, chosen, result, model),
            advice_view(result, evidence, model),
            help_view(evidence, model),
            summary_view(evidence, result, model),
        )

    app.clientside_callback(
        ClientsideFunction("twitchcause", "draw"),
        Output("drawn", "data"),
        Input("view", "data"),
        State("page-data", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("twitchcause", "syncPage"),
        Output("url", "search"),
        Output("written-search", "data"),
        Output(ANSWERS, "value"),
        Input("case", "data"),
        State("url", "search"),
        State(ANSWERS, "value"),
        State("page-data", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("twitchcause", "fromForm"),
        Output("case", "data", allow_duplicate=True),
        Input(ANSWERS, "value"),
        State("case", "data"),
        prevent_initial_call=True,
    )
