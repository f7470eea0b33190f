"""Reading the SSDA903 files (shared/ssda903/): every row of the sample accounted for, no value of
an unused column kept, the same rows whatever the chunking, the encodings taken and refused, files
that are not the table refused up front, malformed rows kept with their Excel row number, the
multipart upload streamed with its SHA-256, its limits and errors, and memory that does not grow
with the file.

The sample is tests/data/ssda903-sample/ (its README says where it came from)."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpx
import pytest

from shared.ssda903 import tables
from shared.ssda903.reader import MAX_RECORD_CHARS, NotA903Table, StagedRow, TableReader
from shared.ssda903.upload import MalformedUpload, Upload, UploadTooLarge, read_upload

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "ssda903-sample"
SAMPLE_ROWS = {"header": 80, "episodes": 156, "reviews": 368}


def sample(table: str) -> bytes:
    return (SAMPLE / f"{table}.csv").read_bytes()


def read(table: str, data: bytes, *, size: int | None = None, name: str | None = None) -> list[StagedRow]:
    """Every row of `data` read as `table` in chunks of `size` bytes (the whole file at once by default)."""
    reader = TableReader(table, name or f"{table}.csv")
    size = size or max(len(data), 1)
    rows: list[StagedRow] = []
    for start in range(0, len(data), size):
        rows += reader.feed(data[start : start + size])
    return rows + reader.close()


def refusal(table: str, data: bytes, *, name: str = "upload.csv", size: int | None = None) -> NotA903Table:
    with pytest.raises(NotA903Table) as caught:
        read(table, data, size=size, name=name)
    return caught.value


def header_text(*lines: str) -> str:
    return "".join(f"{line}\n" for line in ["CHILD,SEX,DOB", *lines])


def header_file(*lines: str) -> bytes:
    return header_text(*lines).encode()


# --- The sample -----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(tables.TABLES))
def test_every_sample_row_is_read_with_its_excel_row_number_and_only_the_used_columns(table):
    data = sample(table)
    expected = [
        {column: record[column].strip() or None for column in tables.TABLES[table].used}
        for record in csv.DictReader(io.StringIO(data.decode()))
    ]

    rows = read(table, data)

    assert len(rows) == SAMPLE_ROWS[table] == len(expected)
    assert [row.row for row in rows] == list(range(2, SAMPLE_ROWS[table] + 2))
    assert [row.values for row in rows] == expected
    assert {row.table for row in rows} == {table}
    assert [row for row in rows if row.problem is not None] == []


def test_no_value_of_a_column_never_kept_appears_in_the_rows():
    # The identifying columns, whose values cannot be mistaken for a used column's (MOTHER, MC_DOB, CIN
    # and the reviews' DOB could: the exact `values` in the test above show those are not kept either).
    columns = ("UPN", "ETHNIC", "HOME_POST", "PL_POST", "URN", "REASON_PLACE_CHANGE", "PLACE_PROVIDER")
    never_kept: dict[str, set[str]] = {column: set() for column in columns}
    output = ""  # every value and problem the reader gives, one after another
    for table in tables.TABLES.values():
        for record in csv.DictReader(io.StringIO(sample(table.name).decode())):
            for column in columns:
                if record.get(column):
                    never_kept[column].add(record[column])
        for row in read(table.name, sample(table.name), size=7):
            output += "|".join([*(value or "" for value in row.values.values()), row.problem or "", ""])
    assert len(never_kept["UPN"]) == 80
    assert min(len(values) for values in never_kept.values()) > 3
    leaked = {column: sorted(value for value in values if value in output) for column, values in never_kept.items()}
    assert leaked == {column: [] for column in never_kept}


def test_the_tables_say_what_is_used_required_and_never_kept():
    assert tables.HEADER.used == tables.HEADER.required == ("CHILD", "SEX", "DOB")
    assert tables.EPISODES.required == ("CHILD", "DECOM", "RNE", "LS", "PLACE", "DEC", "REC")
    assert tables.REVIEWS.required == ("CHILD", "REVIEW", "REVIEW_CODE")
    assert tables.HEADER.never_kept == ("ETHNIC", "UPN", "MOTHER", "MC_DOB")
    assert tables.EPISODES.never_kept == (
        "CIN", "PLACE_PROVIDER", "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
    )  # fmt: skip
    assert tables.REVIEWS.never_kept == ("DOB",)
    distinctive = tables.distinctive_columns()
    assert (distinctive["DECOM"], distinctive["REVIEW"], distinctive["UPN"], distinctive["DUC"]) == (
        "episodes", "reviews", "header", "UASC",
    )  # fmt: skip
    assert "CHILD" not in distinctive and "SEX" not in distinctive and "DOB" not in distinctive


@pytest.mark.parametrize("table", list(tables.TABLES))
def test_chunks_of_1_byte_7_bytes_and_the_whole_file_give_the_same_rows(table):
    data = sample(table)
    whole = read(table, data)
    assert read(table, data, size=1) == whole
    assert read(table, data, size=7) == whole
    assert read(table, data, size=4096) == whole


def test_each_row_comes_out_with_the_chunk_that_ends_its_line():
    data = sample("episodes")
    reader = TableReader("episodes", "episodes.csv")
    given = 0
    for start in range(0, len(data), 100):
        given += len(reader.feed(data[start : start + 100]))
        assert given == max(data[: start + 100].count(b"\n") - 1, 0)
    assert reader.close() == []


def test_a_file_without_a_final_line_end_still_gives_its_last_row():
    data = sample("reviews").rstrip(b"\n")
    assert read("reviews", data, size=5) == read("reviews", sample("reviews"))


def test_crlf_and_cr_line_ends_give_the_same_rows_as_lf():
    data = sample("episodes")
    lf = read("episodes", data)
    assert read("episodes", data.replace(b"\n", b"\r\n"), size=1) == lf
    assert read("episodes", data.replace(b"\n", b"\r\n"), size=7) == lf
    assert read("episodes", data.replace(b"\n", b"\r"), size=3) == lf


# --- Encodings --------------------------------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_reads_as_without_it():
    data = codecs.BOM_UTF8 + sample("header")
    for size in (1, 2, 7, None):
        assert read("header", data, size=size) == read("header", sample("header"))
    reader = TableReader("header", "header.csv")
    reader.feed(codecs.BOM_UTF8 + header_file('"Zoë",2,01/02/2010'))
    reader.close()
    assert reader.encoding == "utf-8"


@pytest.mark.parametrize("size", [1, 7, None])
def test_a_windows_1252_file_is_read_as_windows_1252(size):
    data = header_text('"Zoë, Smith",2,01/02/2010', "Chloé,1,03/04/2011").encode("cp1252")
    assert b'"Zo\xeb, Smith"' in data
    rows = read("header", data, size=size)
    assert [row.values["CHILD"] for row in rows] == ["Zoë, Smith", "Chloé"]
    assert [row.row for row in rows] == [2, 3]


def test_a_windows_1252_byte_far_into_an_ascii_file_switches_without_changing_earlier_rows():
    ascii_rows = [f"{100000 + n},1,01/01/2010" for n in range(5000)]
    data = header_file(*ascii_rows) + b"Zo\xeb,2,01/02/2010\n"
    reader = TableReader("header", "header.csv")
    rows = [row for start in range(0, len(data), 4096) for row in reader.feed(data[start : start + 4096])]
    rows += reader.close()
    assert reader.encoding == "windows-1252"
    assert len(rows) == 5001
    assert rows[-1].values == {"CHILD": "Zoë", "SEX": "2", "DOB": "01/02/2010"}
    assert rows[-1].row == 5002


def test_a_file_mixing_utf8_and_windows_1252_is_refused():
    data = header_file("Zoë,2,01/02/2010") + "Chloé,1,03/04/2011\n".encode("cp1252")
    refused = refusal("header", data, name="children.csv")
    assert refused.file_name == "children.csv"
    assert "mixes two encodings" in refused.reason and "0xE9" in refused.reason
    assert str(refused).startswith("children.csv is refused: ")
    # A byte-order mark declares UTF-8: a Windows-1252 byte after it is a mix too.
    bom = codecs.BOM_UTF8 + header_file() + "Chloé,1,03/04/2011\n".encode("cp1252")
    assert "mixes two encodings" in refusal("header", bom, size=1).reason


def test_utf16_is_refused():
    text = "CHILD,SEX,DOB\r\n566910,2,27/03/2008\r\n"
    assert "UTF-16" in refusal("header", text.encode("utf-16")).reason
    assert "NUL" in refusal("header", text.encode("utf-16-le")).reason  # no byte-order mark: NULs


def test_a_binary_file_is_refused():
    binary = bytes(range(256)) * 64
    assert "not" in refusal("header", binary).reason
    assert "Excel workbook" in refusal("episodes", b"PK\x03\x04" + bytes(200), name="episodes.xlsx").reason
    assert "neither UTF-8 nor Windows-1252" in refusal("reviews", b"CHILD\x81REVIEW\n").reason


# --- Files that are not the table -------------------------------------------------------------------


def test_the_header_file_given_as_the_episodes_file_is_refused_naming_the_file_and_the_missing_column():
    refused = refusal("episodes", sample("header"), name="header.csv", size=7)
    assert refused.file_name == "header.csv"
    assert refused.field == "episodes"
    assert refused.reason == (
        "it has no DECOM, RNE, LS, PLACE, DEC or REC column, so it looks like the header file, not the episodes file."
    )
    assert str(refused).startswith("header.csv is refused: it has no DECOM")


def test_a_file_with_another_tables_column_is_refused_as_that_table():
    uasc = b"CHILD,SEX,DOB,DUC\n566910,2,27/03/2008,27/03/2026\n"
    assert refusal("header", uasc).reason == (
        "it has the DUC column, which only the 903 UASC file has, so it looks like the UASC file, not the header file."
    )
    assert "looks like the reviews file" in refusal("episodes", sample("reviews")).reason
    assert "Is this the reviews file?" in refusal("reviews", b"CHILD,DOB,REVIEW\n").reason


def test_a_file_without_a_header_row_is_refused_without_repeating_its_data():
    data = b"566910,2,27/03/2008,WROM,D051910639385,,\n"
    refused = refusal("header", data)
    assert "the first row must be the column names" in refused.reason
    assert "D051910639385" not in str(refused) and "566910" not in str(refused)


def test_empty_files_are_refused():
    assert refusal("reviews", b"").reason == "it is empty (0 bytes)."
    assert refusal("reviews", b"\r\n\n  \n,,,\n").reason.startswith("it has no rows, not even the column names")


def test_column_names_are_read_without_case_spaces_or_order_and_unused_columns_may_be_absent():
    data = b" dob ,Child,sEx , LOCAL_NOTE\n27/03/2008, 566910 ,,x\n"
    assert read("header", data) == [StagedRow("header", 2, {"CHILD": "566910", "SEX": None, "DOB": "27/03/2008"})]


def test_a_column_named_twice_and_a_semicolon_file_are_refused():
    assert refusal("header", b"CHILD,SEX,DOB,child\n").reason == "it names the CHILD column more than once."
    assert "separated by semicolons" in refusal("header", b"CHILD;SEX;DOB\n1;2;3\n").reason


# --- Malformed rows -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 7, None])
def test_short_and_long_rows_are_kept_with_a_problem_and_their_excel_row_number(size):
    data = header_file(
        "566910,2,27/03/2008",
        "",  # a blank line: Excel row 3, not a row
        "384923,2",
        "709901,1,14/02/2013,extra",
        ",,",  # a row of empty cells: not a row either
        "550084,2,04/05/2008",
    )
    rows = read("header", data, size=size)
    assert [(row.row, row.values["CHILD"], row.problem) for row in rows] == [
        (2, "566910", None),
        (4, "384923", "it has 2 fields, but the header has 3 columns."),
        (5, "709901", "it has 4 fields, but the header has 3 columns."),
        (7, "550084", None),
    ]
    assert rows[1].values == {"CHILD": "384923", "SEX": "2", "DOB": None}


def test_a_nul_or_an_over_long_field_makes_a_row_malformed_without_keeping_the_field():
    data = header_file("566910,2\x00,27/03/2008", f"384923,2,{'9' * 1001}", "709901,1,14/02/2013")
    rows = read("header", data, size=3)
    assert [(row.row, row.values, row.problem) for row in rows] == [
        (2, {"CHILD": "566910", "SEX": None, "DOB": "27/03/2008"}, "its SEX field holds a NUL character."),
        (3, {"CHILD": "384923", "SEX": "2", "DOB": None}, "its DOB field is over 1,000 characters long."),
        (4, {"CHILD": "709901", "SEX": "1", "DOB": "14/02/2013"}, None),
    ]


def test_quoted_fields_with_line_breaks_are_one_row_across_any_chunk_boundary():
    data = (
        b'CHILD,SEX,"DOB"\r\n"566\n910",2,27/03/2008\r\n"38""49""23","2\r\n\r\n",09/09/2011\r\n709901,1,14/02/2013\r\n'
    )
    whole = read("header", data)
    assert [(row.row, row.values) for row in whole] == [
        (2, {"CHILD": "566\n910", "SEX": "2", "DOB": "27/03/2008"}),
        (3, {"CHILD": '38"49"23', "SEX": "2", "DOB": "09/09/2011"}),
        (4, {"CHILD": "709901", "SEX": "1", "DOB": "14/02/2013"}),
    ]
    for size in range(1, 24):
        assert read("header", data, size=size) == whole


def test_a_quote_never_closed_is_one_malformed_row_and_reading_resumes_on_the_next_line():
    data = header_file('566910,"2,27/03/2008', "384923,2,09/09/2011")
    for size in (1, 7, None):
        rows = read("header", data, size=size)
        assert [(row.row, row.values["CHILD"], row.problem is None) for row in rows] == [
            (2, "566910", False),
            (3, "384923", True),
        ]
        assert rows[0].problem is not None and "never closed" in rows[0].problem


def test_a_quote_never_closed_within_the_record_limit_does_not_hold_the_file():
    lines = [f"{100000 + n},1,01/01/2010" for n in range(4000)]
    data = header_file('566910,"2,27/03/2008', *lines)
    assert len(data) > MAX_RECORD_CHARS
    rows = read("header", data, size=1000)
    assert rows[0].row == 2 and rows[0].problem is not None and "never closed" in rows[0].problem
    assert [row.row for row in rows[1:]] == list(range(3, 4003))
    assert all(row.problem is None for row in rows[1:])
    assert read("header", data, size=7) == read("header", data) == rows


def test_a_line_longer_than_any_row_is_one_malformed_row():
    data = header_file("566910,2," + "x" * (MAX_RECORD_CHARS + 10), "384923,2,09/09/2011")
    for size in (1, 7, 1000, 4096, None):
        rows = read("header", data, size=size)
        assert [(row.row, row.values["CHILD"], row.problem is None) for row in rows] == [
            (2, None, False),
            (3, "384923", True),
        ]


def test_a_refused_reader_reads_nothing_more():
    reader = TableReader("episodes", "header.csv")
    with pytest.raises(NotA903Table):
        reader.feed(sample("header"))
    with pytest.raises(NotA903Table):
        reader.feed(b"more")


# --- Memory -------------------------------------------------------------------------------------------


def generated_episodes(total_bytes: int, chunk_bytes: int) -> Iterable[bytes]:
    """An episodes file of about `total_bytes`, in chunks of `chunk_bytes`, made as it is read."""
    head = b"CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
    block = b"".join(
        b"%d,15/02/2016,L,C2,N3,T2,PR0,14/08/2017,X1,CLOSE,EG19 7TT,WV27 9FW,4244474\n" % (100000 + n)
        for n in range(800)
    )
    pending, produced = head, 0
    while produced < total_bytes:
        pending += block
        produced += len(block)
        while len(pending) >= chunk_bytes:
            yield pending[:chunk_bytes]
            pending = pending[chunk_bytes:]
    yield pending


def test_a_30_mb_file_is_read_in_a_few_mb():
    reader = TableReader("episodes", "episodes.csv")
    rows = 0
    tracemalloc.start()
    try:
        for chunk in generated_episodes(30 * 2**20, 64 * 2**10):
            rows += len(reader.feed(chunk))
        rows += len(reader.close())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows > 390_000
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# --- The multipart upload -------------------------------------------------------------------------------


def multipart(
    files: list[tuple[str, tuple[str, bytes, str]]], fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A body and its Content-Type, encoded by httpx as a client would send them."""
    request = httpx.Request("POST", "http://testserver/v1/imports/ssda903", data=fields, files=files)
    return request.read(), request.headers["content-type"]


def sample_files(*tables_: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(table, (f"{table}.csv", sample(table), "text/csv")) for table in tables_ or list(tables.TABLES)]


async def streamed(body: bytes, size: int, pulled: list[int] | None = None) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        if pulled is not None:
            pulled.append(start)
        yield body[start : start + size]


async def upload(body: bytes, content_type: str, *, size: int = 997, limit: int = 10**7, batch_rows: int = 1000):
    batches: list[list[StagedRow]] = []

    async def sink(rows: list[StagedRow]) -> None:
        batches.append(rows)

    result = await read_upload(
        streamed(body, size), content_type=content_type, limit_bytes=limit, sink=sink, batch_rows=batch_rows
    )
    return result, batches


@pytest.mark.parametrize("size", [5, 997])
async def test_a_multipart_upload_streams_the_same_rows_and_its_sha256(size):
    body, content_type = multipart(sample_files(), {"collection_year": "2018"})
    result, batches = await upload(body, content_type, size=size, batch_rows=100)
    assert result == Upload(
        sha256=hashlib.sha256(body).hexdigest(),
        fields={"collection_year": "2018"},
        files={"header": "header.csv", "episodes": "episodes.csv", "reviews": "reviews.csv"},
        bytes=len(body),
        rows=SAMPLE_ROWS,
    )
    assert all(1 <= len(batch) <= 100 and len({row.table for row in batch}) == 1 for batch in batches)
    for table in tables.TABLES:
        assert [row for batch in batches for row in batch if row.table == table] == read(table, sample(table))


async def test_the_sink_is_awaited_before_the_next_chunk_is_read():
    body, content_type = multipart(sample_files())
    sent_before_chunk: list[int] = []  # rows the sink had been given when each chunk was asked for
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 512):
            sent_before_chunk.append(sent)
            yield body[start : start + 512]

    async def sink(rows: list[StagedRow]) -> None:
        nonlocal sent
        sent += len(rows)

    await read_upload(chunks(), content_type=content_type, limit_bytes=10**7, sink=sink, batch_rows=10)
    assert sent == sum(SAMPLE_ROWS.values())
    # Rows go out as each chunk completes them: never more than a chunk's rows plus a part-end batch
    # between two reads, and never more than a batch held back.
    steps = [after - before for before, after in zip(sent_before_chunk, [*sent_before_chunk[1:], sent], strict=True)]
    assert max(steps) <= 512 // 30 + 10
    assert sum(1 for step in steps if step) > len(steps) // 2


async def test_the_size_limit_stops_reading_as_soon_as_it_is_passed():
    body, content_type = multipart(sample_files())
    pulled: list[int] = []
    with pytest.raises(UploadTooLarge) as caught:
        await read_upload(
            streamed(body, 100, pulled), content_type=content_type, limit_bytes=1000, sink=_discard, batch_rows=10
        )
    assert (caught.value.limit_bytes, caught.value.field) == (1000, "body")
    assert len(pulled) == 11  # the 11th chunk takes it past 1,000 bytes; nothing after it is read
    assert isinstance(caught.value, ValueError)


async def _discard(rows: list[StagedRow]) -> None:
    return None


async def malformed(body: bytes, content_type: str) -> MalformedUpload:
    with pytest.raises(MalformedUpload) as caught:
        await read_upload(streamed(body, 64), content_type=content_type, limit_bytes=10**7, sink=_discard)
    return caught.value


async def test_a_missing_file_a_file_sent_twice_and_an_unknown_field_are_refused_naming_them():
    missing = await malformed(*multipart(sample_files("header", "episodes")))
    assert (missing.field, missing.reason) == ("reviews", "The upload has no reviews file.")

    twice = await malformed(*multipart([*sample_files(), *sample_files("header")]))
    assert (twice.field, twice.reason) == ("header", "The upload has the header file more than once.")

    unknown = await malformed(*multipart(sample_files(), {"notes": "hello"}))
    assert unknown.field == "notes" and "'notes'" in unknown.reason

    unknown_file = await malformed(*multipart([*sample_files(), ("uasc", ("uasc.csv", b"CHILD\n", "text/csv"))]))
    assert unknown_file.field == "uasc"

    too_long = await malformed(*multipart(sample_files(), {"collection_year": "2" * 101}))
    assert (too_long.field, too_long.reason) == ("collection_year", "collection_year is over 100 bytes long.")


async def test_a_body_that_is_not_a_whole_multipart_form_is_refused():
    body, content_type = multipart(sample_files())
    assert (await malformed(body, "application/json")).field == "content-type"
    assert (await malformed(body, "multipart/form-data")).field == "content-type"
    cut = await malformed(body[: len(body) // 2], content_type)
    assert cut.field == "body" and "cut short" in cut.reason
    garbage = await malformed(b"this is not multipart at all\r\n", content_type)
    assert garbage.field == "body"
    assert (await malformed(b"", content_type)).reason == "The body is empty."


async def test_a_file_that_is_not_its_table_is_refused_naming_the_part_and_the_file():
    header = ("header.csv", sample("header"), "text/csv")
    body, content_type = multipart([("header", header), ("episodes", header), *sample_files("reviews")])
    with pytest.raises(NotA903Table) as caught:
        await read_upload(streamed(body, 256), content_type=content_type, limit_bytes=10**7, sink=_discard)
    assert (caught.value.field, caught.value.file_name) == ("episodes", "header.csv")
    assert "DECOM" in caught.value.reason
