"""Measure the main callback under load: requests per second, median and 99th percentile.

Start the production server, then run the bounded client (or write a script for ``wrk``)::

    gunicorn --workers 2 --preload --bind 127.0.0.1:8050 twitchcause.app.wsgi:server
    python -m benchmarks.loadtest --url http://127.0.0.1:8050 --seconds 20 --connections 8
    python -m benchmarks.loadtest --wrk-script /tmp/main.lua && wrk -t2 -c8 -d20s --latency -s /tmp/main.lua http://127.0.0.1:8050

Every request posts a different example case, as a person clicking through them would.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from urllib.parse import urlsplit

import twitchcause.model as twitch_model
from twitchcause.app.examples import load_examples

CALLBACK_PATH = "/_dash-update-component"
MAX_SECONDS = 30


def main_callback_request(evidence: dict) -> dict:
    """The JSON body the browser posts when the case changes (the main callback)."""
    return {
        "output": "view.data",
        "outputs": {"id": "view", "property": "data"},
        "inputs": [{"id": "case", "property": "data", "value": evidence}],
        "changedPropIds": ["case.data"],
        "state": [],
    }


def request_bodies() -> list[bytes]:
    model = twitch_model.load()
    return [json.dumps(main_callback_request(e.evidence)).encode() for e in load_examples(model).values()]


def run_client(url: str, seconds: float, connections: int) -> dict:
    """Post the main callback from ``connections`` threads for ``seconds``; latencies in ms."""
    seconds = min(seconds, MAX_SECONDS)
    parts = urlsplit(url)
    bodies = request_bodies()
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
        sent = 0
        while time.perf_counter() < deadline:
            body = bodies[(index + sent) % len(bodies)]
            start = time.perf_counter()
            conn.request("POST", CALLBACK_PATH, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            latencies[index].append((time.perf_counter() - start) * 1000)
            errors[index] += response.status != 200
            sent += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = sorted(x for per in latencies for x in per)
    return {
        "requests": len(every),
        "errors": sum(errors),
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(every) / elapsed, 1),
        "p50_ms": round(statistics.median(every), 1),
        "p99_ms": round(every[min(len(every) - 1, int(0.99 * len(every)))], 1),
    }


def wrk_script() -> str:
    """A Lua script for ``wrk`` that cycles through the example cases."""
    bodies = ",\n".join(json.dumps(b.decode()) for b in request_bodies())
    return (
        "bodies = {\n" + bodies + "\n}\ncounter = 0\n"
        "request = function()\n  counter = counter + 1\n"
        f'  return wrk.format("POST", "{CALLBACK_PATH}", {{["Content-Type"] = "application/json"}}, '
        "bodies[(counter % #bodies) + 1])\nend\n"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--seconds", type=float, default=20, help=f"at most {MAX_SECONDS}")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-script", metavar="PATH", help="write a wrk Lua script instead of measuring")
    args = parser.parse_args(argv)
    if args.wrk_script:
        with open(args.wrk_script, "w", encoding="utf-8") as handle:
            handle.write(wrk_script())
        return 0
    print(json.dumps(run_client(args.url, args.seconds, args.connections)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
