"""The dashboard and the JSON API under load: gunicorn (the project's settings, 2 workers) on 127.0.0.1 and wrk.

The scenarios take turns of 2 seconds against one server (wrk, 8 connections),
so a change in the machine's other load falls on all of them alike; each
reports requests per second, median and 99th-percentile latency over all its
turns, errors (any status but 200) and the workers' CPU time and minor page
faults per request:

- ``healthz``: ``GET /healthz``, the reference every other figure is divided by;
- ``api_repeat`` / ``api_unique``: ``POST /api/v1/infer`` with ``{"evidence": ...}``,
  cycling through the example cases / a new random case each time (each question
  answered with probability 0.3), every section of the answer;
- ``api_unique_lean``: a new random case each time with ``"include": ["posterior",
  "escalation"]``;
- ``dash_repeat`` / ``dash_unique``: the dashboard's main callback (the one every
  event goes through) posted as the browser posts an interview answer: the case
  store (an example's / a new random case) and the click, answered with the new
  case, its alert, what to do, bars and next question;
- ``dash_floor``: the page's lightest server callback (no model work, no
  component): the floor of any Dash callback, beside ``/healthz``'s.

wrk is installed from Debian's packages (apt-get) when missing. The last line
sums it up::

    api_repeat_vs_healthz=.. api_unique_vs_healthz=.. api_unique_lean_vs_healthz=.. dash_repeat_vs_healthz=..
    dash_unique_vs_healthz=.. dash_floor_vs_healthz=.. api_unique_p99_ms=..

``--attack`` instead measures the dashboard's main callback (repeated, then
unique cases) beside two clients posting 1.5 MB bodies of 100,000 unknown
answers without pause, against the same load alone, in alternating turns.

    python benchmarks/load.py [--seconds 10] [--connections 8] [--attack]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from twitchcause import load
from twitchcause.app.api import HEALTH_PATH, INFER_PATH
from twitchcause.app.examples import load_examples
from twitchcause.app.questions import START
from twitchcause.app.server import create_app

CALLBACK_PATH = "/_dash-update-component"
CASE_STORE = "case.data"  # the store holding the case; the main callback writes it and draws the page from it
ANSWER = ("muscle_wasting", "no")  # the interview answer each dashboard request carries (after the case posted)
WORKERS = 2
WRK_THREADS = 2
SHARE_OBSERVED = 0.3
START_SECONDS = 60
ROUND_SECONDS = 2
SUMMARY = ("api_repeat", "api_unique", "api_unique_lean", "dash_repeat", "dash_unique", "dash_floor")
LEAN = ["posterior", "escalation"]  # the sections of api_unique_lean
ATTACKED = ("dash_repeat", "dash_unique")  # the normal load beside the key bombs
CASE_MARK = '"__CASE__"'

# Every script ends by printing its figures as one JSON line, with every latency (microseconds) and its count.
REPORT_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors
  local counts = {}
  for i = 1, #latency do
    local value, count = latency(i)
    counts[#counts + 1] = string.format("[%d,%d]", value, count)
  end
  io.write(string.format('{"requests": %d, "seconds": %f, "errors": %d, "latency_us": [%s]}\\n',
    summary.requests, summary.duration / 1e6,
    errors.connect + errors.read + errors.write + errors.status + errors.timeout, table.concat(counts, ",")))
end
"""
GET_LUA = 'request = function() return wrk.format("GET", "{path}") end\n'
CYCLE_LUA = """
bodies = {bodies}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/json"}}, bodies[(counter % #bodies) + 1])
end
"""
# A new random case per request: each question answered with probability SHARE_OBSERVED.
RANDOM_LUA = """
questions = {questions}
prefix, suffix = {prefix}, {suffix}
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("seed", threads) end
init = function(args) math.randomseed(os.time() * 100 + seed) end
request = function()
  local parts = {{}}
  for _, q in ipairs(questions) do
    if math.random() < {share} then
      local states = q[2]
      parts[#parts + 1] = '"' .. q[1] .. '":"' .. states[math.random(#states)] .. '"'
    end
  end
  local body = prefix .. "{{" .. table.concat(parts, ",") .. "}}" .. suffix
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/json"}}, body)
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this text (no \u escapes)


def lua_list(items) -> str:
    return "{" + ", ".join(items) + "}"


def outputs_of(key: str) -> list[str]:
    """The ``id.property`` outputs of a callback map's key (``..a.b...c.d..`` when there are several)."""
    return key.removeprefix("..").removesuffix("..").split("...") if key.startswith("..") else [key]


def main_callback(app) -> str:
    """The main callback (its output key): the server callback every event goes through, the one writing the case."""
    for output, spec in app.callback_map.items():
        if "callback" in spec and CASE_STORE in outputs_of(output):
            return output
    raise SystemExit(f"load: no server-side callback writes {CASE_STORE}")


def callback_request(app, output: str, values: dict, changed: list[str], components: list = ()) -> dict:
    """The body the browser posts to run callback ``output``.

    ``values`` maps ``"id.property"`` to the value posted (None when absent); an
    input or state with a pattern id (``ALL``) gets one item per id in
    ``components`` that it matches, its value from ``values`` under that id.
    """
    spec = app.callback_map[output]

    def matches(component_id, pattern: dict) -> bool:
        return (
            isinstance(component_id, dict)
            and component_id.keys() == pattern.keys()
            and all(isinstance(want, list) or component_id[key] == want for key, want in pattern.items())
        )

    def item(dependency, posted=True):
        prop = dependency["property"]
        if not dependency["id"].startswith("{"):
            found = [(dependency["id"], dependency["id"])]
        else:
            pattern = json.loads(dependency["id"])
            found = [
                (c, json.dumps(c, sort_keys=True, separators=(",", ":"))) for c in components if matches(c, pattern)
            ]
        items = [
            {"id": c, "property": prop, **({"value": values.get(f"{name}.{prop}")} if posted else {})}
            for c, name in found
        ]
        return items if dependency["id"].startswith("{") else items[0]

    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    posted_outputs = [item({"id": o.component_id_str(), "property": o.component_property}, False) for o in outputs]
    return {
        "output": output,
        "outputs": posted_outputs if isinstance(spec["output"], list) else posted_outputs[0],
        "inputs": [item(i) for i in spec["inputs"]],
        "changedPropIds": changed,
        "state": [item(s) for s in spec["state"]],
    }


def main_callback_request(app, store, answer: tuple[str, str] = ANSWER) -> dict:
    """The body the browser posts when a person answers ``answer`` (question, state) in the interview
    while the case store holds ``store``: the new case, its results and the next question come back."""
    question, state = answer
    choice = {"type": "choice", "question": question, "state": state}
    clicked = json.dumps(choice, sort_keys=True, separators=(",", ":")) + ".n_clicks"
    values = {CASE_STORE: store, clicked: 1, "interview-state.data": START}
    return callback_request(app, main_callback(app), values, [clicked], [choice])


def floor_callback_request(app) -> dict:
    """The body of the page's lightest server callback (the own-words marks, with no form on screen to
    mark): what a Dash callback round trip costs before any model work or component."""
    output = next(o for o, spec in app.callback_map.items() if "callback" in spec and '"words-mark"' in o)
    return callback_request(app, output, {CASE_STORE: {}, "from-words.data": {}}, [CASE_STORE])


def scenarios(model, app) -> dict[str, str]:
    """The wrk Lua script of each scenario."""
    cases = [dict(e.evidence) for e in load_examples(model).values()]
    questions = lua_list(
        lua_list([lua_string(name), lua_list(lua_string(s) for s in v.states)]) for name, v in model.variables.items()
    )

    def cycle(path, bodies):
        return CYCLE_LUA.format(bodies=lua_list(lua_string(json.dumps(b)) for b in bodies), path=path)

    def randomly(path, template):
        prefix, suffix = json.dumps(template).split(CASE_MARK)
        return RANDOM_LUA.format(
            questions=questions, prefix=lua_string(prefix), suffix=lua_string(suffix), share=SHARE_OBSERVED, path=path
        )

    dash_template = main_callback_request(app, "__CASE__")
    return {
        "healthz": GET_LUA.format(path=HEALTH_PATH),
        "api_repeat": cycle(INFER_PATH, [{"evidence": c} for c in cases]),
        "api_unique": randomly(INFER_PATH, {"evidence": "__CASE__"}),
        "api_unique_lean": randomly(INFER_PATH, {"evidence": "__CASE__", "include": LEAN}),
        "dash_repeat": cycle(CALLBACK_PATH, [main_callback_request(app, c) for c in cases]),
        "dash_unique": randomly(CALLBACK_PATH, dash_template),
        "dash_floor": cycle(CALLBACK_PATH, [floor_callback_request(app)]),
    }


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("load: installing wrk (apt-get install wrk)", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
        subprocess.run(install, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("load: wrk is not installed and apt-get could not install it")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(port: int):
    """A gunicorn serving the dashboard on 127.0.0.1:``port``; yields the master's pid."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:twitchcause.app.gunicorn_conf",  # the project's own settings (gthread workers), as deployed
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "twitchcause.app.wsgi:server",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"load: gunicorn did not start ({' '.join(command)})")
            time.sleep(0.2)
        while len(workers(process.pid)) < WORKERS:
            time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", HEALTH_PATH)
        return conn.getresponse().status == 200
    except OSError:
        return False


def workers(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def usage(pids: list[int]) -> tuple[float, int]:
    """CPU seconds (user + system) and minor page faults of ``pids`` so far."""
    ticks, faults = 0, 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        faults += int(fields[7])
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK"), faults


def run_wrk(wrk: str, port: int, script: str, seconds: int, connections: int, pids: list[int]) -> dict:
    """One wrk run: requests, seconds, errors, ``latency`` (a Counter of microseconds), worker CPU and faults."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + REPORT_LUA)
    try:
        cpu0, faults0 = usage(pids)
        command = [wrk, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "-s", handle.name]
        out = subprocess.run([*command, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
        cpu1, faults1 = usage(pids)
    finally:
        os.unlink(handle.name)
    figures = json.loads(re.findall(r"^\{.*\}$", out.stdout, re.MULTILINE)[-1])
    figures["latency"] = Counter(dict(figures.pop("latency_us")))
    return {**figures, "cpu": cpu1 - cpu0, "faults": faults1 - faults0}


def combined(runs: list[dict]) -> dict:
    """The figures of several runs of one scenario taken together."""
    requests = max(sum(r["requests"] for r in runs), 1)
    latency = sum((r["latency"] for r in runs), Counter())
    return {
        "requests_per_s": requests / sum(r["seconds"] for r in runs),
        "p50_ms": percentile(latency, 50) / 1000,
        "p99_ms": percentile(latency, 99) / 1000,
        "errors": sum(r["errors"] for r in runs),
        "cpu_ms_per_request": sum(r["cpu"] for r in runs) * 1000 / requests,
        "faults_per_request": sum(r["faults"] for r in runs) / requests,
    }


def percentile(counts: Counter, share: float) -> float:
    total, seen = sum(counts.values()), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= total * share / 100:
            return value
    return float("nan")


def key_bomb(app) -> bytes:
    """A main-callback request whose case holds 100,000 unknown answers (about 1.5 MB)."""
    bomb = {f"x{i:05d}": "y" for i in range(100_000)}
    return json.dumps(main_callback_request(app, bomb)).encode()


def attack(port: int, body: bytes, stop: threading.Event, statuses: list) -> None:
    """Post ``body`` again and again until ``stop``; the status of each answer in ``statuses``."""
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", CALLBACK_PATH, body, {"Content-Type": "application/json"})
            statuses.append(conn.getresponse().status)
            conn.close()
        except OSError:
            statuses.append("reset")  # the server answered 413 and closed before the whole body was sent


def print_row(name: str, figures: dict, reference: dict | None) -> None:
    ratio = f"{figures['requests_per_s'] / reference['requests_per_s']:5.2f}x" if reference else "     -"
    print(
        f"{name:<18} {figures['requests_per_s']:8.0f} req/s  p50 {figures['p50_ms']:6.2f} ms  "
        f"p99 {figures['p99_ms']:6.2f} ms  {ratio}  errors {figures['errors']}  "
        f"cpu {figures['cpu_ms_per_request']:.2f} ms/req  faults {figures['faults_per_request']:.1f}/req",
        flush=True,
    )


def measure(seconds: int, connections: int) -> dict[str, dict]:
    """Every scenario against one server, in turns of ROUND_SECONDS so that a change in the
    machine's other load falls on every scenario alike; the figures by scenario name."""
    model = load()
    app = create_app(model)
    scripts = scenarios(model, app)
    wrk = ensure_wrk()
    port = free_port()
    runs: dict[str, list] = {name: [] for name in scripts}
    with gunicorn(port) as master:
        pids = workers(master)
        for script in scripts.values():
            run_wrk(wrk, port, script, 1, connections, pids)  # warm up (and fill the caches)
        for _ in range(max(1, seconds // ROUND_SECONDS)):
            for name, script in scripts.items():
                runs[name].append(run_wrk(wrk, port, script, ROUND_SECONDS, connections, pids))
    results = {name: combined(r) for name, r in runs.items()}
    for name, figures in results.items():
        print_row(name, figures, results["healthz"])
    return results


def summary_line(results: dict[str, dict]) -> str:
    healthz = results["healthz"]["requests_per_s"]
    ratios = " ".join(f"{name}_vs_healthz={results[name]['requests_per_s'] / healthz:.2f}" for name in SUMMARY)
    return f"{ratios} api_unique_p99_ms={results['api_unique']['p99_ms']:.1f}"


def measure_attack(seconds: int, connections: int) -> None:
    """The dashboard's main callback alone and beside two key-bomb posters, in alternating turns."""
    model = load()
    app = create_app(model)
    scripts = scenarios(model, app)
    body = key_bomb(app)
    wrk = ensure_wrk()
    port = free_port()
    with gunicorn(port) as master:
        pids = workers(master)
        for name in ATTACKED:
            run_wrk(wrk, port, scripts[name], 1, connections, pids)
            alone, attacked, statuses = [], [], []
            for _ in range(max(1, seconds // ROUND_SECONDS)):
                alone.append(run_wrk(wrk, port, scripts[name], ROUND_SECONDS, connections, pids))
                stop = threading.Event()
                attackers = [threading.Thread(target=attack, args=(port, body, stop, statuses)) for _ in range(2)]
                for thread in attackers:
                    thread.start()
                attacked.append(run_wrk(wrk, port, scripts[name], ROUND_SECONDS, connections, pids))
                stop.set()
                for thread in attackers:
                    thread.join()
            alone, attacked = combined(alone), combined(attacked)
            print_row(name, alone, None)
            print_row(f"{name}+attack", attacked, alone)
            answered = {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)}
            print(f"  {len(statuses)} key-bombed posts of {len(body) / 1e6:.1f} MB meanwhile, answers {answered}")
            print(f"  {name}_attack_p99_vs_alone={attacked['p99_ms'] / alone['p99_ms']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/load.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per scenario (default: 10)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--attack", action="store_true", help="the dashboard under two 1.5 MB key-bomb posters")
    args = parser.parse_args(argv)
    if args.attack:
        measure_attack(args.seconds, args.connections)
        return 0
    print(
        f"gunicorn {WORKERS} gthread workers (twitchcause.app.gunicorn_conf), wrk {WRK_THREADS} threads, "
        f"{args.connections} connections, {args.seconds} s per scenario on 127.0.0.1"
    )
    print(summary_line(measure(args.seconds, args.connections)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
