"""The server's door: size bounds, a checked callback request, security headers and plain errors.

Whatever a client sends is bounded before any work is done on it: the body's
size (413, a chunked body too), its JSON nesting, and for Dash's callback
endpoint the request's shape against the callback it names, with no list or
object inside it longer than a page can produce (400). So a malformed or
oversized request costs microseconds and answers 4xx with one line, never 500
and never a traceback. A method a route does not take answers 405 naming the
ones it does (``Allow``), ``OPTIONS`` answers 204 with them, and an asset path
Dash does not serve answers 404 without a line in the log.
"""

from __future__ import annotations

import io
import json
import threading

from dash.exceptions import DependencyException
from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)
from werkzeug.routing import Map, Rule

# The largest request the page sends is a diary import: the file (base64) and the diary the
# browser keeps, each at most app.diary.BROWSER_CHECK_INS check-ins (about 380 KB with every
# answer, 890 KB together); any other is under 10 KB, and a JSON API case under 2 KB.
MAX_BODY_BYTES = 1024 * 1024
OTHER_REQUEST_BYTES = 10 * 1024  # the rest of any page request, beside an imported file and the kept diary
# No list or object a callback receives has more entries than this (the page's
# longest is a full diary's check-ins, then the 32 questions' answers).
MAX_ENTRIES = 512
CALLBACK_ENDPOINT = "_dash-update-component"
OVERSIZE_MARK = "twitchcause.body_too_large"  # set in the WSGI environ by BoundedBody
WILDCARDS = ('["ALL"]', '["ALLSMALLER"]', '["MATCH"]')
# The page's links are cases: keep crawlers to the page itself, not its infinite queries.
ROBOTS_TXT = "User-agent: *\nAllow: /$\nDisallow: /\n"

# `script-src` also names the hashes of the page's inline scripts (see `harden`); styles may
# be inline because Dash's components set them on elements. The case lives in the address,
# so no address is ever sent to another site (`no-referrer`).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with nesting too deep to decode reported as bad JSON (a 400), not a crash."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("nested too deeply") from None


def harden(app) -> None:
    """Bound, check and label every request and response of the Dash ``app``'s server.

    Unknown paths answer 404 (Dash would serve the page at any path); the page
    itself is ``/`` and Dash's own routes stay as they are. Call it once every
    callback and route is registered: the policy names the page's inline scripts
    by hash, and a route added later would answer 404 (methods are checked
    against the routes known here).
    """
    server: Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    server.json = BoundedJSONProvider(server)
    catch_all = app.config.routes_pathname_prefix + "<path:path>"
    for rule in server.url_map.iter_rules():
        if rule.rule == catch_all:
            server.view_functions[rule.endpoint] = _not_found
    server.add_url_rule(catch_all, "unknown_path", _not_found, methods=["POST", "PUT", "PATCH", "DELETE"])
    callback_endpoint = app.config.routes_pathname_prefix + CALLBACK_ENDPOINT
    server.add_url_rule("/robots.txt", "robots_txt", lambda: Response(ROBOTS_TXT, mimetype="text/plain"))
    routes = Map([Rule(r.rule, methods=r.methods, endpoint=r.endpoint) for r in server.url_map.iter_rules()
                  if r.rule != catch_all]).bind("")  # fmt: skip

    @server.before_request
    def check_method():
        """405 with ``Allow`` for a method the path's route does not take; 204 for ``OPTIONS``."""
        if request.environ.get(OVERSIZE_MARK):
            raise RequestEntityTooLarge()
        allowed = sorted(routes.allowed_methods(request.path))
        if not allowed:
            raise NotFound()  # an unknown path, whatever the method
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": ", ".join(allowed)})
        if request.method not in allowed:
            raise MethodNotAllowed(valid_methods=allowed)
        return None

    @server.before_request
    def check_callback_request():
        if request.endpoint == callback_endpoint:
            problem = callback_problem(request.get_json(), app.callback_map)
            if problem:
                raise BadRequest(problem)

    policy = CONTENT_SECURITY_POLICY.format(hashes=" ".join(app.csp_hashes()))
    headers = [*HEADERS.items(), ("Content-Security-Policy", policy)]
    server.wsgi_app = WithHeaders(BoundedBody(OneAtATime(server.wsgi_app)), headers)
    server.register_error_handler(HTTPException, error_response)
    # Dash raises this for a script path it does not serve (a typo, a probe, "..%2f"): not found, not a crash
    server.register_error_handler(DependencyException, lambda error: error_response(NotFound()))


class WithHeaders:
    """WSGI middleware adding ``headers`` to every response, errors included (a list append: free)."""

    def __init__(self, wsgi_app, headers: list[tuple[str, str]]):
        self.wsgi_app, self.headers = wsgi_app, headers

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            return start_response(status, headers + self.headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


class OneAtATime:
    """WSGI middleware letting a process compute one request at a time, once its body is in.

    gunicorn's gthread worker serves many connections at once, so that slow
    clients cost a thread, not the worker; but a request's work is Python and
    numpy under the GIL, so two computed side by side only stretch each other
    (at 8 connections, the p99 of a unique API answer went from 12 to 40 ms).
    A body within :data:`MAX_BODY_BYTES` is read first, at the client's pace,
    outside the turn; the response is built inside it and written after it.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app, self.turn = wsgi_app, threading.Lock()

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit() and 0 < int(length) <= MAX_BODY_BYTES:
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(int(length)))
        with self.turn:
            return self.wsgi_app(environ, start_response)


class BoundedBody:
    """WSGI middleware reading a body sent without a length (chunked) up to the bound, as one with a length is.

    The server would otherwise hand the application the first
    :data:`MAX_BODY_BYTES` and drop the rest. Within the bound the body is
    passed on with its length; past it the request is marked, and answered
    413 before anything reads it.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"  # werkzeug ignores a length then
        if (chunked or environ.get("CONTENT_LENGTH") in (None, "")) and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                environ[OVERSIZE_MARK], body = True, b""
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            environ.pop("wsgi.input_terminated")
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def _not_found(path):
    raise NotFound()


def error_response(error: HTTPException):
    """One line: JSON ``{"error": ...}`` for the API and the callbacks, plain text elsewhere."""
    if isinstance(error, InternalServerError):
        message = "internal error"  # the traceback goes to the server's log only
    elif isinstance(error, RequestEntityTooLarge):
        message = f"the request body is larger than {MAX_BODY_BYTES:,} bytes"
    elif isinstance(error, NotFound):
        message = "nothing here; the dashboard is at /"
    elif isinstance(error, MethodNotAllowed) and error.valid_methods:
        message = f"{request.method} is not allowed here; allowed: {', '.join(error.valid_methods)}"
    else:
        message = (error.description or error.name).splitlines()[0]
    code = error.code or 500
    allow = (
        {"Allow": ", ".join(error.valid_methods)} if isinstance(error, MethodNotAllowed) and error.valid_methods else {}
    )
    if request.path.startswith("/api/") or request.method == "POST":
        return Response(json.dumps({"error": message}), code, mimetype="application/json", headers=allow)
    return Response(f"{code} {error.name}: {message}\n", code, mimetype="text/plain", headers=allow)


def callback_problem(body, callback_map) -> str | None:
    """What is wrong with a callback request ``body`` (one line), or None when it fits its callback.

    The request must name a registered callback and post, for each of its
    inputs and states, an item ``{"id", "property", "value"}`` with that id and
    property (a list of them for a pattern such as ``ALL``); ``changedPropIds``
    may only name posted inputs. No list or object anywhere in it may hold
    more than ``MAX_ENTRIES`` entries.
    """
    if not isinstance(body, dict):
        return "a callback request is a JSON object"
    if _too_many_entries(body):
        return f"a list or object in the request holds more than {MAX_ENTRIES} entries"
    callback = callback_map.get(body.get("output")) if isinstance(body.get("output"), str) else None
    if callback is None or "callback" not in callback:  # a clientside callback runs in the browser only
        return "the request names no callback of this page"
    outputs = callback["output"] if isinstance(callback["output"], list) else [callback["output"]]
    declared_outputs = [{"id": o.component_id_str(), "property": o.component_property} for o in outputs]
    posted_outputs = body.get("outputs")
    if not isinstance(callback["output"], list):
        posted_outputs = [posted_outputs]
    posted = {}
    for part, declared, items in (
        ("outputs", declared_outputs, posted_outputs),
        ("inputs", callback["inputs"], body.get("inputs")),
        ("state", callback["state"], body.get("state", [])),
    ):
        problem = _dependencies_problem(part, declared, items, posted)
        if problem:
            return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) and c in posted for c in changed):
        return "changedPropIds must name inputs of the request"
    return None


def _dependencies_problem(part: str, declared: list[dict], items, posted: dict) -> str | None:
    if not isinstance(items, list) or len(items) != len(declared):
        return f"'{part}' must list {len(declared)} items, one per {part} of the callback"
    for want, got in zip(declared, items):
        pattern = json.loads(want["id"]) if want["id"].startswith("{") else None
        many = pattern is not None and any(json.dumps(v) in WILDCARDS[:2] for v in pattern.values())
        entries = got if many and isinstance(got, list) else [got] if not many else None
        if entries is None or not all(_fits(entry, want, pattern) for entry in entries):
            return f"'{part}' does not match {want['id']}.{want['property']}"
        if part == "inputs":
            posted.update({f"{_id_text(e['id'])}.{e['property']}": True for e in entries})
    return None


def _fits(entry, want: dict, pattern: dict | None) -> bool:
    if not isinstance(entry, dict) or entry.get("property") != want["property"]:
        return False
    given = entry.get("id")
    if pattern is None:
        return given == want["id"]
    if not isinstance(given, dict) or given.keys() != pattern.keys():
        return False
    return all(
        isinstance(given[key], str | int | float) if json.dumps(value) in WILDCARDS else given[key] == value
        for key, value in pattern.items()
    )


def _id_text(component_id) -> str:
    """A posted component id as Dash names it: a dict as compact JSON with sorted keys."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def _too_many_entries(value) -> bool:
    """Whether a list or object anywhere in ``value`` holds more than ``MAX_ENTRIES`` entries."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if len(item) > MAX_ENTRIES:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            if len(item) > MAX_ENTRIES:
                return True
            stack.extend(item)
    return False
