"""Build the Dash app for a priors folder, and serve it."""

from __future__ import annotations

import plotly.io
from dash import Dash
from werkzeug.serving import WSGIRequestHandler

import twitchcause.model as twitch_model

from .api import register_api
from .callbacks import register_callbacks
from .examples import load_examples
from .layout import build_layout
from .page import prepare_page
from .security import harden

TITLE = "twitchcause: why is my leg twitching?"


def create_app(model: twitch_model.Model | None = None) -> Dash:
    """A ready Dash app for ``model`` (the packaged priors by default); ``app.server`` is its Flask WSGI application."""
    model = model if model is not None else twitch_model.load()
    model.report({})  # compile the engine, the interval's draws and what would help now, not on a first request
    # Dash encodes a callback's components through plotly, with orjson when it is installed; orjson's
    # path first walks the whole tree in Python, and for a tree of a few hundred components the
    # standard library's encoder, calling each component's to_plotly_json, takes 40% of its time.
    plotly.io.json.config.default_engine = "json"
    examples = load_examples(model)
    app = Dash(
        __name__,
        title=TITLE,
        update_title=None,
        serve_locally=True,
        compress=True,  # gzip: the scripts shrink to about a quarter
        meta_tags=[
            {"name": "viewport", "content": "width=device-width, initial-scale=1"},
            {"name": "description", "content": twitch_model.DISCLAIMER},
        ],
    )
    prepare_page(app)
    app.layout = build_layout(model, examples)
    register_callbacks(app, model)
    register_api(app.server, model)
    harden(app)
    return app


class QuietRequestHandler(WSGIRequestHandler):
    """The development server without a version banner in its ``Server`` header."""

    def version_string(self) -> str:
        return "twitchcause"


def serve(
    model: twitch_model.Model | None = None, host: str = "127.0.0.1", port: int = 8050, debug: bool = False
) -> None:
    """Run the development server (``twitchcause app``); use gunicorn and ``twitchcause.app.wsgi:server`` in
    production."""
    create_app(model).run(host=host, port=port, debug=debug, request_handler=QuietRequestHandler)
