"""One 903 CSV file read as it streams: bytes in, `StagedRow`s out, never the whole file in memory.

    reader = TableReader("episodes", "episodes.csv")
    for chunk in chunks:
        stage(reader.feed(chunk))   # the rows completed by this chunk
    stage(reader.close())           # the last row, when the file does not end with a newline

- Text: UTF-8 (a byte-order mark is allowed and dropped) or, failing that, Windows-1252, the
  encoding Excel's plain "CSV (Comma delimited)" writes on an English Windows. A file is taken as
  UTF-8 until a byte UTF-8 does not allow; it then switches to Windows-1252 only if everything
  before was ASCII (the two agree on ASCII, so nothing read changes meaning); if something non-ASCII
  had already been read as UTF-8 (or the file has a UTF-8 byte-order mark) the file mixes two
  encodings and is refused. A byte neither allows is refused.
- CSV: the stdlib `csv` module, Excel dialect (comma, double quotes, a quoted field may hold
  commas, quotes doubled and line breaks). Lines end with CRLF, LF or CR.
- The header row: the first row that is not blank. Column names are compared without case or
  surrounding spaces, in any order (`shared.ssda903.tables.problem_with_columns` says what makes a
  file the table).
- Rows: `row` is the row number Excel shows when it opens the file: the header is row 1, the first
  data row 2. It counts records, not lines: a quoted field with a line break inside is still one
  row, as in Excel; blank lines (and rows of empty cells, like Excel's `,,,,`) are counted but not
  returned. `values` holds the table's used columns only, each stripped, an empty one as None.
- A malformed row is still returned, with `problem` saying why, so that every row is accounted for:
  a number of fields other than the header's, a NUL character, a field over 1,000 characters, a
  quote that is never closed (that row is the line the quote opens on; reading resumes on the next
  line), a line over 65,536 characters. Its `values` are read by position as far as possible (for
  the report's CHILD), with a field holding NUL or over 1,000 characters as None; it is never applied.
- Refused up front, `NotA903Table`: a file that is not this table (its columns), not text (NUL bytes
  in the header row, an Excel workbook, UTF-16, bytes neither encoding allows), or empty. A
  mixed-encoding file, or a byte neither encoding allows, is found only where it occurs: rows
  returned before it belong to a refused file (an upload fails whole).

Memory: at most the current chunk, its decoded text, and one unfinished record (the text since the
last complete row, at most 65,536 characters; beyond that the row is refused as above). Values of
the columns the platform never keeps exist only in the line being parsed.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

from shared.ssda903.tables import TABLES, Table, problem_with_columns

__all__ = ["MAX_FIELD_CHARS", "MAX_RECORD_CHARS", "NotA903Table", "StagedRow", "TableReader"]

MAX_FIELD_CHARS = 1000
"""A field longer than this makes its row malformed (no 903 value comes near it)."""

MAX_RECORD_CHARS = 65_536
"""The longest unfinished record held; a longer one is refused as a row (or the file, in its header)."""

_SNIFF_BYTES = 4  # what is looked at before decoding: byte-order marks and file signatures
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_SAVE_AS = "open it in Excel and save it as 'CSV UTF-8 (Comma delimited)'"
_LINE_TOO_LONG = f"it is a line over {MAX_RECORD_CHARS:,} characters long, so it is not read."
_FIRST_ROW_UNREADABLE = (
    f"its first row is over {MAX_RECORD_CHARS:,} characters long, or opens a quote it never closes, so it is not a "
    f"903 CSV file; {_SAVE_AS}."
)


class NotA903Table(ValueError):
    """The file is not the 903 table it was given as: refused whole (422).

    `file_name` names it (the client's name for it), `reason` says why in a sentence for a data
    officer, reading on from the file's name ("it has no DECOM column, ..."), `field` is the
    upload's part it came in (the table's name) when known."""

    def __init__(self, file_name: str, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"{file_name} is refused: {reason}")
        self.file_name = file_name
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class StagedRow:
    """One data row of a 903 file: `table` (`header`, `episodes`, `reviews`), `row` (its Excel row
    number, the header being row 1), `values` (each used column to its stripped text, or None when
    empty), `problem` (None, or why the row is malformed, reading on from "Row N: ")."""

    table: str
    row: int
    values: dict[str, str | None]
    problem: str | None = None


class _NeedMore(Exception):
    """The record being parsed goes on past the lines received so far."""


class _Lines:
    """The complete physical lines not yet parsed, which `csv.reader` pulls one at a time. When it
    wants a line that has not arrived, `_NeedMore` stops it; the record is parsed again, from
    `mark`, once more lines have come (csv readers keep no state between records, so re-reading an
    unfinished record is exactly what it would have read)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pos = 0  # the next line csv gets
        self.mark = 0  # the first line of the record being parsed
        self.final = False  # no more lines will come
        self.waiting: int | None = None  # csv wanted a line after this many: the record is in a quoted field

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pos < len(self.lines):
            self.pos += 1
            return self.lines[self.pos - 1]
        if self.final and self.pos == self.mark:
            raise StopIteration
        raise _NeedMore

    def may_end(self) -> bool:
        """False when the record is in a quoted field and no line since holds a quote to close it."""
        return self.waiting is None or any('"' in line for line in self.lines[self.waiting :])

    def drop_parsed(self) -> None:
        del self.lines[: self.mark]
        self.pos -= self.mark
        if self.waiting is not None:
            self.waiting -= self.mark
        self.mark = 0

    def pending_chars(self, end: int | None = None) -> int:
        """The length of the record being parsed, up to line `end` (all lines held by default)."""
        return sum(len(line) for line in self.lines[self.mark : end])


class TableReader:
    """An incremental reader of one 903 file given as `table` (`header`, `episodes` or `reviews`),
    named `file_name` in its errors. `feed(chunk)` gives the rows the chunk completes, `close()`
    the rest; either raises `NotA903Table`. Once refused or closed, it reads nothing more.
    `encoding` is `utf-8` or, after a switch, `windows-1252`; `bytes_read` counts the bytes fed."""

    def __init__(self, table: str, file_name: str) -> None:
        if table not in TABLES:
            raise ValueError(f"{table!r} is not a 903 table the platform reads: {', '.join(TABLES)}.")
        self.table: Table = TABLES[table]
        self.file_name = file_name
        self.bytes_read = 0
        self._head = b""  # the first bytes, until there are enough to recognise a signature
        self._sniffed = False
        self._utf8: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
        self._non_ascii = False  # something non-ASCII (or a byte-order mark) has been read as UTF-8
        self._tail: list[str] = []  # the last physical line, in pieces, until its line end arrives
        self._tail_chars = 0
        self._pending_chars = 0  # the length of the unfinished record's complete lines
        self._skip_line = False  # discarding the rest of an over-long line
        self._skip_lf = False  # the over-long line ended with CR: a LF next is its line end
        self._lines = _Lines()
        self._csv = csv.reader(self._lines)
        self._record = 0  # records (Excel rows) so far, header and blank ones included
        self._width = 0  # the header's number of columns
        self._names: list[str] = []  # the header's column names, upper-cased
        self._index: list[tuple[str, int]] = []  # each used column and its position; empty until the header
        self._done: NotA903Table | bool = False  # refused, or closed

    @property
    def encoding(self) -> str:
        return "utf-8" if self._utf8 is not None else "windows-1252"

    def feed(self, chunk: bytes) -> list[StagedRow]:
        """The rows completed by `chunk` (often none, or many), in file order."""
        self._check_open()
        try:
            self.bytes_read += len(chunk)
            return self._take(self._decode(chunk, final=False), final=False)
        except NotA903Table as refused:
            self._done = refused
            raise

    def close(self) -> list[StagedRow]:
        """The rows still held (a last line without a line end); raises `NotA903Table` for a file
        without a header row (empty, or blank lines only)."""
        self._check_open()
        try:
            rows = self._take(self._decode(b"", final=True), final=True)
            if not self._index:
                if self.bytes_read == 0:
                    raise self._refusal("it is empty (0 bytes).")
                columns = ", ".join(self.table.columns)
                raise self._refusal(
                    f"it has no rows, not even the column names: a 903 {self.table.title} file starts with a row "
                    f"naming its columns ({columns})."
                )
        except NotA903Table as refused:
            self._done = refused
            raise
        self._done = True
        return rows

    # --- bytes to text ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if isinstance(self._done, NotA903Table):
            raise self._done
        if self._done:
            raise ValueError(f"The reader of {self.file_name} is closed.")

    def _refusal(self, reason: str) -> NotA903Table:
        return NotA903Table(self.file_name, reason, field=self.table.name)

    def _decode(self, chunk: bytes, *, final: bool) -> str:
        if not self._sniffed:
            self._head += chunk
            if len(self._head) < _SNIFF_BYTES and not final:
                return ""
            chunk, self._head = self._sniff(self._head), b""
            self._sniffed = True
        if self._utf8 is None:
            return self._cp1252(chunk)
        try:
            text = self._utf8.decode(chunk, final)
        except UnicodeDecodeError as exc:
            data = self._utf8.getstate()[0] + chunk  # what the failed decode was given, in full
            if self._non_ascii or not data[: exc.start].isascii():
                near = self._record + 1 + data[: exc.start].count(b"\n")
                raise self._refusal(
                    f"it mixes two encodings: it is UTF-8 up to near row {near}, then has a byte UTF-8 does not "
                    f"allow (0x{data[exc.start]:02X}), as if parts were saved differently; {_SAVE_AS}."
                ) from None
            self._utf8 = None  # all ASCII so far, which Windows-1252 reads the same
            return self._cp1252(data)
        if not self._non_ascii and not text.isascii():
            self._non_ascii = True
        return text

    def _sniff(self, head: bytes) -> bytes:
        """The first bytes, a UTF-8 byte-order mark dropped; refuses UTF-16 and Excel workbooks."""
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise self._refusal(f"it is UTF-16 text (Excel's 'Unicode Text'), which is not read; {_SAVE_AS}.")
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise self._refusal(f"it is an Excel workbook, not a CSV file; {_SAVE_AS}.")
        if head.startswith(codecs.BOM_UTF8):
            self._non_ascii = True  # it declares UTF-8
            return head[len(codecs.BOM_UTF8) :]
        return head

    def _cp1252(self, data: bytes) -> str:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            near = self._record + 1 + data[: exc.start].count(b"\n")
            raise self._refusal(
                f"it is not text: near row {near} it has a byte (0x{data[exc.start]:02X}) that neither UTF-8 nor "
                f"Windows-1252 allows; {_SAVE_AS}."
            ) from None

    # --- text to records -------------------------------------------------------------------------

    def _take(self, text: str, *, final: bool) -> list[StagedRow]:
        """The rows that `text` completes. An unfinished record is parsed again only when a line
        that may end it has come, so a long one read in small chunks is not re-read at every chunk."""
        added = self._split(self._skip(text, final=final), final=final)
        parse = final or (added > 0 and self._lines.may_end())
        if not parse:
            self._pending_chars += added
        rows: list[StagedRow] = []
        while True:
            if parse:
                self._parse(rows)
                self._pending_chars = self._lines.pending_chars()
            if self._pending_chars + self._tail_chars <= MAX_RECORD_CHARS:
                break
            if not self._index:
                raise self._refusal(_FIRST_ROW_UNREADABLE)
            if self._lines.mark < len(self._lines.lines):
                self._unclosed(rows)
                parse = True
                continue
            self._record += 1  # one physical line, longer than any row can be: refused, and skipped to its end
            rows.append(self._staged([], _LINE_TOO_LONG))
            self._tail.clear()
            self._tail_chars = 0
            self._skip_line = True
            break
        self._lines.drop_parsed()
        return rows

    def _split(self, text: str, *, final: bool) -> int:
        """The physical lines `text` completes, to `_lines` (how many characters they add); the unfinished
        last one is kept in pieces, joined once when its line end comes, so a long line read in
        small chunks costs no more than a short one."""
        end = len(text) - 1 if text.endswith("\r") and not final else len(text)  # a LF may follow the CR
        cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1  # just past the last line end
        if cut:
            if self._tail:
                cut += self._tail_chars
                text = "".join(self._tail) + text
                self._tail.clear()
                self._tail_chars = 0
            self._lines.lines.extend(_LINE.findall(text, 0, cut))
            text = text[cut:]
        added = cut
        if final:
            last = "".join(self._tail) + text
            if last:
                self._lines.lines.append(last)
                added += len(last)
            self._tail.clear()
            self._tail_chars = 0
            self._lines.final = True
        elif text:
            self._tail.append(text)
            self._tail_chars += len(text)
        return added

    def _skip(self, text: str, *, final: bool) -> str:
        """`text` without the rest of a line being skipped."""
        if self._skip_lf and text:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if not self._skip_line:
            return text
        match = re.search(r"\r\n|\r|\n", text)
        if match is None:
            return ""
        self._skip_line = False
        if match.group() == "\r" and match.end() == len(text) and not final:
            self._skip_lf = True
        return text[match.end() :]

    def _parse(self, rows: list[StagedRow]) -> None:
        """Every complete record held, parsed into `rows`; an unfinished one stays for later."""
        source = self._lines
        while True:
            source.mark = source.pos
            source.waiting = None
            try:
                fields = next(self._csv)
            except _NeedMore:
                source.waiting = source.pos if source.pos > source.mark else None  # mid-record: in a quoted field
                source.pos = source.mark
                if not source.final:
                    return
                self._unclosed(rows)  # the file ends inside a quoted field
                continue
            except StopIteration:
                return
            except csv.Error as exc:  # not expected with the Excel dialect; kept as a row, not a crash
                self._record += 1
                rows.append(self._staged([], f"it cannot be read as CSV ({exc})."))
                continue
            line = source.lines[source.mark]
            one_line = source.pos == source.mark + 1
            if (not one_line or len(line) > MAX_RECORD_CHARS) and source.pending_chars(source.pos) > MAX_RECORD_CHARS:
                source.pos = source.mark  # as it is when it arrives in small chunks: refused before it ends
                self._unclosed(rows)
                continue
            self._record += 1
            plain = one_line and len(line) <= MAX_FIELD_CHARS and "\x00" not in line  # no field too long, no NUL
            row = self._row(fields, plain=plain)
            if row is not None:
                rows.append(row)

    def _unclosed(self, rows: list[StagedRow]) -> None:
        """The record at `mark` is over `MAX_RECORD_CHARS`, or the file ends inside it: it opens a
        quote that is not closed (or is one line that long). Its first line is one malformed row;
        reading resumes on the line after it."""
        source = self._lines
        line = source.lines[source.mark]
        source.pos = source.mark = source.mark + 1
        self._record += 1
        if not self._index:
            raise self._refusal(_FIRST_ROW_UNREADABLE)
        if len(line) > MAX_RECORD_CHARS:
            rows.append(self._staged([], _LINE_TOO_LONG))
            return
        fields = next(csv.reader([line]), [])
        rows.append(self._staged(fields, "it opens a quote (\") that is never closed, so the row cannot be read "
                                         "reliably; the next line is read as the next row."))  # fmt: skip

    # --- records to rows -------------------------------------------------------------------------

    def _row(self, fields: list[str], *, plain: bool) -> StagedRow | None:
        """The row of a complete record (None for a blank one, or the header); `plain` when its text
        is known to hold no field too long and no NUL."""
        if not fields or (not fields[0].strip() and not "".join(fields).strip()):
            return None  # a blank line, or a row of empty cells: counted, not a row
        if not self._index:
            self._header(fields)
            return None
        if len(fields) == self._width and (plain or not any(len(f) > MAX_FIELD_CHARS or "\x00" in f for f in fields)):
            values: dict[str, str | None] = {}
            for name, i in self._index:  # a loop, not a comprehension: no function object made per row
                values[name] = fields[i].strip() or None
            return StagedRow(self.table.name, self._record, values)
        problems = []
        if len(fields) != self._width:
            problems.append(f"it has {len(fields)} fields, but the header has {self._width} columns")
        nul = [self._column(i) for i, field in enumerate(fields) if "\x00" in field]
        if nul:
            problems.append(f"its {', '.join(nul)} field{'s' if len(nul) > 1 else ''} holds a NUL character")
        long = [self._column(i) for i, field in enumerate(fields) if len(field) > MAX_FIELD_CHARS]
        if long:
            problems.append(f"its {', '.join(long)} field{'s are' if len(long) > 1 else ' is'} over "
                            f"{MAX_FIELD_CHARS:,} characters long")  # fmt: skip
        return self._staged(fields, "; ".join(problems) + ".")

    def _staged(self, fields: list[str], problem: str) -> StagedRow:
        """A malformed row: its used values read by position where they can be."""
        values: dict[str, str | None] = {}
        for name, i in self._index:
            field = fields[i] if i < len(fields) else ""
            values[name] = None if len(field) > MAX_FIELD_CHARS or "\x00" in field else field.strip() or None
        return StagedRow(self.table.name, self._record, values, problem)

    def _column(self, i: int) -> str:
        """A field's name for a message: a 903 column's name, else its position (a name the file
        made up is not repeated)."""
        if i < len(self._names) and self._names[i] in self.table.columns:
            return self._names[i]
        return f"column {i + 1}"

    def _header(self, fields: list[str]) -> None:
        if any("\x00" in field for field in fields):
            raise self._refusal("it holds NUL bytes, so it is not a CSV text file (a spreadsheet, or text saved "
                                f"as UTF-16?); {_SAVE_AS}.")  # fmt: skip
        if len(fields) == 1 and (";" in fields[0] or "\t" in fields[0]):
            separator = "semicolons" if ";" in fields[0] else "tabs"
            raise self._refusal(f"its columns are separated by {separator}, not commas; {_SAVE_AS}.")
        names = [field.strip().upper() for field in fields]
        problem = problem_with_columns(self.table, names)
        if problem is not None:
            raise self._refusal(problem)
        self._names = names
        self._width = len(names)
        self._index = [(name, names.index(name)) for name in self.table.used]
