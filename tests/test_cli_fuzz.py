"""The command line under random argument lists: exit 0 or 2, never a traceback, one line per problem.

Runs in process through ``twitchcause.cli.main`` with the packaged model
loaded once and the dashboard server replaced by a stand-in, so a few hundred
argument lists take a few seconds. Arguments mix the real vocabulary, the
command's flags, control characters and awkward files (an endless device, a
FIFO, a folder, nested JSON, a batch CSV with uneven rows).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twitchcause.cli as cli
from twitchcause import model

VOCABULARY = model.load().priors
NAMES = list(VOCABULARY.variables)
STATES = sorted({s for v in VOCABULARY.variables.values() for s in v.states})
FLAGS = ["--json", "--next", "--explain", "--evidence-file", "-o", "--skip-bad-rows", "--priors", "--port", "--host"]
COMMANDS = ["infer", "batch", "schema", "priors", "check", "app"]
TALLY: Counter = Counter()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "case.json").write_text(json.dumps({"weakness": "yes", "sleep": "short"}), encoding="utf-8")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (folder / "cases.csv").write_text("caffeine_intake,sleep\nhigh,short\nnone,adequate,,,\n", encoding="utf-8")
    (folder / "quote.csv").write_text('weakness,pain\n"yes,no\nno,yes\n', encoding="utf-8")
    (folder / "bad.csv").write_text("weakness\nmaybe\n", encoding="utf-8")
    os.mkfifo(folder / "fifo")
    (folder / "dir").mkdir()
    return [
        str(folder / name)
        for name in ("case.json", "deep.json", "cases.csv", "quote.csv", "bad.csv", "fifo", "dir", "none.csv")
    ] + ["/dev/zero", "/dev/null", "/proc/nowhere/out.csv", str(folder / "out.csv"), str(folder / "out.parquet")]


def argument_lists(paths):
    """Half shaped like real commands (so they reach the code behind the parser), half anything."""
    text = st.text(st.characters(blacklist_characters="\x00"), max_size=12)
    path = st.sampled_from(paths) | text
    answer = st.builds(lambda n, s: f"{n}={s}", st.sampled_from(NAMES) | text, st.sampled_from(STATES) | text)
    optional = lambda *tokens: st.just([]) | st.tuples(*tokens).map(list)  # noqa: E731
    infer = st.builds(
        lambda answers, *options: ["infer", *answers, *sum(options, [])],
        st.lists(answer, max_size=4),
        optional(st.just("--evidence-file"), path),
        optional(st.just("--json")),
        optional(st.just("--next"), st.sampled_from(["0", "3", "-1", "99"]) | text),
        optional(st.just("--explain"), st.sampled_from(list(VOCABULARY.causes)) | text),
    )
    batch = st.builds(
        lambda source, target, skip: ["batch", source, "-o", target, *skip],
        path,
        path,
        optional(st.just("--skip-bad-rows")),
    )
    token = st.sampled_from(FLAGS) | st.sampled_from(STATES + NAMES) | answer | path
    anything = st.builds(
        lambda head, rest: [head, *rest], st.sampled_from(COMMANDS) | text, st.lists(token, max_size=6)
    )
    return infer | batch | anything


@pytest.fixture
def quick_cli(monkeypatch, loaded_model, tmp_path):
    """The packaged model without reloading it per call, no server actually started, and a scratch folder as
    the working directory (a random output path such as ``-o x`` lands there, not in the project)."""
    monkeypatch.chdir(tmp_path)
    real_load = cli.load
    monkeypatch.setattr(cli, "load", lambda priors=None: loaded_model if priors is None else real_load(priors))
    monkeypatch.setattr("twitchcause.app.server.serve", lambda *args, **kwargs: None)


def test_random_argument_lists_end_cleanly(quick_cli, files, capsys):
    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(argument_lists(files))
    def check(argv):
        try:
            status = cli.main(argv)
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            status = exc.code
        _, err = capsys.readouterr()
        TALLY["tried"] += 1
        assert status in (0, 2), (argv, status, err)
        assert "Traceback" not in err, (argv, err)
        lines = err.splitlines()
        if status == 2:
            assert lines and all(line.strip() for line in lines), (argv, err)
            if argv[0] != "priors":  # priors check lists every problem of a folder, one per line
                assert len(lines) == 1 and lines[0].startswith("twitchcause: error: "), (argv, err)
        else:
            assert len(lines) <= 1, (argv, err)  # batch's summary line
        TALLY["handled"] += 1

    check()
    print(f"\nCLI fuzz: tried={TALLY['tried']} handled={TALLY['handled']}")


def test_an_argument_no_file_system_can_hold_is_one_line(capsys, tmp_path):
    # a lone surrogate cannot come from a real command line, but can from a caller of main()
    assert cli.main(["batch", "\udd00.csv", "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be encoded as a file name" in err
