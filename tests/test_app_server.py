"""The server's door: bounds, checked callback requests, headers, unknown paths, and the JSON API."""

from __future__ import annotations

import base64
import gc
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_helpers import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from benchmarks.load import CASE_STORE, callback_request, key_bomb, main_callback, main_callback_request, outputs_of
from twitchcause.app import gunicorn_conf, state
from twitchcause.app.api import HEALTH_PATH, INFER_PATH
from twitchcause.app.openapi import OPENAPI_PATH
from twitchcause.app.security import MAX_BODY_BYTES, MAX_ENTRIES, ROBOTS_TXT
from twitchcause.app.server import QuietRequestHandler, create_app
from twitchcause.app.state import MAX_NOTICES, MAX_PAIRS, clean_answers
from twitchcause.model import SECTIONS
from twitchcause.priors import DEFAULT_DIR as priors_dir_path

CALLBACK = "/_dash-update-component"
SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy")


@pytest.fixture(scope="module")
def app(loaded_model):
    return create_app(loaded_model)


@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client()


@pytest.fixture(scope="module")
def components(client) -> list[dict]:
    """Every dict id in the page's layout (what pattern-matching callbacks match)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("props"), dict) and isinstance(node["props"].get("id"), dict):
                found.append(node["props"]["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(client.get("/_dash-layout").get_json())
    return found


def post(client, path, body, **kwargs):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **kwargs)


def one_line_error(response) -> str:
    assert response.mimetype == "application/json", response.data[:200]
    message = response.get_json()["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


# -- headers and paths --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/robots.txt"),
        ("GET", HEALTH_PATH),
        ("GET", OPENAPI_PATH),
        ("POST", INFER_PATH),
        ("POST", CALLBACK),
        ("GET", "/_dash-layout"),
        ("GET", "/assets/does-not-exist.css"),
    ],
)
def test_every_response_carries_the_security_headers(client, method, path):
    response = client.open(path, method=method, data=b"{}", content_type="application/json")
    for header in SECURITY_HEADERS:
        assert header in response.headers, (path, header)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the case lives in the address
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "'unsafe-eval'" not in policy


def test_the_policy_allows_exactly_the_pages_inline_scripts(app, client):
    policy = client.get("/").headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1).split()
    assert script_src == ["'self'", *app.csp_hashes()]
    assert "'unsafe-inline'" not in script_src


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/nope", "/robots.txt/x", "/api/v2/infer", "/_dash-nothing", "/%00"])
def test_an_unknown_path_is_not_found(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 404
    assert b"<html" not in response.data.lower()


@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/_dash-dependencies", "/_favicon.ico", HEALTH_PATH])
def test_the_page_and_dashs_own_routes_still_answer(client, path):
    assert client.get(path).status_code == 200


def test_a_script_of_the_page_is_served(client):
    scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', client.get("/").get_data(as_text=True))
    assert scripts and all(client.get(s).status_code == 200 for s in scripts[:3])


def test_robots_txt_is_a_real_one(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == ROBOTS_TXT
    assert "User-agent: *" in ROBOTS_TXT and "Disallow: /" in ROBOTS_TXT


def test_the_development_server_names_no_version(app):
    server = make_server("127.0.0.1", 0, app.server, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        conn.request("GET", HEALTH_PATH)
        assert conn.getresponse().getheader("Server") == "twitchcause"
    finally:
        server.shutdown()
        thread.join()


def test_gunicorn_serves_the_wsgi_module_with_no_version_in_its_banner(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen([*command, "twitchcause.app.wsgi:server"], stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", HEALTH_PATH)
                response = conn.getresponse()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.1)
        assert response.status == 200 and response.read() == b"ok\n"
        assert not re.search(r"\d", response.getheader("Server"))
        assert response.getheader("X-Frame-Options") == "DENY"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_slow_clients_leave_healthz_answered_under_the_projects_gunicorn_settings(capsys):
    from benchmarks.slow_clients import main as slow_clients

    assert slow_clients(["--seconds", "3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    found = re.fullmatch(r"outage_s=([\d.]+) quiet_p99_ms=[\d.]+ slow_p99_ms=[\d.]+ p99_vs_quiet=[\d.]+", last)
    assert found and float(found[1]) == 0.0, last


def test_a_priors_folder_that_does_not_load_stops_gunicorn_in_one_line(tmp_path):
    folder = tmp_path / "priors"
    shutil.copytree(priors_dir_path, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "scale.yaml").write_text("words: {rare: {p: 2024-02-30}}\n", encoding="utf-8")
    command = [sys.executable, "-m", "gunicorn", "-c", "python:twitchcause.app.gunicorn_conf", "--bind", "127.0.0.1:0"]
    env = {**os.environ, "TWITCHCAUSE_PRIORS": str(folder)}
    done = subprocess.run(
        [*command, "twitchcause.app.wsgi:server"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("twitchcause: error:")]
    assert errors == [
        f"twitchcause: error: {folder / 'scale.yaml'}: line 1: '2024-02-30' is not a valid timestamp "
        "(day is out of range for month); quote it if it is text"
    ]


# -- bounds ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [CALLBACK, INFER_PATH])
def test_a_body_over_the_limit_is_refused_unread(client, path):
    response = post(client, path, b"{" + b" " * MAX_BODY_BYTES + b"}")
    assert response.status_code == 413
    assert f"{MAX_BODY_BYTES:,}" in one_line_error(response)


def test_the_issues_key_bomb_is_refused_at_the_door(app, client):
    body = key_bomb(app)
    assert len(body) > 1_000_000
    assert post(client, CALLBACK, body).status_code == 413


def test_the_largest_diary_the_page_keeps_still_passes_the_door(app, client, loaded_model):
    # Every answer at its longest state, every day: a save posts the whole diary, an import the file too.
    from twitchcause.app.diary import BROWSER_CHECK_INS
    from twitchcause.app.security import OTHER_REQUEST_BYTES
    from twitchcause.model import diary_format

    answers = {name: max(v.states, key=len) for name, v in loaded_model.variables.items()}
    days = [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(BROWSER_CHECK_INS)]
    check_ins = [{"date": d, "answers": answers, "changes": []} for d in days[:-1]]
    stored = diary_format.exported("my twitching diary", check_ins)
    [output] = [o for o, spec in app.callback_map.items() if "diary-message.children" in o and "callback" in spec]
    request = {"action": "diary-save", "date": days[-1]}
    values = {"diary-request.data": request, "diary.data": stored, "case.data": answers}
    response = post(client, CALLBACK, callback_request(app, output, values, ["diary-request.data"]))
    assert response.status_code == 200, response.data[:300]
    assert f"Check-in of {days[-1]} saved" in response.get_data(as_text=True)
    file = "data:application/json;base64," + base64.b64encode(json.dumps(stored, indent=2).encode()).decode()
    values = {"diary-file.data": {"contents": file, "filename": "diary.json"}, "diary.data": stored}
    # The page sends it (its check: the file's data URL and the kept diary's JSON within the limit)...
    assert len(file) + len(json.dumps(stored, separators=(",", ":"))) <= MAX_BODY_BYTES - OTHER_REQUEST_BYTES
    response = post(client, CALLBACK, callback_request(app, output, values, ["diary-file.data"]))  # ...and it passes
    assert response.status_code == 200, response.data[:300]
    assert f"Imported {len(check_ins)} check-ins" in response.get_data(as_text=True)


def test_a_key_bomb_within_the_size_limit_is_refused_by_its_entry_count(app, client):
    bomb = {f"k{i}": "x" for i in range(MAX_ENTRIES + 1)}
    response = post(client, CALLBACK, main_callback_request(app, bomb))
    assert response.status_code == 400
    assert str(MAX_ENTRIES) in one_line_error(response)


def test_more_answers_than_a_case_can_have_are_ignored_whole(loaded_model, monkeypatch):
    calls = []
    monkeypatch.setattr(state, "suggestion", lambda *a: calls.append(a) or "")
    pairs = [(f"unknown{i}", "x") for i in range(MAX_PAIRS + 1)] + [("weakness", "yes")]
    evidence, notices = clean_answers(pairs, loaded_model.variables)
    assert evidence == {} and len(notices) == 1 and str(MAX_PAIRS) in notices[0]
    assert calls == []


def test_did_you_mean_runs_only_for_the_notices_shown_and_short_names(loaded_model, monkeypatch):
    calls = []
    monkeypatch.setattr(state, "suggestion", lambda text, choices: calls.append(text) or "")
    pairs = [("x" * 41, "yes")] + [(f"weaknes{i}", "yes") for i in range(MAX_PAIRS - 1)]
    evidence, notices = clean_answers(pairs, loaded_model.variables)
    assert len(calls) == MAX_NOTICES - 1 and "x" * 41 not in calls
    assert len(notices) == MAX_NOTICES + 1 and notices[-1].startswith(f"... and {MAX_PAIRS - MAX_NOTICES} more")


@pytest.mark.parametrize("search", [5, None, [], {"a": 1}, "?" + "a=b&" * 1000])
def test_a_link_of_any_type_parses_to_a_valid_case(loaded_model, search):
    evidence, notices = state.parse_query(search, loaded_model.variables)
    assert evidence == {}


# -- malformed callback requests --------------------------------------------------------------------
def valid_request(app, components, output=None, values=None):
    output = output or main_callback(app)
    spec = app.callback_map[output]
    first = spec["inputs"][0]
    return callback_request(app, output, values or {}, [f"{first['id']}.{first['property']}"], components)


MALFORMED = {
    "not JSON": b"{",
    "lists nested deeply": b"[" * 30_000 + b"]" * 30_000,
    "objects nested deeply": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "a list": b"[]",
    "a number": b"12",
    "bad UTF-8": b'{"output": "\xff"}',
    "a huge integer": b'{"output": ' + b"9" * 10_000 + b"}",
    "no output": {"inputs": []},
    "an unknown output": lambda r: {**r, "output": "nothing.children"},
    "outputs of another shape": lambda r: {**r, "outputs": {"id": 1}},
    "inputs not a list": lambda r: {**r, "inputs": {"a": 1}},
    "an input missing": lambda r: {**r, "inputs": r["inputs"][:-1]},
    "an input of another id": lambda r: {**r, "inputs": [{**r["inputs"][0], "id": "escalation"}, *r["inputs"][1:]]},
    "an input id that is a dict": lambda r: {**r, "inputs": [{**r["inputs"][0], "id": {"a": 1}}, *r["inputs"][1:]]},
    "an input that is a string": lambda r: {**r, "inputs": ["case.data", *r["inputs"][1:]]},
    "changedPropIds naming nothing posted": lambda r: {**r, "changedPropIds": ["{bad.n_clicks"]},
    "changedPropIds not a list": lambda r: {**r, "changedPropIds": "case.data"},
    "state not a list": lambda r: {**r, "state": 3},
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_callback_request_is_a_one_line_400(app, client, components, name):
    bad = MALFORMED[name]
    body = bad(valid_request(app, components)) if callable(bad) else bad
    response = post(client, CALLBACK, body)
    assert response.status_code == 400, response.data[:300]
    one_line_error(response)


def test_a_pattern_input_whose_ids_are_not_dicts_is_a_400(app, client, components):
    output, spec = next(
        ((o, s) for o, s in app.callback_map.items() if any(d["id"].startswith("{") for d in s["inputs"] + s["state"])),
        (None, None),
    )
    if output is None:
        pytest.skip("no callback of the page takes a pattern input")
    body = valid_request(app, components, output)
    for part in ("inputs", "state"):
        for i, dependency in enumerate(spec[part]):
            if dependency["id"].startswith("{"):
                body[part][i] = [{"id": "weakness", "property": dependency["property"], "value": "yes"}]
    assert post(client, CALLBACK, body).status_code == 400


@pytest.mark.parametrize("store", [[1, 2], "weakness=yes", 7, None, {"weakness": ["yes"]}, {"weakness": {"a": 1}}])
def test_a_store_that_is_not_a_case_counts_as_no_answers(app, client, store):
    response = post(client, CALLBACK, main_callback_request(app, store))
    assert response.status_code == 200, response.data[:300]
    assert post(client, CALLBACK, main_callback_request(app, {})).data == response.data


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["weakness", "yes", "?weakness=yes", "case", "case.data", "", "ALL", "{", "."]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def callback_bodies(draw, app, components, model):
    """A request for a random callback of the page with random values, sometimes with one part replaced."""
    output = draw(st.sampled_from(sorted(app.callback_map)))
    spec = app.callback_map[output]
    names = [f"{d['id']}.{d['property']}" for d in spec["inputs"] + spec["state"]]
    names += [f"{json.dumps(c, sort_keys=True, separators=(',', ':'))}.value" for c in components]
    case = st.dictionaries(st.sampled_from([*model.variables, "weak", "x"]), st.sampled_from(["yes", "no", "high", ""]))
    values = draw(st.dictionaries(st.sampled_from(names), JSON_VALUES | case, max_size=6))
    changed = draw(st.lists(st.sampled_from(names[: len(spec["inputs"])] or ["x"]), max_size=2))
    body = callback_request(app, output, values, changed, components)
    where = draw(st.sampled_from(["", "output", "outputs", "inputs", "state", "changedPropIds", "item", "id"]))
    if where in ("output", "outputs", "inputs", "state", "changedPropIds"):
        body[where] = draw(JSON_VALUES)
    elif where in ("item", "id") and body["inputs"]:
        index = draw(st.integers(0, len(body["inputs"]) - 1))
        item = body["inputs"][index]
        replacement = draw(JSON_VALUES)
        body["inputs"][index] = {**item, "id": replacement} if where == "id" and isinstance(item, dict) else replacement
    return body


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fuzzed_callback_requests_never_fail_on_the_server(app, client, components, loaded_model, data):
    body = data.draw(callback_bodies(app, components, loaded_model))
    response = post(client, CALLBACK, body)
    assert response.status_code < 500, (body, response.data[:300])
    assert b"Traceback" not in response.data


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_fuzzed_bodies_never_fail_on_the_server(client, body):
    for path in (CALLBACK, INFER_PATH):
        response = post(client, path, body)
        assert 400 <= response.status_code < 500 or response.status_code == 200
        assert b"Traceback" not in response.data


# -- HTTP details: asset paths, methods, chunked bodies -----------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/x/y.js",
        "/_dash-component-suites/os/path.py",
        "/_dash-component-suites/dash/..%2f..%2fetc%2fpasswd",
        "/_dash-component-suites/dash/deps/nope.js",
    ],
)
def test_a_bad_asset_path_is_a_quiet_404(client, path, caplog):
    with caplog.at_level("DEBUG"):
        response = client.get(path)
    assert response.status_code == 404
    assert response.data == b"404 Not Found: nothing here; the dashboard is at /\n"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]


def _chunked(client, path, data: bytes):
    import io

    return client.post(
        path,
        input_stream=io.BytesIO(data),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn passes a chunked body
    )


@pytest.mark.parametrize("path", [INFER_PATH, CALLBACK])
def test_a_chunked_body_over_the_limit_is_a_413_not_cut(client, path):
    response = _chunked(client, path, b'{"evidence": {}}' + b" " * (MAX_BODY_BYTES + 6_000) + b"GARBAGE")
    assert response.status_code == 413
    assert f"{MAX_BODY_BYTES:,}" in one_line_error(response)


def test_a_chunked_body_within_the_limit_is_read_whole(client):
    response = _chunked(client, INFER_PATH, b'{"evidence": {"weakness": "yes"}}' + b" " * 1000)
    assert response.status_code == 200 and response.get_json()["escalation"]["level"] == "see_doctor_promptly"
    assert _chunked(client, INFER_PATH, b'{"evidence": {}}' + b" " * 1000 + b"GARBAGE").status_code == 400


@pytest.mark.parametrize(
    "path, allowed",
    [(INFER_PATH, "OPTIONS, POST"), (HEALTH_PATH, "GET, HEAD, OPTIONS"), ("/", "GET, HEAD, OPTIONS")],
)
def test_options_answers_the_routes_own_methods_without_a_body(client, path, allowed):
    response = client.options(path)
    assert response.status_code == 204 and response.data == b""
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize("path", ["/nope", "/api/v2/infer"])
def test_options_on_an_unknown_path_is_404(client, path):
    assert client.options(path).status_code == 404


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", INFER_PATH, "OPTIONS, POST"),
        ("PUT", INFER_PATH, "OPTIONS, POST"),
        ("DELETE", HEALTH_PATH, "GET, HEAD, OPTIONS"),
        ("POST", HEALTH_PATH, "GET, HEAD, OPTIONS"),
    ],
)
def test_a_wrong_method_on_a_known_path_is_405_with_allow(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert "Traceback" not in response.get_data(as_text=True)


def test_an_answer_names_no_folder_of_the_server(client, loaded_model):
    answer = post(client, INFER_PATH, {"evidence": {}}).get_json()
    assert answer["priors"] == {
        "folder": loaded_model.priors.directory.name,
        "fingerprint": loaded_model.priors.fingerprint,
    }
    assert str(loaded_model.priors.directory) not in json.dumps(answer)


def test_an_unknown_explain_is_not_echoed_uncut(client):
    response = post(client, INFER_PATH, {"evidence": {}, "explain": "x" * 60_000})
    assert response.status_code == 400
    message = one_line_error(response)
    assert len(message) < 300 and "60,000 characters" in message


# -- the JSON API ---------------------------------------------------------------------------------------
def test_healthz_answers_ok(client):
    response = client.get(HEALTH_PATH)
    assert response.status_code == 200 and response.data == b"ok\n"


@pytest.mark.parametrize(
    "body, argv",
    [
        ({"evidence": {}}, []),
        ({"evidence": {"caffeine_intake": "high", "weakness": "no"}}, ["caffeine_intake=high", "weakness=no"]),
        (
            {"evidence": {"weakness": "yes"}, "explain": "caffeine", "next": 3},
            ["weakness=yes", "--explain", "caffeine", "--next", "3"],
        ),
        ({"evidence": {"sleep": "short"}, "next": 0}, ["sleep=short", "--next", "0"]),
        ({"evidence": {"weakness": "not_sure"}, "next": 2}, ["weakness=not_sure", "--next", "2"]),
        ({"evidence": {}, "not_sure": ["pain", "weakness"]}, ["--not-sure", "pain", "--not-sure", "weakness"]),
        (
            {"evidence": {"sleep": "short"}, "include": ["escalation", "posterior"]},
            ["sleep=short", "--include", "posterior,escalation"],
        ),
        (
            {"evidence": {"caffeine_intake": "high"}, "include": ["what_would_help", "next"], "next": 2},
            ["caffeine_intake=high", "--include", "what_would_help,next", "--next", "2"],
        ),
    ],
)
def test_the_api_answers_what_infer_json_prints(client, capsys, body, argv):
    response = post(client, INFER_PATH, body)
    assert response.status_code == 200 and response.mimetype == "application/json"
    status, out, _ = run(capsys, "infer", "--json", *argv)
    assert status == 0
    printed = json.loads(out)
    printed["priors"]["folder"] = Path(printed["priors"]["folder"]).name  # the server names no folder of its own
    assert response.get_json() == printed


API_ERRORS = [
    (b"", "not JSON"),
    (b"[1]", "must be a JSON object"),
    ({}, 'no "evidence"'),
    ({"evidence": {}, "evidenc": 1}, "unknown field 'evidenc'"),
    ({"evidence": 5}, "evidence must be a mapping"),
    ({"evidence": {"weak": "yes"}}, "unknown evidence variable 'weak' (did you mean 'weakness'?)"),
    ({"evidence": {"weakness": "maybe"}}, "evidence 'weakness' has no state 'maybe'"),
    ({"evidence": {"weakness": 1}}, "evidence 'weakness' must be a state name"),
    ({"evidence": {}, "explain": "caffine"}, "unknown cause 'caffine' (did you mean 'caffeine'?)"),
    ({"evidence": {}, "explain": 3}, '"explain" must be the name of a cause'),
    ({"evidence": {}, "next": -1}, '"next" must be a count'),
    ({"evidence": {}, "next": True}, '"next" must be a count'),
    ({"evidence": {}, "next": 1.5}, '"next" must be a count'),
    ({"evidence": {}, "not_sure": "pain"}, '"not_sure" must be a list of variable names'),
    ({"evidence": {}, "not_sure": [1]}, '"not_sure" must be a list of variable names'),
    ({"evidence": {}, "not_sure": ["pian"]}, "unknown evidence variable 'pian' (did you mean 'pain'?)"),
    ({"evidence": {"pain": "no"}, "not_sure": ["pain"]}, "'pain' is both answered ('no') and not sure"),
    ({"evidence": {}, "include": "posterior"}, "include must be a list of sections"),
    ({"evidence": {}, "include": {"posterior": 1}}, "include must be a list of sections"),
    ({"evidence": {}, "include": ["posterior", 3]}, "unknown section '3'"),
    ({"evidence": {}, "include": ["escalaton"]}, "unknown section 'escalaton' (did you mean 'escalation'?)"),
    ({"evidence": {}, "include": ["next", "next"]}, "section 'next' is given twice"),
    ({"evidence": {}, "include": ["posterior"], "explain": "caffeine"}, '"explain" asks for "explanation"'),
    (b'{"evidence": {"weakness": "yes", "weakness": "no"}}', "'weakness' is given twice"),
    (b'{"evidence": ' + b"[" * 3000 + b"]" * 3000 + b"}", "nested too deeply"),
]


@pytest.mark.parametrize("body, message", API_ERRORS)
def test_bad_api_input_is_a_one_line_400(client, body, message):
    response = post(client, INFER_PATH, body)
    assert response.status_code == 400
    assert message in one_line_error(response)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_fuzzed_api_requests_answer_the_report_or_a_one_line_400(client, loaded_model, data):
    names = st.sampled_from([*loaded_model.variables, "weak", ""]) | st.text(max_size=8)
    states = st.sampled_from(["yes", "no", "high", "short", "", " yes "]) | JSON_VALUES
    body = data.draw(
        st.fixed_dictionaries(
            {"evidence": st.dictionaries(names, states, max_size=6) | JSON_VALUES},
            optional={
                "explain": st.sampled_from([*loaded_model.causes, "caffine"]) | JSON_VALUES,
                "next": st.integers(-2, 40) | JSON_VALUES,
                "include": st.lists(st.sampled_from(SECTIONS), unique=True) | JSON_VALUES,
            },
        )
    )
    response = post(client, INFER_PATH, body)
    if response.status_code == 200:
        expected = loaded_model.report(
            body["evidence"], explain=body.get("explain"), next=body.get("next"), include=body.get("include")
        )
        expected["priors"]["folder"] = loaded_model.priors.directory.name
        assert response.get_json() == json.loads(json.dumps(expected))
    else:
        assert response.status_code == 400
        one_line_error(response)


def test_the_api_answers_a_case_from_its_cache_whatever_the_order_of_its_answers(loaded_model):
    from flask import Flask

    from twitchcause.app.api import register_api

    server = Flask(__name__)
    answer = register_api(server, loaded_model)
    client = server.test_client()
    first = post(client, INFER_PATH, {"evidence": {"weakness": "no", "caffeine_intake": "high"}})
    second = post(client, INFER_PATH, {"evidence": {"caffeine_intake": "high", "weakness": "no", "sleep": ""}})
    assert first.data == second.data
    assert answer.cache_info().hits == 1 and answer.cache_info().misses == 1
    post(client, INFER_PATH, {"evidence": {"caffeine_intake": "high", "weakness": "no"}, "next": 2})
    assert answer.cache_info().misses == 2
    lean = {"evidence": {"caffeine_intake": "high", "weakness": "no"}, "include": ["escalation", "posterior"]}
    assert set(post(client, INFER_PATH, lean).get_json()) == {
        *("posterior", "none_identified", "prior", "serious_causes", "ranking", "escalation", "safety_net"),
        *("evidence", "not_sure", "priors", "disclaimer"),
    }
    lean["include"] = ["posterior", "escalation"]  # the same sections in another order: the same answer
    post(client, INFER_PATH, lean)
    assert answer.cache_info().misses == 3 and answer.cache_info().hits == 2


def test_the_callback_every_event_goes_through_also_draws_the_results_and_the_interview(app):
    outputs = outputs_of(main_callback(app))
    assert {CASE_STORE, "result-causes.children", "escalation.children", "interview.children"} <= set(outputs)
    drawn_elsewhere = [o for o, spec in app.callback_map.items() if o != main_callback(app) and "callback" in spec]
    assert not [o for o in drawn_elsewhere if "result-causes.children" in o or "interview.children" in o]


def test_the_main_callback_computes_a_case_once_whatever_the_order_of_its_answers(loaded_model, monkeypatch):
    from twitchcause.app import callbacks

    computed = []
    view = callbacks.case_view
    monkeypatch.setattr(
        callbacks, "case_view", lambda evidence, model: computed.append(evidence) or view(evidence, model)
    )
    app = create_app(loaded_model)
    client = app.server.test_client()
    first = post(client, CALLBACK, main_callback_request(app, {"weakness": "no", "caffeine_intake": "high"}))
    second = post(client, CALLBACK, main_callback_request(app, {"caffeine_intake": "high", "weakness": "no"}))
    assert first.status_code == 200 and first.data == second.data
    assert computed == [{"caffeine_intake": "high", "weakness": "no", "muscle_wasting": "no"}]


# -- one computation at a time per worker -------------------------------------------------------------
def test_a_worker_computes_one_request_at_a_time_and_a_slow_body_waits_outside_its_turn():
    # gthread workers serve many connections at once; the model's work is CPU under the GIL, so
    # requests computed side by side only stretch each other's latency. A body still arriving
    # (a slow client) is read before the turn, so it holds no one up.
    from twitchcause.app.security import OneAtATime

    running, most, lock = [0], [0], threading.Lock()

    def app(environ, start_response):
        environ["wsgi.input"].read()
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        start_response("200 OK", [])
        return [b"ok"]

    class Trickling(io.BytesIO):
        """A request body whose bytes arrive only once ``arrived`` is set."""

        def __init__(self, arrived):
            super().__init__(b"{}")
            self.arrived = arrived

        def read(self, size=-1):
            self.arrived.wait(5)
            return super().read(size)

    served = OneAtATime(app)

    def request(body, length):
        return threading.Thread(target=served, args=({"CONTENT_LENGTH": length, "wsgi.input": body}, print))

    arrived = threading.Event()
    slow = request(Trickling(arrived), "2")
    slow.start()
    time.sleep(0.05)  # the slow client is now sending its body
    started = time.monotonic()
    quick = [request(io.BytesIO(b"{}"), "2") for _ in range(4)]
    for thread in quick:
        thread.start()
    for thread in quick:
        thread.join(5)
    assert time.monotonic() - started < 2, "the slow body held the others up"
    arrived.set()
    slow.join(5)
    assert most[0] == 1, "two requests computed at once"


def test_gunicorn_forks_workers_with_the_loaded_app_out_of_the_collectors_reach():
    try:
        gunicorn_conf.when_ready(None)
        assert gc.get_freeze_count() > 0  # the app's objects, never walked again by a worker's collection
    finally:
        gc.unfreeze()
