"""Slow clients against the dashboard's server: how long ``/healthz`` goes unanswered.

Starts gunicorn on 127.0.0.1 with the project's settings (``app/gunicorn_conf.py``; ``--sync``
instead runs ``gunicorn --workers 2 --preload`` with its default sync worker, for comparison)
and probes ``GET /healthz`` on a new connection every 0.1 s, first alone (the quiet run), then
beside ``--slow`` sockets that send a request's first line and then one header line every 5 s
(never finishing their headers, reconnecting when dropped) and ``--idle`` sockets that connect
and send nothing. It prints, for both runs, the probes answered, their p50 and p99, and the
outage: the total length of the gaps of more than one second between consecutive answers. The
last line sums it up::

    outage_s=0.0 quiet_p99_ms=.. slow_p99_ms=.. p99_vs_quiet=..

    python benchmarks/slow_clients.py [--seconds 60] [--slow 4] [--idle 2] [--sync]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

PROBE_EVERY_SECONDS = 0.1
PROBE_TIMEOUT_SECONDS = 2.0
GAP_SECONDS = 1.0  # a gap between answers longer than this counts as outage
TRICKLE_SECONDS = 5.0  # a slow socket sends one header line this often
START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(port: int, sync: bool):
    if sync:
        settings = ["--workers", "2", "--preload"]
    else:
        settings = ["-c", "python:twitchcause.app.gunicorn_conf"]
    command = [sys.executable, "-m", "gunicorn", *settings, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([*command, "twitchcause.app.wsgi:server"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_SECONDS
        while probe(port) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start: {' '.join(command)}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def probe(port: int) -> float | None:
    """Seconds ``GET /healthz`` took on a new connection, or None when it was not answered in time."""
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT_SECONDS)
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        ok = response.status == 200 and response.read() == b"ok\n"
        conn.close()
    except OSError:
        return None
    return time.perf_counter() - start if ok else None


def measure(port: int, seconds: float) -> tuple[list[float], float]:
    """Every answered probe's latency, and the outage in seconds."""
    latencies, answers = [], [time.monotonic()]
    end = answers[0] + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        latency = probe(port)
        if latency is not None:
            latencies.append(latency)
            answers.append(time.monotonic())
        time.sleep(max(0.0, PROBE_EVERY_SECONDS - (time.monotonic() - started)))
    answers.append(max(time.monotonic(), answers[-1]))
    gaps = [later - earlier for earlier, later in zip(answers, answers[1:])]
    return latencies, sum(gap for gap in gaps if gap > GAP_SECONDS)


def slow_socket(port: int, stop: threading.Event, trickle: bool) -> None:
    """A client that starts a request and never finishes it (or, not ``trickle``, sends nothing)."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                if trickle:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
                line = 0
                while not stop.wait(TRICKLE_SECONDS):
                    if trickle:
                        line += 1
                        s.sendall(f"X-Slow-{line}: {line}\r\n".encode())
        except OSError:
            stop.wait(0.1)  # dropped by the server: connect again


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, latencies: list[float], outage: float) -> None:
    print(
        f"{name:>6}: {len(latencies)} answered, p50 {percentile(latencies, 0.5) * 1e3:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1e3:.1f} ms, outage {outage:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--slow", type=int, default=4, help="sockets trickling header lines")
    parser.add_argument("--idle", type=int, default=2, help="sockets that connect and send nothing")
    parser.add_argument("--sync", action="store_true", help="gunicorn's default sync worker, as in the issue")
    args = parser.parse_args(argv)
    port = free_port()
    with gunicorn(port, args.sync):
        quiet, quiet_outage = measure(port, args.seconds)
        report("quiet", quiet, quiet_outage)
        stop = threading.Event()
        clients = [
            threading.Thread(target=slow_socket, args=(port, stop, i < args.slow), daemon=True)
            for i in range(args.slow + args.idle)
        ]
        for client in clients:
            client.start()
        try:
            slow, slow_outage = measure(port, args.seconds)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=TRICKLE_SECONDS + 1)
        report("slow", slow, slow_outage)
    quiet_p99, slow_p99 = percentile(quiet, 0.99), percentile(slow, 0.99)
    print(
        f"outage_s={slow_outage:.1f} quiet_p99_ms={quiet_p99 * 1e3:.1f} slow_p99_ms={slow_p99 * 1e3:.1f} "
        f"p99_vs_quiet={slow_p99 / quiet_p99:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
