"""Readers that keep line numbers: every malformed row is reported as `file:line` (1-based, as in an editor).

A file is decoded at once when it can be; when it holds bytes that are not valid in its encoding, it is
decoded line by line so each bad byte is reported on its own line (and, in lenient mode, only that row is
dropped). CSV records that span several lines (quoted newlines) are reported at their first line.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from .builder import BuildLog, DataFormatError

csv.field_size_limit(1 << 26)  # IMDB reviews and POLAR posts can exceed csv's 128 KiB default


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as compressed:
            return compressed.read()
    return path.read_bytes()


def _decoded_lines(path: Path, encoding: str) -> tuple[Iterator[str], dict[int, str]]:
    """The file's lines (endings kept, split on "\\n" only) and a dict that fills, as lines are consumed,
    with line number -> why that line would not decode (such lines are yielded with replacement characters).
    """
    data = _read_bytes(path)
    if data.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower() in ("utf8", "utf8sig"):
        data = data[3:]
    undecodable: dict[int, str] = {}
    try:
        return io.StringIO(data.decode(encoding), newline="\n"), undecodable
    except UnicodeDecodeError:
        pass

    def lines() -> Iterator[str]:  # the slow path, line by line, only for files with bad bytes
        for number, raw in enumerate(io.BytesIO(data), start=1):
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError as error:
                byte, column = raw[error.start], error.start + 1
                undecodable[number] = f"byte 0x{byte:02x} at column {column} is not valid {encoding}"
                yield raw.decode(encoding, errors="replace")

    return lines(), undecodable


def iter_lines(path: Path, log: BuildLog, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number, text without its line ending) for every line; undecodable lines go to `log`."""
    lines, undecodable = _decoded_lines(path, encoding)
    for number, text in enumerate(lines, start=1):
        if number in undecodable:
            log.bad_row(path, number, "bad encoding", undecodable.pop(number))
            continue
        yield number, text.rstrip("\r\n")


def iter_records(
    path: Path,
    log: BuildLog,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    encoding: str = "utf-8",
    header_width: bool = False,
) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) for every non-blank CSV/TSV record; unreadable records go to `log`.

    A quote that is never closed swallows the lines after it into one record. Such a record (one spanning several
    lines that runs to the end of the file with an odd number of quotes, that is not well-formed CSV, or, with
    `header_width`, whose field count differs from the first record's) is reported as an unclosed quote at the line it starts on, and reading
    resumes on the next line, so only that row is lost (and counted) in lenient mode.
    """
    lines_iter, undecodable = _decoded_lines(path, encoding)
    lines = list(lines_iter)
    quotechar = '"'
    width = None
    offset = 0  # lines before the ones the current reader sees
    while True:
        reader = csv.reader(iter(lines[offset:]), delimiter=delimiter, quoting=quoting, strict=False)
        start = offset + 1
        restart = None
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                log.bad_row(path, start, "unreadable record", str(error))
                start = offset + reader.line_num + 1
                continue
            end = offset + reader.line_num
            if undecodable:
                bad_lines = [number for number in undecodable if start <= number <= end]
                if bad_lines:
                    detail = undecodable[bad_lines[0]]
                    for number in bad_lines:
                        del undecodable[number]
                    log.bad_row(path, bad_lines[0], "bad encoding", detail)
                    start = end + 1
                    continue
            if end > start and quoting != csv.QUOTE_NONE:
                span = "".join(lines[start - 1 : end])
                runs_to_end = end == len(lines) and span.count(quotechar) % 2 == 1
                if runs_to_end or (width is not None and len(fields) != width) or not _parses_strictly(
                    span, delimiter, quoting
                ):
                    log.bad_row(
                        path,
                        start,
                        "unclosed quote",
                        f"the quoted field opened on this line runs to line {end}; close the quote",
                    )
                    restart = start  # read again from the next line
                    break
            if "".join(fields).strip():  # a blank line, or one of delimiters only, is not a record
                if header_width and width is None:
                    width = len(fields)
                yield start, fields
            start = end + 1
        offset = restart


def _parses_strictly(text: str, delimiter: str, quoting: int) -> bool:
    """Whether `text` is well-formed CSV: a quote closed in the middle of a field (`"a"b`) is what an unclosed
    quote that met a later quoted field looks like."""
    try:
        list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True))
    except csv.Error:
        return False
    return True


def iter_table(
    path: Path,
    log: BuildLog,
    expected_header: list[str] | None = None,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    encoding: str = "utf-8",
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and (line, {column: value}) for a CSV with a header row; rows of the wrong width go to `log`.

    With `expected_header`, a different header is a `DataFormatError` (it is the file, not one row, that is wrong).
    """
    records = iter_records(path, log, delimiter=delimiter, quoting=quoting, encoding=encoding, header_width=True)
    try:
        _, header = next(records)
    except StopIteration:
        raise DataFormatError(f"{path}:1: the file is empty; expected a header row") from None
    header = [name.strip() for name in header]
    if expected_header is not None and header != expected_header:
        raise DataFormatError(
            f"{path}:1: header is {','.join(header)!r}, expected {','.join(expected_header)!r}. "
            "Is this the right file (see the corpus's SOURCE.md / official format)?"
        )
    # A repeated or empty column name would make every row's dict keep one of the values silently.
    repeated = sorted({name for name in header if name and [n.lower() for n in header].count(name.lower()) > 1})
    if repeated or "" in header:
        problem = f"repeats the column(s) {', '.join(repeated)}" if repeated else (
            f"has an empty column name (column {header.index('') + 1})"
        )
        raise DataFormatError(
            f"{path}:1: the header {problem}; every column needs its own name. Fix the header row."
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for line, fields in records:
            if len(fields) != len(header):
                log.bad_row(path, line, "wrong column count", f"{len(fields)} fields, the header has {len(header)}")
                continue
            yield line, dict(zip(header, fields))

    return header, rows()
