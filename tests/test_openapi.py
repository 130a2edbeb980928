"""The JSON API's OpenAPI document, and schemathesis fuzzing the live server against it."""

from __future__ import annotations

import json
import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from twitchcause.app.api import FIELDS, INFER_PATH, READ_PATH
from twitchcause.app.openapi import OPENAPI_PATH, request_schema
from twitchcause.app.server import create_app
from twitchcause.model import NOT_SURE, SECTIONS

# no 5xx, no status the document does not list, the documented content type, the documented body
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def app(loaded_model):
    return create_app(loaded_model)


@pytest.fixture(scope="module")
def live_server(app):
    """The dashboard's server on a free port of 127.0.0.1, as ``twitchcause app`` runs it."""
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def document(app):
    response = app.server.test_client().get(OPENAPI_PATH)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture(scope="module")
def api_schema(live_server):
    return schemathesis.openapi.from_url(live_server + OPENAPI_PATH)


def test_the_document_is_openapi_3_1_with_every_state_as_an_enum(document, loaded_model):
    assert document["openapi"] == "3.1.0"
    request = document["components"]["schemas"]["InferRequest"]
    assert list(request["properties"]) == list(FIELDS) and request["required"] == ["evidence"]
    evidence = request["properties"]["evidence"]["properties"]
    assert list(evidence) == list(loaded_model.variables)
    for name, variable in loaded_model.variables.items():
        assert evidence[name]["enum"] == [*variable.states, NOT_SURE, None, ""]
    assert request["properties"]["explain"]["enum"] == [*loaded_model.causes, None]
    assert request["properties"]["include"]["items"]["enum"] == list(SECTIONS)
    answer = document["components"]["schemas"]["InferAnswer"]["properties"]
    assert answer["posterior"]["required"] == list(loaded_model.causes)
    assert answer["escalation"]["properties"]["level"]["enum"] == list(loaded_model.priors.levels)
    assert set(document["paths"]) == {INFER_PATH, READ_PATH, "/healthz", OPENAPI_PATH}


def test_the_document_follows_the_fields_the_endpoint_takes(loaded_model):
    with pytest.raises(
        ValueError, match=r"the endpoint takes \['evidence', 'explain', 'include', 'next', 'not_sure', 'pool'\]"
    ):
        request_schema(loaded_model, (*FIELDS, "pool"))


def test_every_answer_keeps_to_the_document(document, loaded_model):
    """Every section of a full answer, checked against the document by a JSON-schema validator."""
    import jsonschema_rs

    answer = document["components"]["schemas"]["InferAnswer"]
    validator = jsonschema_rs.validator_for(answer)
    for evidence in ({}, {"caffeine_intake": "high", "weakness": "yes", "cramps": "brief", "pain": NOT_SURE}):
        report = json.loads(json.dumps(loaded_model.report(evidence, explain="caffeine", next=40)))
        assert set(report) == set(answer["properties"])
        validator.validate(report)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_live_server_keeps_to_its_document(api_schema, mode, data):
    """Cases drawn from the document (and, negative, against it) over HTTP: no 5xx, every status, content
    type and body as documented."""
    case = data.draw(api_schema.as_strategy(mode))
    case.call_and_validate(checks=CHECKS)
