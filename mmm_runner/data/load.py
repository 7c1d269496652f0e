"""Reading the data file into a frame.

Before pandas sees a CSV, one streaming pass checks that it is text a table
can be read from (docs/config.md, "Limits and file problems"): not a known
binary format, UTF-8 throughout (a byte-order mark is fine), no NUL bytes and
no line longer than ``MAX_LINE_CHARS``.  Other encodings are refused with the
line of the first bad byte rather than guessed: a wrong guess (Latin-1 for
Windows-1252, say) silently changes labels and column names, and the mistake
then surfaces far away as an "unknown column".
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import BinaryIO, Final

import pandas as pd

from mmm_runner.config.loader import FileTrouble, file_trouble, open_trouble
from mmm_runner.errors import DataError, Problem

MAX_LINE_CHARS: Final = 1024 * 1024  # one row of a table; real rows are under a few KiB

_CHUNK: Final = 1024 * 1024
_PARQUET: Final = (".parquet", ".pq")
_COMPRESSED: Final = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")  # pandas unpacks these
_EXPORT_CSV: Final = (
    "export the data as CSV with one header row (Excel: Save As, 'CSV UTF-8') "
    "and point data.path at it"
)
_SAVE_AS_UTF8: Final = (
    "re-save the file as UTF-8 (Excel: Save As, 'CSV UTF-8'), or convert it with "
    "`iconv -f WINDOWS-1252 -t UTF-8 old.csv > new.csv`"
)
_UTF16_TO_UTF8: Final = (
    "re-save the file as UTF-8 (Excel: Save As, 'CSV UTF-8'), or convert it with "
    "`iconv -f UTF-16 -t UTF-8 old.csv > new.csv`"
)
_BINARY: Final = (  # leading bytes -> what the file is, and what to do
    (b"PAR1", "a Parquet file", "name it .parquet (reading it needs pyarrow), or export CSV"),
    (b"PK\x03\x04", "a zip archive or an Excel .xlsx workbook", _EXPORT_CSV),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook (or another Office file)", _EXPORT_CSV),
    (b"\x1f\x8b", "gzip-compressed", "name it .csv.gz so it is unpacked, or gunzip it"),
    (codecs.BOM_UTF32_LE, "saved as UTF-32 text", _UTF16_TO_UTF8.replace("16", "32")),
    (codecs.BOM_UTF16_LE, "saved as UTF-16 text (Excel's 'Unicode Text')", _UTF16_TO_UTF8),
    (codecs.BOM_UTF16_BE, "saved as UTF-16 text", _UTF16_TO_UTF8),
)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; DataError when it cannot be read."""
    trouble = file_trouble(path)
    if trouble is not None:
        raise _path_error(path, trouble)
    parquet = path.suffix.lower() in _PARQUET
    try:
        if path.stat().st_size == 0:
            raise _content_error(
                path,
                "the file is empty (0 bytes)",
                "export the data again: one header row, then one row per period",
            )
        if not parquet and path.suffix.lower() not in _COMPRESSED:
            with path.open("rb") as file:
                _check_text(file, path)
    except OSError as exc:
        raise _path_error(path, open_trouble(exc, path)) from None
    frame = _parse(path, parquet)
    if frame.empty:
        raise _content_error(
            path,
            "the file has a header row but no data rows"
            if len(frame.columns)
            else "the file has no data rows",
            "add one row per period under the header row",
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _parse(path: Path, parquet: bool) -> pd.DataFrame:
    try:
        if parquet:
            return pd.read_parquet(path)
        return pd.read_csv(path, skipinitialspace=True)
    except ImportError as exc:
        raise DataError(
            f"cannot read Parquet file {path}: {exc}",
            [
                Problem(
                    "data.path",
                    "Parquet support needs pyarrow",
                    "pip install pyarrow, or export the data as CSV",
                )
            ],
        ) from exc
    except pd.errors.EmptyDataError:
        raise _content_error(
            path,
            "the file has no header row (it is blank)",
            "export the data again: one header row, then one row per period",
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        line = re.search(r"\bline (\d+)", first)
        raise _content_error(
            path,
            f"the file is not a readable table: {first}",
            "save it as comma-separated values with one header row",
            int(line.group(1)) if line else None,
        ) from exc


def _check_text(file: BinaryIO, path: Path) -> None:
    """Refuses binary files, bytes that are not UTF-8, NUL bytes and huge lines, in one pass."""
    data = file.read(_CHUNK)
    for magic, what, fix in _BINARY:
        if data.startswith(magic):
            raise _content_error(path, f"the file is {what}, not a CSV table", fix)
    if b"\x00" in data[:8192]:
        raise _content_error(
            path,
            "the file is binary (it has NUL bytes), not a CSV table",
            f"{_EXPORT_CSV}; if it is UTF-16 text, re-save it as UTF-8",
        )
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0  # bytes of the file before ``data``
    line = 1  # line of the first character decoded from ``data``
    line_chars = 0  # characters of that line decoded from earlier chunks
    while True:
        final = not data
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            start = offset - (len(exc.object) - len(data))  # exc.object: held-back bytes + data
            raise _not_utf8(path, exc, start, line, line_chars) from None
        if "\x00" in text:
            at = line + text.count("\n", 0, text.index("\x00"))
            raise _content_error(
                path, f"line {at} has a NUL byte: the file is binary or damaged", _EXPORT_CSV, at
            )
        line_chars = _check_lines(path, text, line, line_chars)
        line += text.count("\n")
        if final:
            return
        offset += len(data)
        data = file.read(_CHUNK)


def _check_lines(path: Path, text: str, line: int, line_chars: int) -> int:
    """Refuses a line over MAX_LINE_CHARS; returns the characters of the unfinished last line."""
    pieces = text.splitlines(keepends=True)
    if not pieces:
        return line_chars
    lengths = [len(piece) for piece in pieces]
    lengths[0] += line_chars
    if max(lengths) > MAX_LINE_CHARS:
        index = next(i for i, n in enumerate(lengths) if n > MAX_LINE_CHARS)
        at = line + sum(piece.count("\n") for piece in pieces[:index])
        raise _content_error(
            path,
            f"line {at} is longer than {MAX_LINE_CHARS:,} characters: not a table with one "
            "row per line",
            "check the file is CSV with a line break after every row (and no unclosed quote)",
            at,
        )
    return 0 if pieces[-1].endswith(("\n", "\r")) else lengths[-1]


def _not_utf8(
    path: Path, exc: UnicodeDecodeError, start: int, line: int, line_chars: int
) -> DataError:
    """The first byte that is not UTF-8, at its line, column and byte offset."""
    before = exc.object[: exc.start]
    bad = exc.object[exc.start : exc.start + 1]
    at = line + before.count(b"\n")
    newline = before.rfind(b"\n")
    prefix = before[newline + 1 :].decode("utf-8", errors="replace")
    column = len(prefix.removeprefix("\ufeff")) + 1 + (line_chars if newline < 0 else 0)
    message = (
        f"byte {bad[0]:#04x} at line {at}, column {column} (byte offset {start + exc.start}) "
        f"is not UTF-8{_guess(bad)}"
    )
    return _content_error(path, message, _SAVE_AS_UTF8, at)


def _guess(byte: bytes) -> str:
    """What a stray byte most likely meant, as Windows-1252 (the usual culprit)."""
    try:
        char = byte.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return f"; as Windows-1252 it would be {char!r}" if char.isprintable() else ""


def _path_error(path: Path, trouble: FileTrouble) -> DataError:
    if trouble.missing:
        detail = "" if trouble.message == "not found" else f" (it {trouble.message})"
        return DataError(
            f"data file not found: {path}",
            [
                Problem(
                    "data.path",
                    f"no file at {path}{detail}",
                    "check data.path; it is relative to the config file's folder",
                )
            ],
        )
    return DataError(
        f"data file {path} {trouble.message}",
        [Problem("data.path", f"data file {path} {trouble.message}", trouble.fix)],
    )


def _content_error(path: Path, message: str, fix: str, line: int | None = None) -> DataError:
    """A problem inside the data file, located at ``file:line N`` when the line is known."""
    shown = _display(path)
    where = f"{shown}:line {line}" if line else shown
    return DataError(f"cannot read {path}: {message}", [Problem(where, message, fix)])


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
