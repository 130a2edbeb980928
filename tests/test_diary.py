"""``twitchcause diary``: the SQLite file, its schema versions, kills during a write, hostile imports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from cli_helpers import one_error_line, run

from twitchcause import diary


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("TWITCHCAUSE_DATA_DIR", str(folder))
    return folder


def _json(capsys, *argv):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def test_new_add_show_export_import_delete(capsys, data_dir, tmp_path):
    assert _json(capsys, "diary", "new", "me") == {"diary": "me", "check_ins": 0}
    first = _json(capsys, "diary", "add", "me", "caffeine_intake=high", "sleep=short", "--date", "2026-03-01")
    assert first["check_in"] == 1 and first["answers"] == {"caffeine_intake": "high", "sleep": "short"}
    second = _json(
        capsys, "diary", "add", "me", "--date", "2026-03-05", "--changed", "caffeine_intake", "--twitch", "gone"
    )
    assert second["check_in"] == 2 and second["changes"] == ["caffeine_intake"]
    assert second["escalation"]["level"] == "self_care"
    shown = _json(capsys, "diary", "show", "me")
    assert shown["ranking"][0] == "caffeine" and shown["escalation"]["level"] == "self_care"
    assert (
        shown["changes"][0]["variable"] == "caffeine_intake"
        and "It seems to have helped" in shown["changes"][0]["summary"]
    )
    status, out, _ = run(capsys, "diary", "show", "me")
    assert status == 0 and "did it help?" in out and "It seems to have helped" in out and "informs" in out
    exported = tmp_path / "me.json"
    assert _json(capsys, "diary", "export", "me", "-o", str(exported)) == {"diary": "me", "exported": str(exported)}
    data = json.loads(exported.read_text())
    assert data["format"] == "twitchcause-diary" and data["version"] == 1 and len(data["check_ins"]) == 2
    assert _json(capsys, "diary", "import", str(exported), "--name", "copy") == {"diary": "copy", "check_ins": 2}
    assert _json(capsys, "diary", "show", "copy")["drivers"] == shown["drivers"]
    assert _json(capsys, "diary", "delete", "copy") == {"deleted": "copy"}
    status, _, err = run(capsys, "diary", "show", "copy")
    assert status == 2 and one_error_line(err) == "no diary named 'copy'; diaries here: me"
    assert (data_dir / "diaries.sqlite3").stat().st_mode & 0o077 == 0  # health notes: readable by this user only
    with sqlite3.connect(data_dir / "diaries.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == diary.SCHEMA_VERSION


def test_add_shows_the_level_at_once(capsys):
    run(capsys, "diary", "new", "me")
    run(capsys, "diary", "add", "me", "caffeine_intake=high", "--date", "2026-03-01")
    status, out, _ = run(capsys, "diary", "add", "me", "weakness=yes", "--date", "2026-03-02")
    assert status == 0 and "escalation now: see_doctor_promptly" in out and "[weakness]" in out


def test_export_to_standard_output_is_the_file_format(capsys):
    run(capsys, "diary", "new", "me")
    run(capsys, "diary", "add", "me", "weakness=not_sure", "--date", "2026-03-01")
    status, out, _ = run(capsys, "diary", "export", "me")
    assert status == 0
    assert json.loads(out)["check_ins"] == [{"date": "2026-03-01", "answers": {"weakness": "not_sure"}, "changes": []}]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("diary", "new", "me"), "a diary named 'me' exists already; choose another name or delete it first"),
        (("diary", "new", "a\nb"), "diary name 'a\\\\nb' must be at most 64 printable characters"),
        (("diary", "add", "nobody", "--date", "2026-03-01"), "no diary named 'nobody'; diaries here: me"),
        (("diary", "add", "me", "--date", "2026-02-30"), "check-in 2: date '2026-02-30' is not a date like 2026-03-01"),
        (
            ("diary", "add", "me", "--date", "2026-02-01"),
            "check-in 2: date 2026-02-01 is before the check-in before it",
        ),
        (("diary", "add", "me", "cafeine=high", "--date", "2026-03-02"), "did you mean 'caffeine_intake'"),
        (("diary", "add", "me", "--twitch", "fine", "--date", "2026-03-02"), "check-in 2: twitch 'fine' is not one of"),
        (("diary", "add", "me", "--changed", "coffee", "--date", "2026-03-02"), "unknown change 'coffee'"),
    ],
)
def test_bad_commands_are_one_line_and_change_nothing(capsys, data_dir, argv, message):
    run(capsys, "diary", "new", "me")
    run(capsys, "diary", "add", "me", "sleep=short", "--date", "2026-03-01")
    before = diary.Store().check_ins("me")
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in one_error_line(err)
    assert diary.Store().check_ins("me") == before


def test_export_never_writes_over_the_diaries_file(capsys, data_dir):
    run(capsys, "diary", "new", "me")
    path = data_dir / "diaries.sqlite3"
    before = path.read_bytes()
    status, _, err = run(capsys, "diary", "export", "me", "-o", str(path))
    assert status == 2 and one_error_line(err).endswith("that is where the diaries are kept; export to another file")
    assert path.read_bytes() == before and diary.Store().names() == ["me"]


def test_a_file_from_a_newer_schema_is_refused_in_one_line_and_left_alone(capsys, data_dir):
    data_dir.mkdir()
    path = data_dir / "diaries.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={diary.SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    status, _, err = run(capsys, "diary", "new", "me")
    assert status == 2
    assert one_error_line(err).endswith(
        f"written by a newer twitchcause (diary schema {diary.SCHEMA_VERSION + 1}; this one reads up to "
        f"{diary.SCHEMA_VERSION}); upgrade twitchcause to read it"
    )
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(capsys, data_dir):
    data_dir.mkdir()
    path = data_dir / "diaries.sqlite3"
    path.write_bytes(b"my notes, not a database\n" * 100)
    status, _, err = run(capsys, "diary", "new", "me")
    assert status == 2 and "not a twitchcause diary file" in one_error_line(err)
    assert path.read_bytes() == b"my notes, not a database\n" * 100


def test_a_first_version_file_is_migrated_keeping_its_check_ins(capsys, data_dir):
    data_dir.mkdir()
    path = data_dir / "diaries.sqlite3"
    with sqlite3.connect(path) as db:
        for statement in diary.MIGRATIONS[0]:
            db.execute(statement)
        db.execute("INSERT INTO diaries (name, created) VALUES ('old', '2026-01-01')")
        body = json.dumps({"date": "2026-03-01", "answers": {"sleep": "short"}, "changes": []})
        db.execute("INSERT INTO check_ins (diary, position, body) VALUES (1, 0, ?)", (body,))
        db.execute("PRAGMA user_version=1")
    added = _json(capsys, "diary", "add", "old", "--date", "2026-03-04", "--changed", "sleep", "--twitch", "better")
    assert added["check_in"] == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == diary.SCHEMA_VERSION
        assert [r[0] for r in db.execute("SELECT recorded != '' FROM check_ins ORDER BY position")] == [0, 1]


ADDER = """
import datetime, sys
from twitchcause.cli import main
for i in range(int(sys.argv[1]), 10**6):
    day = (datetime.date(2026, 1, 1) + datetime.timedelta(days=i)).isoformat()
    assert main(["diary", "add", "me", "sleep=short", "--date", day]) == 0
    print("committed", i, flush=True)
"""


def test_a_kill_during_add_loses_at_most_that_check_in_and_never_corrupts_the_file(capsys, data_dir):
    run(capsys, "diary", "new", "me")
    path = data_dir / "diaries.sqlite3"
    committed = 0
    env = {**os.environ, "TWITCHCAUSE_DATA_DIR": str(data_dir)}
    for delay in (0.9, 1.3, 1.7, 2.1):
        child = subprocess.Popen(
            [sys.executable, "-c", ADDER, str(committed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        printed = [line for line in child.stdout.read().splitlines() if line.startswith("committed ")]
        child.wait()
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM check_ins ORDER BY position")]
        reported = committed + len(printed)
        assert len(bodies) in (reported, reported + 1)  # the check-in in flight may or may not have landed
        assert all(b["answers"] == {"sleep": "short"} for b in bodies)
        committed = len(bodies)
    assert committed > 0
    assert len(diary.Store().check_ins("me")) == committed


HOSTILE = [
    ("not json", b"{", "not valid JSON"),
    ("not utf-8", b"\xff\xfe\x00", "not valid JSON"),
    ("a list", b"[]", 'not a twitchcause diary (expected an object with "format": "twitchcause-diary")'),
    ("another format", b'{"format": "other"}', "not a twitchcause diary"),
    ("newer format", b'{"format": "twitchcause-diary", "version": 2}', "written by a newer twitchcause"),
    ("version text", b'{"format": "twitchcause-diary", "version": "1"}', "version '1' is not a diary format version"),
    ("version true", b'{"format": "twitchcause-diary", "version": true}', "is not a diary format version"),
    ("twice", b'{"format": "twitchcause-diary", "format": "twitchcause-diary"}', "key 'format' is given twice"),
    ("extra key", b'{"format": "twitchcause-diary", "version": 1, "x": 1}', "unknown key 'x'"),
    ("no check-ins", b'{"format": "twitchcause-diary", "version": 1, "name": "a"}', "check_ins must be a list"),
    ("no name", b'{"format": "twitchcause-diary", "version": 1, "check_ins": []}', "a diary name must be"),
    (
        "control name",
        b'{"format": "twitchcause-diary", "version": 1, "name": "a\\u001b[2J", "check_ins": []}',
        "must be at most 64 printable characters",
    ),
    (
        "bad check-in",
        b'{"format": "twitchcause-diary", "version": 1, "name": "a", "check_ins": [{"date": "x"}]}',
        "check-in 1: date 'x' is not a date",
    ),
    (
        "bad state",
        b'{"format": "twitchcause-diary", "version": 1, "name": "a", '
        b'"check_ins": [{"date": "2026-03-01", "answers": {"sleep": 7}}]}',
        "check-in 1: evidence 'sleep' must be a state name",
    ),
    ("deep", b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ("huge", b" " * (diary.IMPORT_LIMIT + 1), "larger than"),
    ("exists", None, "a diary named 'me' exists already"),
    ("folder", "folder", "cannot be read"),
    ("fifo", "fifo", "cannot be read (not a regular file)"),
    ("missing", "missing", "no such file"),
]


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_import_file_is_one_line_and_stores_nothing(capsys, tmp_path, name, content, message):
    run(capsys, "diary", "new", "me")
    path = tmp_path / "in.json"
    if content == "folder":
        path.mkdir()
    elif content == "fifo":
        os.mkfifo(path)  # never waited on
    elif content is None:
        run(capsys, "diary", "export", "me", "-o", str(path))
    elif content != "missing":
        path.write_bytes(content)
    status, _, err = run(capsys, "diary", "import", str(path))
    assert status == 2
    assert message in one_error_line(err)
    assert diary.Store().names() == ["me"]
    if isinstance(content, bytes):
        assert path.read_bytes() == content  # the file the user gave is untouched
