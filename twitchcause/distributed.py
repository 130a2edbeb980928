"""Batch beyond one machine: the same scoring as :mod:`twitchcause.batch`, on a Dask cluster.

:func:`run_dask` reads CSV or Parquet with ``dask.dataframe`` (a path or a
glob every worker can read), scores each partition with
:func:`twitchcause.batch.score` (the model is loaded once per worker process
and kept) and writes a Parquet dataset: a folder of part files, in row order,
with the columns of the single-process output. Rows are scored independently,
so the numbers equal the single process's to the last digit. Needs the
``dask`` extra: ``pip install 'twitchcause[dask]'``.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pandas as pd

from .batch import BadCellError, _check_header, _input, is_parquet, parquet_schema, score
from .files import atomic_folder
from .model import TwitchcauseError

_MODELS: dict = {}  # per worker process: priors folder -> model
DATASET_FILES = ("_metadata", "_common_metadata")


def _model(priors_dir: str | None):
    from . import load

    model = _MODELS.get(priors_dir)
    if model is None:
        model = _MODELS[priors_dir] = load(priors_dir)
    return model


def score_partition(frame, header: list[str], priors_dir: str | None, partition_info=None):
    """One partition's output rows; runs on a worker."""
    scored, _, problems = score(frame[header], _model(priors_dir))
    if problems:
        number = partition_info["number"] if partition_info else 0
        raise BadCellError(f"partition {number}: {problems[min(problems)]}")
    return pd.DataFrame(scored, index=frame.index)


def _check_target(target: Path, sources: list[str]) -> None:
    if target.exists() and not target.is_dir():
        raise TwitchcauseError(f"{target}: is a file; --dask writes a folder of Parquet parts")
    if target.is_dir():
        strangers = [p.name for p in target.iterdir() if p.suffix != ".parquet" and p.name not in DATASET_FILES]
        if strangers:
            raise TwitchcauseError(f"{target}: is a folder holding other files ({strangers[0]}); give a new folder")
    for source in sources:
        if Path(source).resolve().is_relative_to(target.resolve()):
            raise TwitchcauseError(f"{target}: holds the input {source}; write the output elsewhere")
    if not target.parent.is_dir():
        raise TwitchcauseError(f"{target.parent}: no such folder for the output {target.name}")


def _client(address: str, workers: int | None):
    from distributed import Client, LocalCluster

    if address == "local":
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, dashboard_address=None, processes=True
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout="30s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise TwitchcauseError(f"Dask scheduler {address}: cannot connect ({exc})") from None


def run_dask(
    model,
    source: str,
    target: str | Path,
    address: str = "local",
    *,
    priors_dir: str | None = None,
    workers: int | None = None,
    blocksize: str | int = "16MB",
) -> int:
    """Score ``source`` (CSV or Parquet, a path or a glob) on a Dask cluster into the Parquet folder ``target``.

    Parameters
    ----------
    model : Model
        Checks the header here; workers load their own from ``priors_dir`` (the packaged priors by default).
    address : str
        A scheduler address (``tcp://host:8786``) or ``local`` for a cluster on this machine.
    workers : int, optional
        Worker processes of a local cluster (default: one per core).
    blocksize : str or int
        Bytes of CSV per partition.

    Returns
    -------
    int
        The number of rows scored.
    """
    try:
        import dask
        import dask.dataframe as dd
        import distributed  # noqa: F401
    except ImportError:
        raise TwitchcauseError("--dask needs the dask extra: pip install 'twitchcause[dask]'") from None
    sources = sorted(glob.glob(source)) if glob.has_magic(source) else [source]
    if not sources:
        raise TwitchcauseError(f"{source}: no file matches")
    for path in sources:
        with _input(Path(path)):  # a regular file, readable: refuse a FIFO or a device before the cluster starts
            pass
    target = Path(target)
    _check_target(target, sources)
    client, cluster = _client(address, workers)
    try:
        with dask.config.set({"dataframe.convert-string": False}):
            if is_parquet(sources[0]):
                frame = dd.read_parquet(sources)
            else:
                frame = dd.read_csv(
                    sources,
                    dtype="category",  # coded as the single process codes them; categories per partition
                    na_filter=False,
                    blocksize=blocksize,
                    encoding="utf-8-sig",
                )
            header = _check_header(Path(source), list(frame.columns), model)
            meta = pd.DataFrame(score(frame._meta[header], model)[0])
            scored = frame.map_partitions(score_partition, header, priors_dir, meta=meta, align_dataframes=False)
            with atomic_folder(target) as staging:
                scored.to_parquet(
                    staging,
                    schema=parquet_schema(header, model),
                    write_index=False,
                    name_function=lambda i: f"part.{i:06d}.parquet",
                    write_metadata_file=False,
                )
        return sum(_rows(p) for p in sorted(target.glob("*.parquet")))
    except BadCellError as exc:
        raise BadCellError(f"{source}: {exc}") from None
    except ValueError as exc:  # pandas' tokenizer on a worker: uneven rows, an open quote
        if isinstance(exc, TwitchcauseError):
            raise
        raise TwitchcauseError(f"{source}: not readable ({str(exc).strip()})") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
