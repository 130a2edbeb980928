"""The JSON API described as OpenAPI 3.1, served at ``/api/v1/openapi.json``.

The document is written from what the endpoints check and answer, not by
hand: the request's fields are :data:`app.api.FIELDS`, every variable's states,
every cause and level come from the model's vocabulary (:meth:`Model.schema`),
the sections from :data:`twitchcause.model.SECTIONS`, and the answer's items
(reasons, explanations, questions, what would help) from the dataclasses the
model answers with, through pydantic. A test fuzzes the live server against it.
"""

from __future__ import annotations

import dataclasses

from pydantic import TypeAdapter

from twitchcause.model import DISCLAIMER, NOT_SURE, SECTIONS, Model
from twitchcause.model.ask_next import NextQuestion
from twitchcause.model.counterfactual import Help
from twitchcause.model.escalation import Reason
from twitchcause.model.explain import Contribution
from twitchcause.model.text import HOWS, MAX_TEXT_CHARS

OPENAPI_PATH = "/api/v1/openapi.json"
PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
TEXT = {"type": "string"}


def _grounded(properties: dict) -> dict:
    """A text with its grounds: a source and the quote, or an honest assumption."""
    cited = {"source": TEXT, "quote": TEXT}
    return {
        "type": "object",
        "properties": properties | cited | {"assumption": TEXT},
        "required": list(properties),
        "oneOf": [{"required": list(cited)}, {"required": ["assumption"]}],
        "additionalProperties": False,
    }


def _items(cls, extra: dict | None = None) -> dict:
    """The JSON schema of ``cls(...).to_dict()``: its dataclass fields (and ``extra``), each required, no other."""
    schema = TypeAdapter(cls).json_schema()
    schema.pop("title", None)
    schema["properties"] = {
        name: {k: v for k, v in s.items() if k != "title"} for name, s in schema["properties"].items()
    }
    schema["properties"] |= extra or {}
    schema["required"] = [f.name for f in dataclasses.fields(cls)] + list(extra or {})
    schema["additionalProperties"] = False
    return schema


def _by_name(names, schema: dict) -> dict:
    """An object with exactly these keys, each holding ``schema``."""
    return {
        "type": "object",
        "properties": dict.fromkeys(names, schema),
        "required": list(names),
        "additionalProperties": False,
    }


def request_schema(model: Model, fields: tuple[str, ...]) -> dict:
    """The body of ``POST /api/v1/infer``; ``fields`` are the ones the endpoint accepts."""
    vocabulary = model.schema()
    unknown = [None, ""]  # left out, null and "" all mean unknown
    not_sure = vocabulary["not_sure"]["answer"]
    variable = {"enum": list(vocabulary["evidence"])}
    properties = {
        "evidence": {
            "type": "object",
            "description": "{variable: state}; a variable left out (or null, or \"\") is unknown, never 'no'; "
            f"{not_sure!r}: {vocabulary['not_sure']['meaning']}",
            "properties": {
                name: {"enum": [*info["states"], not_sure, *unknown], "description": info["question"]}
                for name, info in vocabulary["evidence"].items()
            },
            "additionalProperties": False,
        },
        "not_sure": {
            "type": ["array", "null"],
            "items": variable,
            "description": f"variables answered {not_sure!r} (the same as that state in evidence)",
        },
        "explain": {"enum": [*vocabulary["causes"], None], "description": "the cause whose explanation to give"},
        "next": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "how many of the most useful unanswered questions to give",
        },
        "include": {
            "type": ["array", "null"],
            "items": {"enum": list(SECTIONS)},
            "uniqueItems": True,
            "description": "the sections to compute (default: every one); explanation and next also need "
            "explain and next",
        },
    }
    if set(properties) != set(fields):
        raise ValueError(f"the document describes {sorted(properties)}, the endpoint takes {sorted(fields)}")
    return {
        "type": "object",
        "properties": {name: properties[name] for name in fields},
        "required": ["evidence"],
        "additionalProperties": False,
    }


def answer_schema(model: Model) -> dict:
    """What ``POST /api/v1/infer`` answers (and ``twitchcause infer --json`` prints)."""
    vocabulary = model.schema()
    causes, levels = list(vocabulary["causes"]), list(vocabulary["escalation_levels"])
    variable = {"enum": list(vocabulary["evidence"])}
    interval = {"type": "array", "items": PROBABILITY, "minItems": 2, "maxItems": 2, "description": "[low, high]"}
    reason = _items(Reason)
    reason["properties"]["level"] = {"enum": levels}
    direction = {"direction": {"enum": ["supports", "conflicts", "neutral"]}}
    properties = {
        "posterior": _by_name(causes, PROBABILITY),
        "interval": _by_name(causes, interval),
        "posterior_outside_interval": _by_name(causes, {"type": "boolean"}),
        "none_identified": PROBABILITY,
        "prior": _by_name(causes, PROBABILITY),
        "escalation": {
            "type": "object",
            "properties": {
                "level": {"enum": levels},
                "reasons": {"type": "array", "items": reason},
                "pending": {"type": "array", "items": variable, "description": "rule questions still open"},
                "settled": {"type": "boolean", "description": "the level is a verdict (no question pending)"},
            },
            "required": ["level", "reasons", "pending", "settled"],
            "additionalProperties": False,
        },
        "serious_causes": {"type": "array", "items": _grounded({"cause": {"enum": causes}, "text": TEXT})},
        "safety_net": {"type": "array", "items": _grounded({"condition": TEXT})},
        "ranking": {"type": "array", "items": {"enum": causes}, "minItems": len(causes), "maxItems": len(causes)},
        "evidence": {
            "type": "object",
            "properties": {name: {"enum": info["states"]} for name, info in vocabulary["evidence"].items()},
            "additionalProperties": False,
        },
        "not_sure": {"type": "array", "items": variable},
        "explanation": {"type": "array", "items": _items(Contribution, direction)},
        "next": {"type": "array", "items": _items(NextQuestion)},
        "what_would_help": {"type": "array", "items": _items(Help)},
        "priors": {
            "type": "object",
            "properties": {"folder": {"type": "string"}, "fingerprint": {"type": "string"}},
            "required": ["fingerprint"],
            "additionalProperties": False,
        },
        "disclaimer": {"const": DISCLAIMER},
    }
    return {
        "type": "object",
        "properties": properties,
        "required": ["evidence", "not_sure", "priors", "disclaimer"],
        "additionalProperties": False,
    }


def read_schemas(model: Model) -> tuple[dict, dict]:
    """What ``POST /api/v1/read`` takes and answers (``twitchcause read --json`` prints the answer)."""
    evidence = model.schema()["evidence"]
    mention = {
        "type": "object",
        "properties": {
            "variable": {"enum": list(evidence)},
            "state": {"enum": [*sorted({s for v in evidence.values() for s in v["states"]}), None]},
            "text": TEXT,
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 0},
            "how": {"enum": list(HOWS)},
        },
        "required": ["variable", "state", "text", "start", "end", "how"],
        "additionalProperties": False,
    }
    answers = {name: {"enum": [*v["states"], NOT_SURE]} for name, v in evidence.items()}
    request = {
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": MAX_TEXT_CHARS}},
        "required": ["text"],
        "additionalProperties": False,
    }
    answer = {
        "type": "object",
        "properties": {
            "mentions": {"type": "array", "items": mention},
            "answers": {"type": "object", "properties": answers, "additionalProperties": False},
        },
        "required": ["mentions", "answers"],
        "additionalProperties": False,
    }
    return request, answer


def openapi_document(model: Model, fields: tuple[str, ...], version: str) -> dict:
    """The OpenAPI 3.1 document of the JSON API answering from ``model``."""
    error = {"$ref": "#/components/schemas/Error"}

    def json_response(description: str, schema: dict) -> dict:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "twitchcause",
            "version": version,
            "summary": "The likely causes of leg, foot and toe twitching, and when to see a doctor",
            "description": DISCLAIMER,
        },
        "paths": {
            "/api/v1/infer": {
                "post": {
                    "operationId": "infer",
                    "summary": "Posterior of every cause, escalation, intervals, what would help, for one case",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}}},
                    },
                    "responses": {
                        "200": json_response("The answer", {"$ref": "#/components/schemas/InferAnswer"}),
                        "400": json_response("Bad input, in one line", error),
                        "413": json_response("A body over the size limit", error),
                    },
                }
            },
            "/api/v1/read": {
                "post": {
                    "operationId": "read",
                    "summary": "The answers a description in your own words gives, and how each was said",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReadRequest"}}},
                    },
                    "responses": {
                        "200": json_response("The mentions and answers", {"$ref": "#/components/schemas/ReadAnswer"}),
                        "400": json_response("Bad input, in one line", error),
                        "413": json_response("A body over the size limit", error),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "Whether the server answers",
                    "responses": {
                        "200": {"description": "ok", "content": {"text/plain": {"schema": {"const": "ok\n"}}}}
                    },
                }
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": json_response("The OpenAPI document", {"type": "object"})},
                }
            },
        },
        "components": {
            "schemas": {
                "InferRequest": request_schema(model, fields),
                "InferAnswer": answer_schema(model),
                "ReadRequest": read_schemas(model)[0],
                "ReadAnswer": read_schemas(model)[1],
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string", "description": "what is wrong, in one line"}},
                    "required": ["error"],
                    "additionalProperties": False,
                },
            }
        },
    }
