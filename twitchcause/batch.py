"""Many cases from a CSV file: one case per row, streamed in chunks.

Columns are evidence variables; an empty cell is unknown. The output keeps
every input row in order with its columns, then ``posterior_<cause>`` for each
cause, then ``escalation``. Outputs are written to a temporary file beside the
target and moved into place only when complete.
"""

from __future__ import annotations

import csv
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .files import atomic_file
from .model import EvidenceError, Model, TwitchcauseError
from .model.engine import UNKNOWN
from .model.escalation import escalate
from .model.evidence import unknown_state_message, unknown_variable_message

DEFAULT_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    rejected: int
    rejected_path: Path | None


class BadCellError(EvidenceError):
    """A cell holding a state its column does not have."""


def _open_text(path: Path):
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise TwitchcauseError(f"{path}: no such file") from None
    except OSError as exc:
        raise TwitchcauseError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_header(path: Path, model: Model) -> list[str]:
    """The CSV's columns, each checked against the vocabulary."""
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TwitchcauseError(f"{path}: not a readable CSV file (UTF-8 expected: {exc})") from None
    if not header:
        raise TwitchcauseError(f"{path}: empty file; expected a header row of evidence variables")
    seen = set()
    for column in header:
        if column not in model.variables:
            raise EvidenceError(f"{path}: column '{column}': {unknown_variable_message(column, model.variables)}")
        if column in seen:
            raise EvidenceError(f"{path}: column '{column}' appears twice")
        seen.add(column)
    return header


def check_shape(path: Path, width: int) -> int:
    """Count the data rows, checking that none has more filled cells than the header.

    A row may end in empty extra cells (a trailing comma); a short or blank row
    leaves its missing cells unknown. A filled cell beyond the header is an
    error naming the row, since it could only be read under the wrong column.
    """
    rows = 0
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for cells in reader:
                rows += 1
                extra = cells[width:]
                if any(cell.strip() for cell in extra):
                    raise TwitchcauseError(
                        f"{path}: row {rows} (line {reader.line_num}): has {len(cells)} cells, "
                        f"expected {width} as in the header"
                    )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TwitchcauseError(f"{path}: row {rows + 1}: not readable as UTF-8 CSV ({exc})") from None
    return rows


def encode_chunk(chunk: pd.DataFrame, model: Model, first_row: int) -> tuple[np.ndarray, dict[int, str]]:
    """State codes (rows x variables) and the problem of each bad row, keyed by position."""
    engine = model.engine
    codes = np.full((len(chunk), len(engine.variables)), UNKNOWN, dtype=np.int64)
    problems: dict[int, str] = {}
    for column in chunk.columns:
        states = engine.states[column]
        lookup = {state: i for i, state in enumerate(states)} | {"": UNKNOWN}
        cells = chunk[column].str.strip()
        mapped = cells.map(lookup)
        for position in np.flatnonzero(mapped.isna().to_numpy()):
            if position not in problems:
                problems[int(position)] = (
                    f"row {first_row + position}, column '{column}': "
                    f"{unknown_state_message(column, cells.iloc[position], model.variables[column])}"
                )
        codes[:, engine.variables.index(column)] = mapped.fillna(UNKNOWN).astype(np.int64).to_numpy()
    return codes, problems


def _escalation_levels(model: Model, codes: np.ndarray, posteriors: np.ndarray) -> list[str]:
    engine = model.engine
    levels = []
    for row, posterior in zip(codes, posteriors):
        evidence = {v: engine.states[v][c] for v, c in zip(engine.variables, row) if c != UNKNOWN}
        levels.append(escalate(model.priors, evidence, dict(zip(model.causes, posterior))).level)
    return levels


def _vetted(reader):
    """Chunks of a file :func:`check_shape` passed, without pandas' warning about dropped empty cells."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        yield from reader


def run_batch(
    model: Model,
    source: str | Path,
    target: str | Path,
    *,
    skip_bad_rows: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool | None = None,
) -> BatchSummary:
    """Posterior and escalation for every row of ``source``, written to ``target``.

    Parameters
    ----------
    skip_bad_rows : bool
        Write rows with a bad cell to ``<target>.rejected.csv`` (with an
        ``error`` column) and go on, instead of stopping at the first.
    progress : bool or None
        Show a progress bar on stderr; None shows it for multi-chunk files on a terminal.

    Raises
    ------
    EvidenceError
        For a column outside the vocabulary or, without ``skip_bad_rows``, a bad cell.
    """
    source, target = Path(source), Path(target)
    if chunk_rows < 1:
        raise TwitchcauseError(f"chunk_rows must be at least 1, got {chunk_rows}")
    header = read_header(source, model)
    total = check_shape(source, len(header))
    if target.is_dir():
        raise TwitchcauseError(f"{target}: is a folder; expected the path of the output CSV file")
    if not target.parent.is_dir():
        raise TwitchcauseError(f"{target.parent}: no such folder for the output file {target.name}")
    rejected_path = target.with_name(target.name + ".rejected.csv")
    rejected = 0
    bar = None
    if progress if progress is not None else (total > chunk_rows and sys.stderr.isatty()):
        from tqdm import tqdm

        bar = tqdm(total=total, unit="rows", file=sys.stderr)
    with atomic_file(target) as out_tmp, atomic_file(rejected_path) as rej_tmp:
        # check_shape has vetted every row: extra cells are empty, so index_col=False only drops those
        reader = pd.read_csv(
            source,
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_rows,
            index_col=False,
            encoding="utf-8-sig",
            skip_blank_lines=False,
        )
        first_row, wrote_header, wrote_rejected = 1, False, False
        for chunk in _vetted(reader):
            chunk = chunk[header].fillna("")
            codes, problems = encode_chunk(chunk, model, first_row)
            if problems and not skip_bad_rows:
                raise BadCellError(f"{source}: {problems[min(problems)]}")
            good = np.ones(len(chunk), dtype=bool)
            if problems:
                bad = sorted(problems)
                good[bad] = False
                side = chunk.iloc[bad].assign(error=[problems[i] for i in bad])
                side.to_csv(rej_tmp, mode="a", header=not wrote_rejected, index=False)
                wrote_rejected = True
                rejected += len(bad)
            kept, kept_codes = chunk[good], codes[good]
            unique, inverse = np.unique(kept_codes, axis=0, return_inverse=True)
            marginals = model.marginals_coded(unique) if len(unique) else np.zeros((0, len(model.causes) + 1))
            posterior = marginals[:, :-1]
            levels = np.array(_escalation_levels(model, unique, posterior), dtype=object)
            inverse = inverse.reshape(-1)
            out = kept.copy()
            for i, cause in enumerate(model.causes):
                out[f"posterior_{cause}"] = posterior[inverse, i] if len(kept) else []
            out["p_none_identified"] = marginals[inverse, -1] if len(kept) else []
            out["escalation"] = levels[inverse] if len(kept) else []
            out.to_csv(out_tmp, mode="a", header=not wrote_header, index=False)
            wrote_header = True
            first_row += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
        if not wrote_header:
            columns = header + [f"posterior_{c}" for c in model.causes] + ["p_none_identified", "escalation"]
            pd.DataFrame(columns=columns).to_csv(out_tmp, index=False)
        if not wrote_rejected:
            os.unlink(rej_tmp)
            rej_tmp.touch()
    if bar is not None:
        bar.close()
    if not rejected:
        rejected_path.unlink(missing_ok=True)
    return BatchSummary(first_row - 1, rejected, rejected_path if rejected else None)
