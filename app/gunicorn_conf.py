"""gunicorn's settings for the dashboard, for a server that faces slow or idle clients.

    gunicorn -c python:twitchcause.app.gunicorn_conf twitchcause.app.wsgi:server

gunicorn's default ``sync`` worker serves one connection at a time, and waits as long as that
connection takes to send its request: two idle sockets kept every worker of a 2-worker server
silent for 30 s, until the arbiter killed them (gunicorn's own documentation says sync workers
need a buffering proxy in front). The ``gthread`` worker waits for a request's bytes in a poller
and hands a thread only a connection that is sending; a client that trickles its headers holds
one thread of one worker, not the worker. ``benchmarks/slow_clients.py`` measures it: beside 4
sockets sending a header line every 5 s and 2 idle ones, ``/healthz`` was never unanswered in
60 s, its p99 0.9x that of a quiet run; with the sync worker, no probe was answered. Each
trickling client still holds a thread until its headers are complete, so :data:`THREADS_PER_WORKER`
bounds how many a worker absorbs: in front of the internet, a buffering proxy still goes first
(README, Deployment).

Every setting can be overridden on the command line (``--bind 0.0.0.0:8050``) or through
``GUNICORN_CMD_ARGS``.
"""

import gc
import os

WORKERS_PER_CORE = 1  # the model's work is numpy under the GIL: one process per core uses the cores
THREADS_PER_WORKER = 32  # connections a worker serves at once: slow clients each hold one
REQUEST_TIMEOUT_SECONDS = 30  # a worker silent this long is restarted

bind = "127.0.0.1:8050"
workers = max(1, WORKERS_PER_CORE * (os.cpu_count() or 1))
worker_class = "gthread"
threads = THREADS_PER_WORKER
preload_app = True  # compile the model once, before forking
timeout = REQUEST_TIMEOUT_SECONDS
keepalive = 5  # seconds an idle kept-alive connection stays open


def when_ready(server):
    """The app is loaded (``preload_app``) and no worker is forked yet: what it built (the model, Dash's
    registry, the page) is moved out of the garbage collector's reach, so no worker's
    full collection walks it again (and the workers keep sharing those pages with the master). With
    the page's caches kept as JSON text (:func:`app.cache.per_case_page`), 1,200 unique page answers
    in one process spent 0.14 s collecting, the longest collection 1 ms; with neither, 2.3 s and 256 ms."""
    gc.freeze()
