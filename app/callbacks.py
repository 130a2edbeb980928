"""The callbacks: the server turns a case into numbers; the browser draws them.

Three server callbacks, each a few lines around a plain function: the link to a
case (on load and back/forward), the case to numbers (the main callback: a
small request, a small JSON answer), and, once the numbers are drawn, the words
under the results and each cause's interval. The browser's part lives in
``assets/twitchcause.js``: drawing, the interview, the form and the address.
"""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from .cache import per_case
from .case import case_from_link, case_view, interval_numbers, stored_case
from .views import advice_view, help_view, notices_view, summary_view, why_view


def register_callbacks(app, model) -> None:
    """Wire the page to ``model``; the only state is what the browser sends back."""

    @app.callback(
        Output("case", "data"),
        Output("url-notice", "children"),
        Output("url-notice", "hidden"),
        Input("url", "search"),
        State("written-search", "data"),
    )
    def on_link(search, written):
        if written is not None and (search or "") == written:
            # The page wrote this address itself from the case it holds: the address is clean.
            return no_update, no_update, True
        update = case_from_link(search, model)
        notice = notices_view(update.notices) if update.notices else no_update
        return update.evidence, notice, not update.notices

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
        Output("intervals", "data"),
        # After the numbers, not beside them: the bars never wait for the words.
        Input("view", "data"),
        Input("why-cause", "data"),
        State("case", "data"),
        prevent_initial_call=True,
    )
    def on_details(view, chosen, data):
        if view is None:
            raise PreventUpdate
        evidence = stored_case(data, model)
        result = model.infer(evidence)
        return (
            why_view(evidence, chosen, result, model),
            advice_view(result, evidence, model),
            help_view(evidence, model),
            summary_view(evidence, result, model),
            interval_numbers(evidence, result),
        )

    app.clientside_callback(
        ClientsideFunction("twitchcause", "draw"),
        Output("drawn", "data"),
        Input("view", "data"),
        State("page-data", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("twitchcause", "drawIntervals"),
        Output("drawn", "data", allow_duplicate=True),
        Input("intervals", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("twitchcause", "syncPage"),
        Output("url", "search"),
        Output("written-search", "data"),
        Input("case", "data"),
        State("url", "search"),
        State("page-data", "data"),
        prevent_initial_call=True,
    )
