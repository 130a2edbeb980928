"""The JSON API on the dashboard's server: ``POST /api/v1/infer`` and ``/api/v1/read``, ``GET /healthz``
and its OpenAPI document.

``POST /api/v1/infer`` takes ``{"evidence": {variable: state}, "not_sure": [variable],
"explain": cause, "next": n, "include": [section, ...]}`` (only ``evidence``
required; a state ``"not_sure"`` in ``evidence`` means the same as naming the
variable in ``not_sure``) and answers exactly what ``twitchcause infer --json``
prints, both made by :meth:`Model.report`, but for the priors folder, named
without the server's path to it. Bad input answers 400 with one line,
``{"error": "..."}``.

``POST /api/v1/read`` takes ``{"text": "..."}`` and answers what ``twitchcause
read --json`` prints: ``{"mentions": [...], "answers": {variable: state}}``.

Answers are cached per case (:func:`app.cache.per_case`): the key is the
validated evidence with the not-sure variables, ``explain``, ``next`` and the
validated sections.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from twitchcause.model import TwitchcauseError

from .cache import per_case
from .openapi import OPENAPI_PATH, openapi_document

INFER_PATH = "/api/v1/infer"
READ_PATH = "/api/v1/read"
HEALTH_PATH = "/healthz"
FIELDS = ("evidence", "not_sure", "explain", "next", "include")
MAX_NAME_CHARS = 100  # a cause's name is a few words; a longer "explain" is refused without echoing it


def register_api(server: Flask, model):
    """Add the API's routes to ``server``, answering from ``model``; returns the cached answer function."""

    @per_case
    def answer(
        evidence: dict, not_sure: tuple[str, ...], explain: str | None, next: int | None, sections: tuple[str, ...]
    ) -> bytes:
        report = model.report(evidence, explain=explain, next=next, not_sure=not_sure, include=sections)
        report["priors"]["folder"] = Path(report["priors"]["folder"]).name  # not where the server keeps it
        # orjson: a tenth of json's time for an answer of a few kB, the same numbers (shortest round-trip floats)
        return orjson.dumps(report)

    @server.get(HEALTH_PATH)
    def healthz():
        return Response(b"ok\n", mimetype="text/plain")

    from twitchcause import __version__

    document = json.dumps(openapi_document(model, FIELDS, __version__)).encode()

    @server.get(OPENAPI_PATH)
    def openapi():
        return Response(document, mimetype="application/json")

    @server.post(INFER_PATH)
    def infer():
        body = read_body()
        try:
            evidence, not_sure = model.parse_answers(body.get("evidence"), body.get("not_sure") or ())
            payload = answer(
                evidence, not_sure, body.get("explain"), body.get("next"), model.sections(body.get("include"))
            )
        except TwitchcauseError as exc:
            raise BadRequest(str(exc)) from None
        return Response(payload, mimetype="application/json")

    @server.post(READ_PATH)
    def read():
        text = read_text_body()
        try:
            mentions = model.read_text(text)
            answers = model.text_answers(mentions)
        except TwitchcauseError as exc:
            raise BadRequest(str(exc)) from None
        return Response(
            json.dumps({"mentions": [m.to_dict() for m in mentions], "answers": answers}).encode(),
            mimetype="application/json",
        )

    return answer


def read_text_body() -> str:
    """The ``text`` of a ``{"text": "..."}`` request body; a BadRequest naming the problem."""
    body = _json_object('{"text": "..."}')
    unknown = [key for key in body if key != "text"]
    if unknown:
        raise BadRequest(f"unknown field '{unknown[0][:40]}'; expected text")
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest(f'"text" must be a string (a description in your own words), got {json.dumps(text)[:40]}')
    return text


def _json_object(shape: str) -> dict:
    """The request's body as a JSON object, a BadRequest saying what is wrong otherwise."""
    try:
        body = json.loads(request.get_data(cache=False), object_pairs_hook=_unrepeated)
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise BadRequest(f"the body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object {shape}, got {type(body).__name__}")
    return body


def read_body() -> dict:
    """The request's JSON object, its fields checked; a BadRequest naming the first problem."""
    body = _json_object('{"evidence": {...}}')
    unknown = [key for key in body if key not in FIELDS]
    if unknown:
        raise BadRequest(f"unknown field '{unknown[0][:40]}'; expected {', '.join(FIELDS)}")
    if "evidence" not in body:
        raise BadRequest('the body has no "evidence" (an object {variable: state}, {} for none)')
    not_sure = body.get("not_sure")
    if not_sure is not None and (not isinstance(not_sure, list) or not all(isinstance(n, str) for n in not_sure)):
        raise BadRequest(f'"not_sure" must be a list of variable names, got {json.dumps(not_sure)[:40]}')
    explain, count = body.get("explain"), body.get("next")
    if explain is not None and not isinstance(explain, str):
        raise BadRequest(f'"explain" must be the name of a cause, got {json.dumps(explain)[:40]}')
    if explain is not None and len(explain) > MAX_NAME_CHARS:
        raise BadRequest(f'"explain" must be the name of a cause, got a text of {len(explain):,} characters')
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise BadRequest(f'"next" must be a count of questions (0 or more), got {json.dumps(count)[:40]}')
    return body


def _unrepeated(pairs: list) -> dict:
    found = {}
    for key, value in pairs:
        if key in found:
            raise BadRequest(f"'{key[:40]}' is given twice; give it once")
        found[key] = value
    return found
