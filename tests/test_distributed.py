"""Batch on a Dask cluster: the same rows, columns and digits as the single process, as Parquet parts."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_helpers import one_error_line, run
from distributed import LocalCluster

from twitchcause.batch import run_batch
from twitchcause.distributed import run_dask


@pytest.fixture(scope="module")
def scheduler():
    """Two worker processes, as on a small cluster; shared by the tests of this module."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def cases(loaded_model, tmp_path_factory) -> Path:
    rnd = random.Random(5)
    names = list(loaded_model.variables)
    path = tmp_path_factory.mktemp("dask") / "cases.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for _ in range(400):
            writer.writerow([rnd.choice(("",) + loaded_model.variables[n].states) for n in names])
    return path


def table(path: Path):
    return pq.read_table(path).replace_schema_metadata(None)


def test_dask_output_equals_the_single_process_output(loaded_model, scheduler, cases, tmp_path):
    run_batch(loaded_model, cases, tmp_path / "single.parquet")
    rows = run_dask(loaded_model, str(cases), tmp_path / "parts", scheduler, blocksize=8_000)
    parts = sorted((tmp_path / "parts").glob("*.parquet"))
    assert rows == 400 and len(parts) > 1  # several partitions, written in row order
    single, parted = table(tmp_path / "single.parquet"), table(tmp_path / "parts")
    assert parted.schema.equals(single.schema)
    assert parted.equals(single)


def test_parquet_input_on_dask(loaded_model, scheduler, cases, tmp_path):
    run_batch(loaded_model, cases, tmp_path / "single.parquet")
    source = tmp_path / "cases.parquet"
    pq.write_table(pq.read_table(tmp_path / "single.parquet").select(list(loaded_model.variables)), source)
    run_dask(loaded_model, str(source), tmp_path / "parts", scheduler)
    assert table(tmp_path / "parts").equals(table(tmp_path / "single.parquet"))


def test_the_command_line_on_a_scheduler(loaded_model, scheduler, cases, tmp_path, capsys):
    status, _, err = run(capsys, "batch", str(cases), "-o", str(tmp_path / "parts"), "--dask", scheduler)
    assert status == 0, err
    assert err.strip() == f"400 rows -> {tmp_path / 'parts'} (a folder of Parquet parts)"
    assert table(tmp_path / "parts").num_rows == 400


def test_a_bad_cell_on_a_worker_is_one_line(scheduler, tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text("weakness,pain\nyes,no\nmaybe,no\n", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(source), "-o", str(tmp_path / "parts"), "--dask", scheduler)
    assert status == 2
    assert one_error_line(err) == (
        f"{source}: partition 0: row 2, column 'weakness': evidence 'weakness' has no state 'maybe'; "
        "expected one of no, yes (did you mean 'yes'?)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("file", "{out}: is a file; --dask writes a folder of Parquet parts"),
        ("stranger", "{out}: is a folder holding other files (notes.txt); give a new folder"),
    ],
)
def test_dask_never_replaces_what_is_not_its_output(cases, tmp_path, capsys, setup, message):
    out = tmp_path / "out"
    if setup == "file":
        out.write_text("keep me", encoding="utf-8")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me", encoding="utf-8")
    status, _, err = run(capsys, "batch", str(cases), "-o", str(out), "--dask", "local")
    assert status == 2
    assert one_error_line(err) == message.format(out=out)
    assert "keep me" in (out.read_text() if setup == "file" else (out / "notes.txt").read_text())


def test_skip_bad_rows_is_refused_with_dask(cases, tmp_path, capsys):
    status, _, err = run(capsys, "batch", str(cases), "-o", str(tmp_path / "p"), "--dask", "local", "--skip-bad-rows")
    assert status == 2
    assert one_error_line(err) == "--skip-bad-rows works without --dask only; a bad row stops a Dask run"
