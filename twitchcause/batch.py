"""Many cases from a CSV or Parquet file: one case per row, streamed in chunks.

Columns are evidence variables; an empty cell is unknown; a ``not_sure`` cell is
unknown for the causes and read the safe way for the level. The output keeps
every input row in order with its columns, then ``posterior_<cause>`` for each
cause, then ``p_none_identified``, then ``escalation``. The format of each file
follows its suffix (``.parquet`` or ``.pq``: Parquet, which needs pyarrow;
anything else: CSV). Outputs are written to a temporary file beside the target
and moved into place only when complete (a replaced output keeps its mode); a
run never writes over its input or over anything that is not a regular file.

What a file may hold is bounded before it is parsed: a CSV row (quoted line
breaks included) of at most :data:`MAX_ROW_CHARS` characters, so a huge cell,
a header of millions of commas or rows of 100,000 empty cells are refused in
one line; columns must each be a variable of the vocabulary, given once; a
filled cell beyond the header's width is an error naming its row, never
dropped; a Parquet column must hold text.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import warnings
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

from .files import atomic_file, open_regular, remove_stale_parts_in
from .model import EvidenceError, Model, TwitchcauseError
from .model.engine import UNKNOWN
from .model.escalation import NOT_SURE_CODE, level_ranks
from .model.evidence import NOT_SURE, unknown_state_message, unknown_variable_message
from .model.factored import FactoredBatch

DEFAULT_CHUNK_ROWS = 20_000
# A row of answers is 32 states at most (about 400 characters); this leaves room for trailing
# empty cells and spaces, and bounds what one row, cell or header costs to read.
MAX_ROW_CHARS = 64 * 1024
# A Parquet column of a million answers is 0.3-6 MB uncompressed (dictionary or plain text); a
# column chunk far past that holds cells no answer needs, and is refused before it is read.
MAX_PARQUET_COLUMN_BYTES = 256 * 2**20
PARQUET_SUFFIXES = (".parquet", ".pq")
BAD = -3  # the code of a cell that names no state of its column (below UNKNOWN and NOT_SURE_CODE)
_FACTORED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    rejected: int
    rejected_path: Path | None


class BadCellError(EvidenceError):
    """A cell holding a state its column does not have."""


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def output_columns(header: list[str], model: Model) -> list[str]:
    """The input columns, then one posterior per cause, the remainder and the level."""
    return header + [f"posterior_{c}" for c in model.causes] + ["p_none_identified", "escalation"]


def _parquet():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise TwitchcauseError(
            "Parquet files need pyarrow: pip install 'twitchcause[parquet]' (or give .csv files)"
        ) from None
    return pyarrow


# -- paths -------------------------------------------------------------------------------------------
def _refuse_to_write(path: Path, source: Path) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TwitchcauseError(f"{path}: cannot be checked ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise TwitchcauseError(f"{path}: is a folder; expected the path of the output file")
    if not stat.S_ISREG(info.st_mode):
        raise TwitchcauseError(f"{path}: is not a regular file; batch writes only regular files")
    source_info = os.stat(source)
    if (info.st_dev, info.st_ino) == (source_info.st_dev, source_info.st_ino):
        raise TwitchcauseError(f"{path}: is the input file; write the output elsewhere")


def output_paths(source: Path, target: Path) -> tuple[Path, Path]:
    """The file to write and its rejected-rows file, after refusing any write that could destroy a file.

    A symlink to a regular file is followed: the file it points to is
    replaced and the link kept, as a shell's ``>`` would do.
    """
    target = Path(os.path.realpath(target))
    rejected = target.with_name(target.name + ".rejected.csv")
    for path in (target, rejected):
        _refuse_to_write(path, source)
    if not target.parent.is_dir():
        raise TwitchcauseError(f"{target.parent}: no such folder for the output file {target.name}")
    return target, rejected


@contextmanager
def _input(source: Path):
    try:
        handle = open_regular(source)
    except FileNotFoundError:
        raise TwitchcauseError(f"{source}: no such file") from None
    except OSError as exc:
        raise TwitchcauseError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        yield handle


def _check_header(source: Path, header: list[str], model: Model) -> list[str]:
    if not header:
        raise TwitchcauseError(f"{source}: empty file; expected a header row of evidence variables")
    seen = set()
    for column in header:
        if column not in model.variables:
            raise EvidenceError(f"{source}: column '{column}': {unknown_variable_message(column, model.variables)}")
        if column in seen:
            raise EvidenceError(f"{source}: column '{column}' appears twice")
        seen.add(column)
    return header


# -- reading -----------------------------------------------------------------------------------------
class _WiderThanHeader(pd.errors.ParserError):
    """A row with more cells than the header: the file is read again on the checked path (_RegularRows)."""


class _BoundedText(io.TextIOBase):
    """The decoded text of a CSV file, refused at the first row longer than :data:`MAX_ROW_CHARS`.

    Rows are counted in physical lines, with a line break inside quotes
    continuing its row; bytes that are not UTF-8 are an error naming their line.
    Once :attr:`width` is set, a row with more cells than that raises
    :class:`_WiderThanHeader` before pandas reads it (pandas takes a minute
    over rows of 40,000 cells, and keeps only as many as the header names).
    """

    def __init__(self, text: io.TextIOWrapper, source: Path):
        self._text, self._source = text, source
        self.width: int | None = None  # the header's cells, for the fast path
        self.line = 1  # the line being read, from 1
        self._row_line = 1  # the line the current row starts on
        self._row_chars = 0  # characters of the current row read so far
        self._row_commas = 0  # commas of the current row read so far (quoted ones too: they only err to safety)
        self._quoted = False  # inside a quoted cell at the end of what was read

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        return self._checked(lambda: self._text.read(size if size is not None and size >= 0 else MAX_ROW_CHARS))

    def readline(self, size: int | None = -1) -> str:
        return self._checked(lambda: self._text.readline(MAX_ROW_CHARS + 1))

    def _checked(self, read) -> str:
        try:
            data = read()
        except UnicodeDecodeError as exc:
            raise TwitchcauseError(
                f"{self._source}: line {self._line_of_bad_byte(exc)}: not UTF-8 text ({exc.reason})"
            ) from None
        pieces = data.split("\n")
        if self.width is not None:
            commas = list(map(str.count, pieces, repeat(",")))
            commas[0] += self._row_commas
            if max(commas) >= self.width:
                raise _WiderThanHeader(f"a row has more than {self.width} cells")
            self._row_commas = commas[-1]
        if '"' not in data and not self._quoted:
            longest = max(self._row_chars + len(pieces[0]), max(map(len, pieces[1:]), default=0))
            if longest > MAX_ROW_CHARS:
                self._refuse(pieces)
            self.line += len(pieces) - 1
            self._row_line = self.line
            self._row_chars = self._row_chars + len(data) if len(pieces) == 1 else len(pieces[-1])
            return data
        for i, piece in enumerate(pieces):
            self._row_chars += len(piece)
            if self._row_chars > MAX_ROW_CHARS:
                raise self._too_long()
            if piece.count('"') % 2:
                self._quoted = not self._quoted
            if i < len(pieces) - 1:
                self.line += 1
                if self._quoted:
                    self._row_chars += 1
                else:
                    self._row_line, self._row_chars = self.line, 0
        return data

    def _refuse(self, pieces: list[str]) -> None:
        for piece in pieces:
            self._row_chars += len(piece)
            if self._row_chars > MAX_ROW_CHARS:
                raise self._too_long()
            self.line, self._row_chars = self.line + 1, 0
            self._row_line = self.line

    def _too_long(self) -> TwitchcauseError:
        return TwitchcauseError(
            f"{self._source}: line {self._row_line}: longer than {MAX_ROW_CHARS:,} characters; "
            "a row of answers is far shorter"
        )

    def _line_of_bad_byte(self, exc: UnicodeDecodeError) -> int:
        """The line of a byte that is not UTF-8: lines read so far plus those before it in the failed block."""
        return self.line + exc.object[: exc.start].count(b"\n")


class _RegularRows(io.TextIOBase):
    """CSV text with each row cut to the header's width: for files whose rows end in extra empty cells.

    A filled cell beyond the header is an error naming its row, since it
    could only be read under the wrong column; a quote left open is an error too.
    """

    def __init__(self, text, source: Path, width: int, header_lines: int):
        self._rows = csv.reader(text, strict=True)
        self._source, self._width, self._header_lines = source, width, header_lines
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._number = 0  # data rows read so far

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        while size is None or size < 0 or self._buffer.tell() < size:
            try:
                cells = next(self._rows, None)
            except csv.Error as exc:
                raise TwitchcauseError(f"{self._source}: row {self._number + 1}: not readable as CSV ({exc})") from None
            if cells is None:
                break
            self._number += 1
            if any(cell.strip() for cell in cells[self._width :]):
                line = self._header_lines + self._rows.line_num
                raise TwitchcauseError(
                    f"{self._source}: row {self._number} (line {line}): has {len(cells)} cells, "
                    f"expected {self._width} as in the header"
                )
            self._writer.writerow(cells[: self._width] if cells else [""] * self._width)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def _csv_chunks(handle, source: Path, model: Model, chunk_rows: int, regular: bool) -> tuple[list[str], Iterator]:
    text = _BoundedText(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""), source)
    header_reader = csv.reader(text)
    try:
        header = next(header_reader, None)
    except csv.Error as exc:
        raise TwitchcauseError(f"{source}: not a readable CSV file ({exc})") from None
    header = _check_header(source, header, model)
    if not regular:
        text.width = len(header)
    body = _RegularRows(text, source, len(header), header_reader.line_num) if regular else text
    reader = pd.read_csv(
        body,
        header=None,
        names=header,
        dtype="category",
        na_filter=False,
        chunksize=chunk_rows,
        index_col=False,
        skip_blank_lines=False,
    )

    def chunks():
        with warnings.catch_warnings():
            # pandas cuts a row wider than the header with only this warning, even a filled cell: the
            # checked path (_RegularRows) reads such a file again, keeping empty extras and naming filled ones
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield from reader

    return header, chunks()


def _parquet_chunks(handle, source: Path, model: Model, chunk_rows: int) -> tuple[list[str], Iterator]:
    pa = _parquet()
    try:
        data = pa.parquet.ParquetFile(handle)
        schema = data.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise TwitchcauseError(f"{source}: not a readable Parquet file ({_first_line(exc)})") from None
    header = _check_header(source, list(schema.names), model)
    for column in schema:
        kind = _nested_kind(pa, column.type)
        if kind is not None:
            raise TwitchcauseError(f"{source}: column '{column.name}' holds {kind} values; expected text")
    metadata = data.metadata
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for i in range(row_group.num_columns):
            chunk = row_group.column(i)
            if chunk.total_uncompressed_size > MAX_PARQUET_COLUMN_BYTES:
                raise TwitchcauseError(
                    f"{source}: column '{chunk.path_in_schema}' holds {chunk.total_uncompressed_size:,} bytes in row "
                    f"group {group + 1}, more than {MAX_PARQUET_COLUMN_BYTES:,}; a column of answers is far smaller"
                )

    def chunks():
        batches = data.iter_batches(batch_size=chunk_rows)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    return
                batch.validate(full=True)  # text that is not UTF-8 fails here, not deep in pandas
                frame = batch.to_pandas()
            except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
                raise TwitchcauseError(f"{source}: not a readable Parquet file ({_first_line(exc)})") from None
            yield frame

    return header, chunks()


def _nested_kind(pa, kind) -> str | None:
    """'list', 'struct' or 'map' for a Parquet column type that holds more than one value per cell."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_map(kind):
        return "map"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return "list"
    if pa.types.is_struct(kind) or pa.types.is_union(kind):
        return "struct"
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# -- scoring -----------------------------------------------------------------------------------------
def _cells(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each cell as a code into a list of distinct texts, and that list (a missing cell is empty)."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("category")
    texts = np.array([str(x) for x in column.cat.categories] + [""], dtype=object)
    return column.cat.codes.to_numpy(), texts  # code -1 (missing) picks the last text, ""


def encode(frame: pd.DataFrame, model: Model, first_row: int) -> tuple[np.ndarray, dict[int, str]]:
    """State codes (rows x the engine's variables) and the problem of each bad row, keyed by position."""
    engine = model.engine
    codes = np.full((len(frame), len(engine.variables)), UNKNOWN, dtype=np.int64)
    problems: dict[int, str] = {}
    for column in frame.columns:
        states = engine.states[column]
        positions, texts = _cells(frame[column])
        stripped = [text.strip() for text in texts]
        lookup = np.array(
            [
                UNKNOWN if not t else states.index(t) if t in states else NOT_SURE_CODE if t == NOT_SURE else BAD
                for t in stripped
            ]
        )
        column_codes = lookup[positions]
        for row in np.flatnonzero(column_codes == BAD).tolist():
            if row not in problems:
                state = stripped[positions[row]]
                problems[row] = (
                    f"row {first_row + row}, column '{column}': "
                    f"{unknown_state_message(column, state, model.variables[column])}"
                )
        codes[:, engine.variables.index(column)] = column_codes
    return codes, problems


def score(frame: pd.DataFrame, model: Model, first_row: int = 1) -> tuple[dict[str, np.ndarray], pd.DataFrame, dict]:
    """The output columns of one chunk's good rows, its rejected rows (with an ``error`` column) and their problems.

    Rows are scored independently of each other, so any chunking of a file
    gives the same digits. Columns are plain arrays (text as Python strings),
    which the writers take as they are.
    """
    codes, problems = encode(frame, model, first_row)
    good = np.ones(len(frame), dtype=bool)
    good[list(problems)] = False
    bad = np.flatnonzero(~good)
    rejected = frame.iloc[bad].astype(object).assign(error=[problems[i] for i in bad.tolist()])
    kept = frame[good]
    distinct, inverse = _distinct(codes[good])
    marginals = _factored(model).marginals(np.where(distinct == NOT_SURE_CODE, UNKNOWN, distinct))
    posterior = {cause: marginals[:, i] for i, cause in enumerate(model.causes)}
    columns = {model.engine.variables[i]: distinct[:, i] for i in range(distinct.shape[1])}
    ranks = level_ranks(model.priors, columns, posterior, len(distinct))[inverse]
    marginals = marginals[inverse]
    posterior = {cause: marginals[:, i] for i, cause in enumerate(model.causes)}
    out = {name: _as_text(kept[name]) for name in kept.columns}
    out |= {f"posterior_{cause}": posterior[cause] for cause in model.causes}
    out["p_none_identified"] = marginals[:, -1]
    out["escalation"] = np.array(model.priors.levels, dtype=object)[ranks]
    return out, rejected, problems


def _distinct(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``codes`` and, for each row, the index of its distinct row.

    Rows are compared as bytes (a code fits in one: states are few), which
    costs far less than the arithmetic a repeated row saves.
    """
    if not codes.size or codes.max() >= 127:
        return codes, np.arange(len(codes))
    packed = np.ascontiguousarray(codes, dtype=np.int8).view(np.dtype((np.void, codes.shape[1]))).ravel()
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return codes[first], inverse.reshape(-1)


def _factored(model: Model) -> FactoredBatch:
    """The batch arithmetic of ``model``, built on first use and kept as long as the model lives."""
    factored = _FACTORED.get(model)
    if factored is None:
        factored = _FACTORED[model] = FactoredBatch(model.engine)
    return factored


def _as_text(column: pd.Series) -> np.ndarray:
    """An input column as it will be written: its cells as text, a missing one empty."""
    positions, texts = _cells(column)
    return texts[positions]


# -- writing -----------------------------------------------------------------------------------------
class _CsvOut:
    def __init__(self, path: Path, columns: list[str]):
        self._handle = open(path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, columns: dict[str, np.ndarray]) -> None:
        self._writer.writerows(zip(*(column.tolist() for column in columns.values())))

    def close(self) -> None:
        self._handle.close()


def parquet_schema(header: list[str], model: Model):
    """The output's Parquet schema: the input columns and the level as text, the probabilities as doubles."""
    pa = _parquet()
    columns = output_columns(header, model)
    probabilities = [(c, pa.float64()) for c in columns[len(header) : -1]]
    return pa.schema([(c, pa.string()) for c in header] + probabilities + [(columns[-1], pa.string())])


class _ParquetOut:
    def __init__(self, path: Path, schema):
        self._schema = schema
        self._pa = _parquet()
        self._writer = self._pa.parquet.ParquetWriter(path, schema)

    def write(self, columns: dict[str, np.ndarray]) -> None:
        self._writer.write_table(self._pa.table(columns, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def _writer(path: Path, parquet: bool, header: list[str], model: Model):
    if parquet:
        return _ParquetOut(path, parquet_schema(header, model))
    return _CsvOut(path, output_columns(header, model))


# -- the run -----------------------------------------------------------------------------------------
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
    TwitchcauseError
        For a file that cannot be read, an output that would overwrite the
        input or something that is not a regular file, or a write that fails.
    """
    source = Path(source)
    if chunk_rows < 1:
        raise TwitchcauseError(f"chunk_rows must be at least 1, got {chunk_rows}")
    with _input(source):  # refuses a folder, a device or a FIFO before anything else
        pass
    target, rejected_path = output_paths(source, target)
    remove_stale_parts_in(target.parent)  # a killed run's, whatever its target
    run = lambda regular: _run(model, source, target, rejected_path, skip_bad_rows, chunk_rows, progress, regular)  # noqa: E731
    try:
        return run(False)
    except (pd.errors.ParserError, pd.errors.ParserWarning):  # uneven rows or an open quote: read again, row by row
        try:
            return run(True)
        except pd.errors.ParserError as exc:
            raise TwitchcauseError(f"{source}: not readable as CSV ({exc})") from None


def _run(model, source, target, rejected_path, skip_bad_rows, chunk_rows, progress, regular) -> BatchSummary:
    rows = rejected = 0
    try:
        with ExitStack() as stack:
            handle = stack.enter_context(_input(source))
            if is_parquet(source):
                header, chunks = _parquet_chunks(handle, source, model, chunk_rows)
            else:
                header, chunks = _csv_chunks(handle, source, model, chunk_rows, regular)
            total = os.fstat(handle.fileno()).st_size
            out_tmp = stack.enter_context(atomic_file(target))
            rej_tmp = stack.enter_context(atomic_file(rejected_path))
            out = _writer(out_tmp, is_parquet(target), header, model)
            stack.callback(out.close)
            side = None
            bar = _progress_bar(progress, total, chunk_rows) if not regular else None
            if bar is not None:
                stack.callback(bar.close)
            for frame in chunks:
                scored, bad, problems = score(frame, model, rows + 1)
                if problems and not skip_bad_rows:
                    raise BadCellError(f"{source}: {problems[min(problems)]}")
                if len(bad):
                    if side is None:
                        side = _CsvOut(rej_tmp, header + ["error"])
                        stack.callback(side.close)
                    side.write({c: bad[c].fillna("").to_numpy(dtype=object) for c in bad.columns})
                    rejected += len(bad)
                out.write(scored)
                rows += len(frame)
                if bar is not None:
                    bar.update(handle.tell() - bar.n)
            out.close()
            if side is not None:
                side.close()
            else:
                os.unlink(rej_tmp)
                rej_tmp.touch()  # atomic_file moves it into place; removed below
    except OSError as exc:
        raise TwitchcauseError(f"{target}: cannot be written ({exc.strerror or exc})") from None
    if not rejected:
        rejected_path.unlink(missing_ok=True)
    return BatchSummary(rows, rejected, rejected_path if rejected else None)


def _progress_bar(progress: bool | None, total_bytes: int, chunk_rows: int):
    show = progress if progress is not None else (total_bytes > chunk_rows * 100 and sys.stderr.isatty())
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total_bytes, unit="B", unit_scale=True, file=sys.stderr)
