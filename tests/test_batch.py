"""Batch: one case per CSV row, streamed in chunks, written atomically."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from cli_helpers import one_error_line, run
from hypothesis import settings
from hypothesis import strategies as st

from twitchcause.batch import run_batch
from twitchcause.model.escalation import escalate, level_ranks

REPO = Path(__file__).resolve().parents[1]

ROWS = [
    {"caffeine_intake": "high", "weakness": "no", "twitch_site": "calf"},
    {"caffeine_intake": "none", "weakness": "yes", "twitch_site": "toe"},
    {"caffeine_intake": "", "weakness": "no", "twitch_site": "calf"},
    {"caffeine_intake": "high", "weakness": "no", "twitch_site": "calf"},
    {"caffeine_intake": "moderate", "weakness": "", "twitch_site": ""},
    {"caffeine_intake": "high", "weakness": "no", "twitch_site": "calf"},
    {"caffeine_intake": "", "weakness": "", "twitch_site": ""},
    {"caffeine_intake": "none", "weakness": "no", "twitch_site": "thigh"},
]
COLUMNS = ["caffeine_intake", "weakness", "twitch_site"]


@pytest.fixture(scope="module")
def m(loaded_model):
    return loaded_model


def write_csv(path: Path, rows, columns=COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def test_output_keeps_every_row_in_order_then_posteriors_then_escalation(m, tmp_path, capsys):
    source = write_csv(tmp_path / "cases.csv", ROWS)
    target = tmp_path / "out.csv"
    status, _, err = run(capsys, "batch", str(source), "-o", str(target))
    assert status == 0
    assert "8 rows" in err
    header, rows = read_csv(target)
    assert header == COLUMNS + [f"posterior_{c}" for c in m.causes] + ["p_none_identified", "escalation"]
    assert len(rows) == len(ROWS)
    for given, row in zip(ROWS, rows):
        assert {c: row[c] for c in COLUMNS} == given
        expected = m.infer(given)  # empty cells are unknown
        for cause in m.causes:
            assert float(row[f"posterior_{cause}"]) == pytest.approx(expected.posterior[cause], abs=1e-12)
        assert float(row["p_none_identified"]) == pytest.approx(expected.none_identified, abs=1e-12)
        assert row["escalation"] == expected.escalation.level
    assert not (tmp_path / "out.csv.rejected.csv").exists()


def test_empty_cell_is_unknown(m, tmp_path):
    source = write_csv(tmp_path / "cases.csv", [{"caffeine_intake": "", "weakness": "no", "twitch_site": "calf"}])
    run_batch(m, source, tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    without = m.infer({"weakness": "no", "twitch_site": "calf"}).posterior
    assert float(rows[0]["posterior_caffeine"]) == pytest.approx(without["caffeine"], abs=1e-12)
    assert float(rows[0]["posterior_caffeine"]) != pytest.approx(
        m.infer({"caffeine_intake": "none", "weakness": "no", "twitch_site": "calf"}).posterior["caffeine"]
    )


def test_not_sure_cell_is_unknown_for_the_causes_and_safe_for_the_level(m, tmp_path):
    rows = [
        {"caffeine_intake": "high", "weakness": "not_sure", "twitch_site": "calf"},
        {"caffeine_intake": "not_sure", "weakness": "no", "twitch_site": "calf"},
    ]
    run_batch(m, write_csv(tmp_path / "cases.csv", rows), tmp_path / "out.csv")
    _, out = read_csv(tmp_path / "out.csv")
    for row, given in zip(out, rows):
        expected = m.infer(given)
        assert float(row["posterior_caffeine"]) == pytest.approx(expected.posterior["caffeine"], abs=1e-12)
        assert row["escalation"] == expected.escalation.level
    assert [row["escalation"] for row in out] == ["see_doctor_promptly", "self_care"]
    assert float(out[1]["posterior_caffeine"]) == pytest.approx(
        m.infer({"weakness": "no", "twitch_site": "calf"}).posterior["caffeine"], abs=1e-12
    )


def test_identical_rows_give_identical_outputs(m, tmp_path):
    run_batch(m, write_csv(tmp_path / "cases.csv", ROWS), tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    assert rows[0] == rows[3] == rows[5]
    assert rows[0] != rows[1]


def test_identical_rows_in_different_chunks_give_identical_outputs(m, tmp_path):
    run_batch(m, write_csv(tmp_path / "cases.csv", ROWS * 3), tmp_path / "out.csv", chunk_rows=3)
    _, rows = read_csv(tmp_path / "out.csv")
    same = [r for r in rows if {c: r[c] for c in COLUMNS} == ROWS[0]]
    assert len(same) == 9
    assert all(r == same[0] for r in same)


def test_escalation_column(m, tmp_path):
    run_batch(m, write_csv(tmp_path / "cases.csv", ROWS), tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    assert [r["escalation"] for r in rows][:2] == ["self_care", "see_doctor_promptly"]


def test_unknown_column_names_it_and_its_closest_match(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("caffiene_intake,weakness\nhigh,no\n", encoding="utf-8")
    status, out, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(
        f"{source}: column 'caffiene_intake': unknown evidence variable 'caffiene_intake' "
        "(did you mean 'caffeine_intake'?)"
    )
    assert not (tmp_path / "out.csv").exists()


def test_duplicate_column(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("weakness,weakness\nno,no\n", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err) == f"{source}: column 'weakness' appears twice"


def test_bad_cell_names_its_row_and_column(tmp_path, capsys):
    rows = [dict(r) for r in ROWS]
    rows[1]["caffeine_intake"] = "hgh"
    source = write_csv(tmp_path / "cases.csv", rows)
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err) == (
        f"{source}: row 2, column 'caffeine_intake': evidence 'caffeine_intake' has no state 'hgh'; "
        "expected one of none, moderate, high (did you mean 'high'?)"
    )
    assert not (tmp_path / "out.csv").exists()


def test_bad_cell_row_number_counts_across_chunks(m, tmp_path):
    from twitchcause.model import EvidenceError

    rows = [dict(r) for r in ROWS]
    rows[6]["twitch_site"] = "knee"
    source = write_csv(tmp_path / "cases.csv", rows)
    with pytest.raises(
        EvidenceError,
        match=re.escape(
            "row 7, column 'twitch_site': evidence 'twitch_site' has no state 'knee'; expected one of toe, foot_arch,"
        ),
    ):
        run_batch(m, source, tmp_path / "out.csv", chunk_rows=3)


def test_skip_bad_rows_writes_a_side_file_and_goes_on(m, tmp_path, capsys):
    rows = [dict(r) for r in ROWS]
    rows[1]["caffeine_intake"] = "hgh"
    rows[4]["weakness"] = "maybe"
    source = write_csv(tmp_path / "cases.csv", rows)
    target = tmp_path / "out.csv"
    status, _, err = run(capsys, "batch", str(source), "-o", str(target), "--skip-bad-rows")
    assert status == 0
    assert "2 bad rows" in err
    _, kept = read_csv(target)
    good = [r for i, r in enumerate(rows) if i not in (1, 4)]
    assert [{c: r[c] for c in COLUMNS} for r in kept] == good
    header, rejected = read_csv(tmp_path / "out.csv.rejected.csv")
    assert header == COLUMNS + ["error"]
    assert [{c: r[c] for c in COLUMNS} for r in rejected] == [rows[1], rows[4]]
    assert rejected[0]["error"] == (
        "row 2, column 'caffeine_intake': evidence 'caffeine_intake' has no state "
        "'hgh'; expected one of none, moderate, high (did you mean 'high'?)"
    )
    assert rejected[1]["error"].startswith("row 5, column 'weakness': evidence 'weakness' has no state 'maybe'")


def test_skip_bad_rows_without_bad_rows_leaves_no_side_file(m, tmp_path):
    summary = run_batch(m, write_csv(tmp_path / "cases.csv", ROWS), tmp_path / "out.csv", skip_bad_rows=True)
    assert summary.rejected == 0
    assert not (tmp_path / "out.csv.rejected.csv").exists()


def test_failed_run_leaves_existing_output_untouched(tmp_path, capsys):
    rows = [dict(r) for r in ROWS]
    rows[5]["weakness"] = "sometimes"
    source = write_csv(tmp_path / "cases.csv", rows)
    target = tmp_path / "out.csv"
    target.write_text("an earlier result\n", encoding="utf-8")
    status, _, _ = run(capsys, "batch", str(source), "-o", str(target), "--chunk-rows", "2")
    assert status == 2
    assert target.read_text(encoding="utf-8") == "an earlier result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "out.csv"]


def test_header_only_csv(m, tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("caffeine_intake,weakness\n", encoding="utf-8")
    status, _, _ = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 0
    header, rows = read_csv(tmp_path / "out.csv")
    assert header == ["caffeine_intake", "weakness"] + [f"posterior_{c}" for c in m.causes] + [
        "p_none_identified",
        "escalation",
    ]
    assert rows == []


def test_empty_file(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err) == f"{source}: empty file; expected a header row of evidence variables"


def test_missing_input_file(tmp_path, capsys):
    status, _, err = run(capsys, "batch", str(tmp_path / "none.csv"), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err) == f"{tmp_path / 'none.csv'}: no such file"


def test_not_a_text_file(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_bytes(b"\xff\xfe\x00\x01binary")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: line 1: not UTF-8 text")


def test_byte_order_mark_and_spaces(m, tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("\ufeffcaffeine_intake,weakness\n high ,no\n", encoding="utf-8")
    run_batch(m, source, tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    assert float(rows[0]["posterior_caffeine"]) == pytest.approx(
        m.infer({"caffeine_intake": "high", "weakness": "no"}).posterior["caffeine"], abs=1e-12
    )


def test_short_and_blank_rows_are_unknown(m, tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("caffeine_intake,weakness\nhigh\n\nnone,yes\n", encoding="utf-8")
    run_batch(m, source, tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    assert len(rows) == 3
    assert float(rows[0]["posterior_caffeine"]) == pytest.approx(
        m.infer({"caffeine_intake": "high"}).posterior["caffeine"], abs=1e-12
    )
    assert float(rows[1]["posterior_caffeine"]) == pytest.approx(m.prior["caffeine"], abs=1e-12)


def test_row_with_too_many_cells_is_a_user_error(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("caffeine_intake,weakness\nhigh,no\nnone,yes,extra\n", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: row 2 ")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no/out.csv", "{tmp}/no: no such folder for the output file out.csv"),
        ("folder", "{tmp}/folder: is a folder; expected the path of the output file"),
    ],
)
def test_unwritable_output_is_a_user_error(tmp_path, capsys, target, message):
    (tmp_path / "folder").mkdir()
    source = write_csv(tmp_path / "cases.csv", ROWS)
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / target))
    assert status == 2
    assert one_error_line(err) == message.format(tmp=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "folder"]


@pytest.mark.parametrize("skip", [False, True])
def test_chunking_gives_the_same_result(m, tmp_path, skip):
    rows = [dict(r) for r in ROWS] * 3
    if skip:
        rows[4] = {**rows[4], "twitch_site": "knee"}
        rows[10] = {**rows[10], "weakness": "nope"}
    source = write_csv(tmp_path / "cases.csv", rows)
    run_batch(m, source, tmp_path / "one.csv", skip_bad_rows=skip)
    run_batch(m, source, tmp_path / "small.csv", skip_bad_rows=skip, chunk_rows=3)
    run_batch(m, source, tmp_path / "single.csv", skip_bad_rows=skip, chunk_rows=1)
    one, small, single = (read_csv(tmp_path / f"{n}.csv")[1] for n in ("one", "small", "single"))
    assert len(one) == len(small) == len(single) == len(rows) - (2 if skip else 0)
    for other in (small, single):
        for a, b in zip(one, other):
            assert [a[c] for c in COLUMNS + ["escalation"]] == [b[c] for c in COLUMNS + ["escalation"]]
            for key in a:
                if key.startswith("posterior_"):
                    assert float(a[key]) == pytest.approx(float(b[key]), abs=1e-12), key
    if skip:
        rejected = [read_csv(tmp_path / f"{n}.csv.rejected.csv")[1] for n in ("one", "small", "single")]
        assert rejected[0] == rejected[1] == rejected[2]
        assert [r["error"][:7] for r in rejected[0]] == ["row 5, ", "row 11,"]


def test_batch_agrees_with_infer_on_random_cases(m, tmp_path):
    import random

    rnd = random.Random(7)
    names = list(m.variables)
    rows = [{n: rnd.choice(("",) + m.variables[n].states) for n in names} for _ in range(40)]
    source = write_csv(tmp_path / "cases.csv", rows, columns=names)
    run_batch(m, source, tmp_path / "out.csv", chunk_rows=7)
    _, out = read_csv(tmp_path / "out.csv")
    for given, row in zip(rows, out):
        r = m.infer(given)
        assert row["escalation"] == r.escalation.level
        for cause in m.causes:
            assert float(row[f"posterior_{cause}"]) == pytest.approx(r.posterior[cause], abs=1e-12)


# -- the shared vignette scorer, through the installed command -------------------------------------
def test_score_vignettes_runs_and_recalls_every_red_flag(shared_dir):
    tool = shared_dir / "tools" / "score_vignettes.py"
    vignettes = shared_dir / "vignettes" / "public.json"
    cli = REPO / ".venv" / "bin" / "twitchcause"
    if not (tool.exists() and vignettes.exists()):
        pytest.skip(f"{tool} or {vignettes} is absent")
    if not cli.exists():
        pytest.skip(f"{cli} is not installed")
    proc = subprocess.run(
        [sys.executable, str(tool), str(vignettes), "--cli", str(cli)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\bredflag_recall=1\.00\b", summary), summary


def test_rows_ending_in_a_comma_keep_every_cell_in_its_column(m, tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("weakness,pain\nyes,no,\nno,yes,\n", encoding="utf-8")
    run_batch(m, source, tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    assert [(r["weakness"], r["pain"], r["escalation"]) for r in rows] == [
        ("yes", "no", "see_doctor_promptly"),
        ("no", "yes", "see_doctor"),
    ]


def test_output_file_gets_the_usual_permissions(m, tmp_path):
    import os
    import stat

    run_batch(m, write_csv(tmp_path / "cases.csv", ROWS), tmp_path / "out.csv")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o666 & ~umask


def test_a_folder_as_input_is_a_user_error(tmp_path, capsys):
    status, _, err = run(capsys, "batch", str(tmp_path), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err) == f"{tmp_path}: cannot be read (Is a directory)"


# -- hostile and clumsy input: a clean line, never a lost file -------------------------------------------
def test_uneven_trailing_commas_are_read(m, tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("caffeine_intake,sleep\nhigh,short\nnone,adequate,,,\n", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 0, err
    _, rows = read_csv(tmp_path / "out.csv")
    assert [(r["caffeine_intake"], r["sleep"]) for r in rows] == [("high", "short"), ("none", "adequate")]
    assert float(rows[1]["posterior_caffeine"]) == pytest.approx(
        m.infer({"caffeine_intake": "none", "sleep": "adequate"}).posterior["caffeine"], abs=1e-12
    )


def test_an_unmatched_quote_is_one_line(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text('weakness,pain\n"yes,no\nno,yes\n', encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: row 1: not readable as CSV (unexpected end of data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv"]


def test_an_output_where_nothing_can_be_written_is_one_line(tmp_path, capsys):
    source = write_csv(tmp_path / "cases.csv", ROWS)
    status, _, err = run(capsys, "batch", str(source), "-o", "/proc/out.csv")
    assert status == 2
    assert one_error_line(err).startswith("/proc/out.csv: cannot be written (")


def test_a_fifo_as_input_is_refused_without_waiting(tmp_path, capsys):
    fifo = tmp_path / "cases.csv"
    os.mkfifo(fifo)
    status, _, err = run(capsys, "batch", str(fifo), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err) == f"{fifo}: cannot be read (not a regular file)"


def test_a_very_long_cell_is_cut_in_its_message(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("weakness\n" + "y" * 60_000 + "\n", encoding="utf-8")  # within MAX_ROW_CHARS
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    line = one_error_line(err)
    assert len(line) < 400 and "(60,000 characters)" in line


def test_output_equal_to_the_input_is_refused(tmp_path, capsys):
    source = write_csv(tmp_path / "same.csv", ROWS)
    before = source.read_bytes()
    status, _, err = run(capsys, "batch", str(source), "-o", str(source))
    assert status == 2
    assert one_error_line(err) == f"{source}: is the input file; write the output elsewhere"
    assert source.read_bytes() == before


def test_an_input_named_like_the_rejected_rows_file_is_never_deleted(tmp_path, capsys):
    source = write_csv(tmp_path / "r.csv.rejected.csv", ROWS)
    before = source.read_bytes()
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "r.csv"), "--skip-bad-rows")
    assert status == 2
    assert one_error_line(err) == f"{source}: is the input file; write the output elsewhere"
    assert source.read_bytes() == before
    assert not (tmp_path / "r.csv").exists()


def test_a_hard_link_to_the_input_is_the_input(tmp_path, capsys):
    source = write_csv(tmp_path / "cases.csv", ROWS)
    os.link(source, tmp_path / "link.csv")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "link.csv"))
    assert status == 2
    assert "is the input file" in one_error_line(err)


@pytest.mark.parametrize("device", ["/dev/null", "symlink-to-null"])
def test_a_device_is_never_replaced(tmp_path, capsys, device):
    source = write_csv(tmp_path / "cases.csv", ROWS)
    target = Path(device)
    if device == "symlink-to-null":
        target = tmp_path / "out.csv"
        target.symlink_to("/dev/null")
    status, _, err = run(capsys, "batch", str(source), "-o", str(target))
    assert status == 2
    assert one_error_line(err) == "/dev/null: is not a regular file; batch writes only regular files"
    assert Path("/dev/null").is_char_device()
    assert target.is_symlink() or device == "/dev/null"


def test_a_symlink_to_a_regular_file_is_followed_and_kept(m, tmp_path):
    source = write_csv(tmp_path / "cases.csv", ROWS)
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "out.csv"
    real.write_text("an earlier result\n", encoding="utf-8")
    link = tmp_path / "out.csv"
    link.symlink_to(real)
    run_batch(m, source, link)
    assert link.is_symlink() and link.resolve() == real
    assert len(read_csv(real)[1]) == len(ROWS)


def test_a_symlink_to_the_input_is_refused(tmp_path, capsys):
    source = write_csv(tmp_path / "cases.csv", ROWS)
    (tmp_path / "out.csv").symlink_to(source)
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert "is the input file" in one_error_line(err)


def test_stale_parts_of_a_killed_run_are_removed_and_live_ones_kept(m, tmp_path):
    import fcntl

    source = write_csv(tmp_path / "cases.csv", ROWS)
    stale = tmp_path / ".out.csv.tmp-0123456789ab.part"
    stale.write_text("half a result", encoding="utf-8")
    stale_rejected = tmp_path / ".out.csv.rejected.csv.tmp-0123456789ab.part"
    stale_rejected.write_text("half", encoding="utf-8")
    live = tmp_path / ".out.csv.tmp-ba9876543210.part"
    live.write_text("another run is writing this", encoding="utf-8")
    with open(live) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        run_batch(m, source, tmp_path / "out.csv")
        assert live.exists()
    assert not stale.exists() and not stale_rejected.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.csv.tmp-ba9876543210.part", "cases.csv", "out.csv"]


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "twitchcause").exists(), reason="the command is not installed")
def test_a_terminated_run_removes_its_temporary_files(m, tmp_path):
    names = list(m.variables)
    rng = np.random.default_rng(3)
    rows = [{n: rng.choice(("",) + m.variables[n].states) for n in names} for _ in range(2_000)]
    source = write_csv(tmp_path / "cases.csv", rows * 50, columns=names)
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "twitchcause"), "batch", str(source), "-o", str(tmp_path / "out.csv")],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.csv.tmp-*.part")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv"]


def test_chunks_give_the_same_digits(m, tmp_path):
    import random

    rnd = random.Random(11)
    names = list(m.variables)
    rows = [{n: rnd.choice(("",) + m.variables[n].states) for n in names} for _ in range(70)]
    source = write_csv(tmp_path / "cases.csv", rows, columns=names)
    texts = []
    for chunk_rows in (1, 7, 64, 1000):
        run_batch(m, source, tmp_path / f"out{chunk_rows}.csv", chunk_rows=chunk_rows)
        texts.append((tmp_path / f"out{chunk_rows}.csv").read_text(encoding="utf-8"))
    assert texts[1:] == texts[:1] * 3


@settings(max_examples=60, deadline=None)
@hypothesis.given(st.data())
def test_column_wise_escalation_is_escalate(loaded_model, data):
    m = loaded_model
    cases = data.draw(st.integers(1, 6))
    codes = {
        name: np.array(data.draw(st.lists(st.integers(-1, len(v.states) - 1), min_size=cases, max_size=cases)))
        for name, v in m.variables.items()
        if data.draw(st.booleans())
    }
    posterior = {
        cause: np.array(data.draw(st.lists(st.floats(0, 1), min_size=cases, max_size=cases))) for cause in m.causes
    }
    ranks = level_ranks(m.priors, codes, posterior, cases)
    for k in range(cases):
        evidence = {n: m.variables[n].states[c[k]] for n, c in codes.items() if c[k] >= 0}
        expected = escalate(m.priors, evidence, {cause: float(p[k]) for cause, p in posterior.items()}).level
        assert m.priors.levels[ranks[k]] == expected


# -- Parquet in and out ----------------------------------------------------------------------------------
def test_parquet_output_has_the_csv_columns_and_numbers(m, tmp_path):
    import pyarrow.parquet as pq

    source = write_csv(tmp_path / "cases.csv", ROWS)
    run_batch(m, source, tmp_path / "out.csv")
    run_batch(m, source, tmp_path / "out.parquet")
    header, rows = read_csv(tmp_path / "out.csv")
    parquet = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert list(parquet[0]) == header
    for text, value in zip(rows, parquet):
        for column in header:
            expected = float(text[column]) if column.startswith(("posterior_", "p_none")) else text[column]
            assert value[column] == expected, column


def test_parquet_input_gives_the_csv_output(m, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = write_csv(tmp_path / "cases.csv", ROWS)
    pq.write_table(pa.table({c: [r[c] or None for r in ROWS] for c in COLUMNS}), tmp_path / "cases.parquet")
    run_batch(m, source, tmp_path / "from_csv.csv")
    run_batch(m, tmp_path / "cases.parquet", tmp_path / "from_parquet.csv", chunk_rows=3)
    assert (tmp_path / "from_parquet.csv").read_text() == (tmp_path / "from_csv.csv").read_text()


def test_a_parquet_file_that_is_not_one_is_one_line(tmp_path, capsys):
    source = tmp_path / "cases.parquet"
    source.write_text("weakness\nyes\n", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: not a readable Parquet file")


def test_the_batch_benchmark_runs_and_prints_its_summary(tmp_path, capsys):
    import runpy

    main = runpy.run_path(str(REPO / "benchmarks" / "batch_scale.py"))["main"]
    assert main(["--rows", "300", "--folder", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"batch_rows=300 batch_cases_per_cpu_s=\d+ batch_peak_rss_mb=\d+ parquet_cases_per_cpu_s=\d+", last
    ), last


def test_the_summary_line_escapes_an_output_name_with_control_characters(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = write_csv(tmp_path / "cases.csv", ROWS)
    status, _, err = run(capsys, "batch", str(source), "-o", "\x0c")
    assert status == 0
    assert err.splitlines() == ["8 rows -> \\x0c"]


# -- a filled cell is never dropped; wide rows and huge cells are refused quickly ----------------------
@pytest.mark.parametrize(
    "text, row",
    [
        ("weakness,pain\nno,yes,no\nno,no\n", 1),  # the case: a third cell on the first row
        ("weakness,pain\nno,yes,,\nno,no,yes\n", 2),  # a first row ending in empty cells hid later rows' cells
        ("weakness,pain\nno,yes\nno,no,,yes\n", 2),
    ],
)
def test_a_filled_cell_beyond_the_header_is_never_dropped(tmp_path, capsys, text, row):
    source = tmp_path / "a.csv"
    source.write_text(text, encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "o.csv"))
    assert status == 2
    assert re.fullmatch(
        re.escape(f"{source}: row {row} (line {row + 1}): has ")
        + r"\d+"
        + re.escape(" cells, expected 2 as in the header"),
        one_error_line(err),
    )
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "text, line",
    [
        ("weakness\n" + "no" + "," * 100_000 + "\n" + "no\n", 2),  # a row of 100,000 empty cells
        ("weakness\n" + "y" * 3_000_000 + "\n", 2),  # a huge cell
        ("weakness\n" + '"' + "y\n" * 1_000_000 + '"\n', 2),  # a huge quoted cell over many short lines
        ("," * 3_000_000 + "\n", 1),  # a header line of commas
        ("w" * 3_000_000 + "\n", 1),  # a huge header cell
    ],
    ids=["wide row", "huge cell", "huge quoted cell", "header of commas", "huge header"],
)
def test_a_row_longer_than_the_bound_is_refused_in_one_line(tmp_path, capsys, text, line):
    from twitchcause.batch import MAX_ROW_CHARS

    source = tmp_path / "cases.csv"
    source.write_text(text, encoding="utf-8")
    started = time.monotonic()
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2 and time.monotonic() - started < 10
    assert one_error_line(err) == (
        f"{source}: line {line}: longer than {MAX_ROW_CHARS:,} characters; a row of answers is far shorter"
    )


def test_rows_of_many_trailing_empty_cells_within_the_bound_are_read_quickly(m, tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("weakness,pain\n" + ("yes,no" + "," * 40_000 + "\n") * 20 + "no,yes\n", encoding="utf-8")
    started = time.monotonic()
    run_batch(m, source, tmp_path / "out.csv")
    assert time.monotonic() - started < 10  # pandas alone takes a minute over these rows
    _, rows = read_csv(tmp_path / "out.csv")
    assert [(r["weakness"], r["pain"]) for r in rows] == [("yes", "no")] * 20 + [("no", "yes")]


def test_a_latin_1_byte_deep_in_a_csv_is_one_line_naming_its_line(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    body = "weakness,pain\n" + "yes,no\n" * 40_000
    source.write_bytes(body.encode() + b"no,caf\xe9\n" + b"no,no\n" * 10)
    for extra in ("", "--skip-bad-rows"):
        status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"), *filter(None, [extra]))
        assert status == 2
        assert one_error_line(err).startswith(f"{source}: line 40002: not UTF-8 text")


def test_a_latin_1_byte_on_the_checked_path_is_one_line(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_bytes(b"weakness,pain\nyes,no,,\n" + b"yes,no\n" * 40_000 + b"no,caf\xe9\n")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: line 40003: not UTF-8 text")


# -- Parquet that is not a table of text --------------------------------------------------------------
def _parquet_file(path: Path, table) -> Path:
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("kind", ["list", "struct", "map"])
def test_a_parquet_column_of_lists_structs_or_maps_is_one_line(tmp_path, capsys, kind):
    pa = pytest.importorskip("pyarrow")
    values = {
        "list": pa.array([["yes"], ["no"]]),
        "struct": pa.array([{"a": "yes"}, {"a": "no"}]),
        "map": pa.array([[("a", "yes")], [("a", "no")]], type=pa.map_(pa.string(), pa.string())),
    }[kind]
    source = _parquet_file(tmp_path / "cases.parquet", pa.table({"weakness": values}))
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: column 'weakness' holds {kind} values; expected text")


def test_a_parquet_column_of_invalid_utf_8_is_one_line(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    column = pa.Array.from_buffers(
        pa.string(),
        2,
        [None, pa.py_buffer(np.array([0, 3, 6], dtype=np.int32).tobytes()), pa.py_buffer(b"yes\xff\xfeo")],
    )
    source = _parquet_file(tmp_path / "cases.parquet", pa.table({"weakness": column}))
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert one_error_line(err).startswith(f"{source}: not a readable Parquet file (")


def test_byte_mutated_parquet_files_are_one_line_or_read(m, tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    names = ["weakness", "pain", "caffeine_intake"]
    rng = np.random.default_rng(11)
    table = pa.table({n: [rng.choice(m.variables[n].states) for _ in range(300)] for n in names})
    good = _parquet_file(tmp_path / "good.parquet", table).read_bytes()
    for i in range(60):
        data = bytearray(good)
        for at in rng.integers(0, len(data), size=rng.integers(1, 4)):
            data[at] = rng.integers(0, 256)
        source = tmp_path / f"mutated{i}.parquet"
        source.write_bytes(bytes(data))
        status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / f"out{i}.csv"))
        assert status in (0, 2), err
        if status == 2:
            one_error_line(err)


def test_a_parquet_column_of_huge_cells_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    from twitchcause import batch

    monkeypatch.setattr(batch, "MAX_PARQUET_COLUMN_BYTES", 100_000)  # the bound, scaled down for a quick test
    source = _parquet_file(tmp_path / "cases.parquet", pa.table({"weakness": ["y" * 200_000, "no"]}))
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert status == 2
    assert re.fullmatch(
        re.escape(f"{source}: column 'weakness' holds ")
        + r"[\d,]+"
        + re.escape(" bytes in row group 1, more than 100,000; a column of answers is far smaller"),
        one_error_line(err),
    )


# -- the files batch writes ---------------------------------------------------------------------------
def test_a_replaced_output_keeps_its_mode(m, tmp_path):
    import stat

    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    run_batch(m, write_csv(tmp_path / "cases.csv", ROWS), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text().startswith("caffeine_intake,")
    target.chmod(0o444)
    run_batch(m, write_csv(tmp_path / "cases.csv", ROWS), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "twitchcause").exists(), reason="the command is not installed")
def test_a_killed_run_leaves_no_part_file_behind_for_any_later_run(m, tmp_path):
    names = list(m.variables)
    rng = np.random.default_rng(5)
    rows = [{n: rng.choice(("",) + m.variables[n].states) for n in names} for _ in range(2_000)]
    source = write_csv(tmp_path / "cases.csv", rows * 50, columns=names)
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "twitchcause"), "batch", str(source), "-o", str(tmp_path / "big.csv")],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size for p in tmp_path.glob(".big.csv.tmp-*.part")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=30)
    run_batch(m, write_csv(tmp_path / "small.csv", ROWS), tmp_path / "other.csv")  # another target, same folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "other.csv", "small.csv"]
