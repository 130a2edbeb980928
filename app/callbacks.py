"""The callbacks: each reads what fired and hands it to a plain function of :mod:`app.case`."""

from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from .case import cause_from_click, render_case, render_why, update_case
from .views import notices_view

ANSWERS = {"type": "answer", "variable": ALL}
EXAMPLES = {"type": "example", "name": ALL}
QUICK_ANSWERS = {"type": "quick-answer", "variable": ALL, "state": ALL}


def register_callbacks(app, model, examples) -> None:
    """Wire the page to ``model``; the only state is what the browser sends back."""

    @app.callback(
        Output("case", "data"),
        Output(ANSWERS, "value"),
        Output("url", "search"),
        Output("url-notice", "children"),
        Output("url-notice", "is_open"),
        Input("url", "search"),
        Input(ANSWERS, "value"),
        Input("reset", "n_clicks"),
        Input(EXAMPLES, "n_clicks"),
        Input(QUICK_ANSWERS, "n_clicks"),
        State("case", "data"),
    )
    def on_event(search, _values, _reset, _examples, _quick, current):
        answers = {item["id"]["variable"]: item["value"] for item in ctx.inputs_list[1]}
        clicked = bool(ctx.triggered and ctx.triggered[0]["value"])
        update = update_case(
            ctx.triggered_id, clicked, search=search, answers=answers, current=current, model=model, examples=examples
        )
        if update is None:
            raise PreventUpdate
        values = [update.evidence.get(item["id"]["variable"], "") for item in ctx.outputs_list[1]]
        notice = no_update if update.notices is None else notices_view(update.notices)
        is_open = no_update if update.notices is None else bool(update.notices)
        search_out = no_update if update.search is None else update.search
        return update.evidence, values, search_out, notice, is_open

    @app.callback(
        Output("escalation", "children"),
        Output("causes-graph", "figure"),
        Output("cause-summary", "children"),
        Output("ask-next", "children"),
        Input("case", "data"),
    )
    def on_case(evidence):
        page = render_case(evidence, model)
        return page["alert"], page["figure"], page["summary"], page["ask_next"]

    @app.callback(
        Output("why-heading", "children"),
        Output("why-evidence", "children"),
        Output("why-advice", "children"),
        Input("case", "data"),
        Input("why-cause", "value"),
    )
    def on_why(evidence, cause):
        why = render_why(evidence, cause, model)
        return why["heading"], why["evidence"], why["advice"]

    @app.callback(Output("why-cause", "value"), Input("causes-graph", "clickData"), prevent_initial_call=True)
    def on_bar_click(click_data):
        cause = cause_from_click(click_data, model)
        if cause is None:
            raise PreventUpdate
        return cause
