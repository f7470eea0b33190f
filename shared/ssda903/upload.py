"""An import's `multipart/form-data` body read as it streams: each 903 file through its own
`TableReader`, rows to a sink in batches, the body's SHA-256 computed on the way.

    upload = await read_upload(request.stream(), content_type=request.headers["content-type"],
                               limit_bytes=settings.max_import_bytes, sink=stage)

- The body is parsed by python-multipart's streaming `MultipartParser` (the parser Starlette uses),
  one chunk at a time; nothing is buffered but a chunk, a part's headers, the text fields and the
  rows not yet sent (fewer than `batch_rows` plus one chunk's worth).
- Parts: a file named `header`, `episodes` and `reviews`, once each (all three required); the small
  text fields in `text_fields` (`collection_year`), at most 100 bytes of UTF-8 each, at most once
  and optional here (the route checks their values). Any other part is refused, naming it.
- `sink(rows)` is awaited with each batch (at most `batch_rows` rows, all of one table, in file
  order) before the next chunk is read: a slow sink slows the upload down, it never piles rows up.
  A table's last batch is sent when its part ends.
- `sha256` is over the body exactly as received (the multipart framing included), so the same
  request sent again has the same hash.

Errors, each a `ValueError` with `field` naming what to point at in a 422 (a form field's name;
`content-type` for the request header; `body` for the body as a whole):

- `UploadTooLarge(limit_bytes)` (413): the body passed `limit_bytes`; raised before that chunk is
  parsed, and nothing more is read.
- `MalformedUpload(field, reason)`: not `multipart/form-data`, no boundary, a body that is not
  multipart or stops before its closing boundary, a part without a name, an unknown part, a part
  sent twice, a text field too long or not UTF-8, a file missing.
- `NotA903Table` (from `shared.ssda903.reader`), `field` the part's name: the file is not that table.

After an error, rows already sent to the sink belong to a refused upload: the caller discards them.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from shared.ssda903.reader import NotA903Table, StagedRow, TableReader
from shared.ssda903.tables import TABLES

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "MAX_TEXT_FIELD_BYTES",
    "TEXT_FIELDS",
    "MalformedUpload",
    "NotA903Table",
    "Upload",
    "UploadTooLarge",
    "read_upload",
]

TEXT_FIELDS = frozenset({"collection_year"})
"""The text fields an import takes besides its three files."""

MAX_TEXT_FIELD_BYTES = 100

_BODY = "body"
_CONTENT_TYPE = "content-type"


class UploadTooLarge(ValueError):
    """The body is over `limit_bytes` (413). `field` is `body`."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"The upload is over the limit of {limit_bytes:,} bytes.")
        self.limit_bytes = limit_bytes
        self.field = _BODY


class MalformedUpload(ValueError):
    """The body is not the form an import takes (422): `field` names the part (or `content-type`,
    or `body`), `reason` says what is wrong in a sentence."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Upload:
    """What was received: `sha256` (hex, of the whole body), `fields` (text field -> value),
    `files` (part -> the client's file name, or the part's name when it gave none), `bytes` (the
    body's size), `rows` (part -> rows sent to the sink, malformed ones included)."""

    sha256: str
    fields: dict[str, str]
    files: dict[str, str]
    bytes: int
    rows: dict[str, int]


class _Form:
    """The parser's callbacks: which part is being read, and where its bytes go."""

    def __init__(self, text_fields: Collection[str]) -> None:
        self.text_fields = text_fields
        self.fields: dict[str, str] = {}
        self.files: dict[str, str] = {}
        self.readers: dict[str, TableReader] = {}
        self.pending: dict[str, list[StagedRow]] = {name: [] for name in TABLES}
        self.ended_parts: set[str] = set()
        self.ended = False
        self._headers: dict[str, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._part: str | None = None
        self._text = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self._headers = {}
        self._part = None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").strip().lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition", b"").decode("latin-1"))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if disposition != b"form-data" or not name:
            raise MalformedUpload(_BODY, "A part of the body has no name (Content-Disposition: form-data; name=...).")
        file_name = options.get(b"filename", b"").decode("utf-8", "replace")
        if name in self.files or name in self.fields:
            what = f"the {name} file" if name in TABLES else f"the {name} field"
            raise MalformedUpload(name, f"The upload has {what} more than once.")
        if name in TABLES:
            self.files[name] = file_name or name
            self.readers[name] = TableReader(name, file_name or name)
        elif name in self.text_fields:
            if file_name:
                raise MalformedUpload(name, f"{name} is a text field, not a file.")
            self._text.clear()
        else:
            takes = ", ".join([*TABLES, *sorted(self.text_fields)])
            raise MalformedUpload(name, f"The upload has a part named {name[:64]!r}, which it does not take ({takes}).")
        self._part = name

    def part_data(self, data: bytes, start: int, end: int) -> None:
        name = self._part
        if name is None:
            return
        reader = self.readers.get(name)
        if reader is not None:
            self.pending[name] += reader.feed(data[start:end])
            return
        self._text += data[start:end]
        if len(self._text) > MAX_TEXT_FIELD_BYTES:
            raise MalformedUpload(name, f"{name} is over {MAX_TEXT_FIELD_BYTES} bytes long.")

    def part_end(self) -> None:
        name = self._part
        if name is None:
            return
        reader = self.readers.get(name)
        if reader is not None:
            self.pending[name] += reader.close()
        else:
            try:
                self.fields[name] = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedUpload(name, f"{name} is not UTF-8 text.") from None
        self.ended_parts.add(name)
        self._part = None

    def end(self) -> None:
        self.ended = True


def _parser(content_type: str, form: _Form) -> MultipartParser:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise MalformedUpload(_CONTENT_TYPE, "An import is sent as multipart/form-data.")
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedUpload(_CONTENT_TYPE, "The Content-Type has no boundary (multipart/form-data; boundary=...).")
    try:
        return MultipartParser(boundary, form.callbacks())
    except FormParserError as exc:
        raise MalformedUpload(_CONTENT_TYPE, f"The Content-Type's boundary is not usable: {exc}.") from None


async def read_upload(
    chunks: AsyncIterable[bytes],
    *,
    content_type: str,
    limit_bytes: int,
    sink: Callable[[list[StagedRow]], Awaitable[None]],
    batch_rows: int = 1000,
    text_fields: Collection[str] = TEXT_FIELDS,
) -> Upload:
    """Read the body `chunks` (sent with `content_type`) into `sink`, batch by batch; see the
    module's docstring for the parts taken and the errors raised."""
    if batch_rows < 1:
        raise ValueError("batch_rows is at least 1.")
    form = _Form(text_fields)
    parser = _parser(content_type, form)
    digest = hashlib.sha256()
    received = 0
    sent = dict.fromkeys(TABLES, 0)
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > limit_bytes:
            raise UploadTooLarge(limit_bytes)
        digest.update(chunk)
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise MalformedUpload(_BODY, f"The body is not readable as multipart/form-data: {exc}.") from None
        for name, rows in form.pending.items():
            while len(rows) >= batch_rows or (rows and name in form.ended_parts):
                batch = rows[:batch_rows]
                del rows[:batch_rows]
                sent[name] += len(batch)
                await sink(batch)
    if received == 0:
        raise MalformedUpload(_BODY, "The body is empty.")
    if not form.ended:
        raise MalformedUpload(
            _BODY, "The body stops before the multipart's closing boundary: the upload was cut short."
        )
    for name in TABLES:
        if name not in form.files:
            raise MalformedUpload(name, f"The upload has no {name} file.")
    return Upload(
        sha256=digest.hexdigest(),
        fields=form.fields,
        files=form.files,
        bytes=received,
        rows={name: sent[name] for name in form.files},
    )
