"""`POST /v1/imports/ssda903` (an SSDA903 return, streamed to staged rows, 202) and
`GET /v1/imports/{id}` (status and report; `Accept: text/csv` for the refusals). The work after the
upload is services.gateway.backfill's; docs/ssda903.md is the data officer's guide."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from services.gateway import backfill, ssda903_map
from services.gateway.models import ImportJob
from services.gateway.settings import Settings
from shared import errors, roles
from shared.ingest.errors import UnsupportedContentType
from shared.ssda903 import reader
from shared.ssda903 import upload as upload

router = APIRouter(prefix="/v1", tags=["imports"])

UPLOAD_BODY = {
    "required": True,
    "description": "The return's three tables as CSV files (UTF-8 or Windows-1252), and its collection year.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["collection_year", "header", "episodes", "reviews"],
                "properties": {
                    "collection_year": {"type": "integer", "minimum": 2000, "maximum": 2199,
                                        "description": "e.g. 2022: 1 April 2021 to 31 March 2022."},
                    "header": {"type": "string", "format": "binary", "description": "CHILD, SEX, DOB, ..."},
                    "episodes": {"type": "string", "format": "binary",
                                 "description": "CHILD, DECOM, RNE, LS, PLACE, DEC, REC, ..."},
                    "reviews": {"type": "string", "format": "binary", "description": "CHILD, REVIEW, REVIEW_CODE, ..."},
                },
            }
        }
    },
}  # fmt: skip


class Accepted(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "done", "failed"]


class TableCounts(BaseModel):
    read: int
    applied: int
    duplicate: int
    refused: int
    pending: int = Field(description="Not yet applied (while the import runs).")


class Refusal(BaseModel):
    file: str
    row: int = Field(description="The row as a data officer sees it in Excel (the header is row 1).")
    CHILD: str | None
    field: str | None = Field(description="The 903 column at fault (e.g. PLACE), when one is.")
    reason: str
    outcome: Literal["applied", "duplicate", "refused"] | None = Field(
        description="`refused`, or `applied` when one column was refused alone (a REVIEW_CODE the child's age refuses)."
    )


class ImportReport(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "done", "failed"]
    collection_year: int
    files: dict[str, str]
    bytes: int
    upload_sha256: str | None = Field(description="SHA-256 of the upload as sent.")
    content_sha256: str = Field(description="SHA-256 of the rows read: the same files import once.")
    uploaded_by: str
    created_at: Any
    started_at: Any
    finished_at: Any
    runs: int
    problem: dict[str, Any] | None
    tables: dict[str, TableCounts]
    refusals: list[Refusal]


class Stager:
    """The upload's rows into `gateway.import_row` (COPY, a batch at a time, in the upload's
    transaction), hashing what was read per table so the same rows are known as the same import."""

    COLUMNS = ("import_id", "table", "row", "child", "values", "problem")

    def __init__(self, driver: Any, import_id: uuid.UUID) -> None:
        self.driver, self.import_id = driver, import_id
        self.hashes = {name: hashlib.sha256() for name in ssda903_map.FILES}

    async def __call__(self, rows: list[reader.StagedRow]) -> None:
        records = []
        for staged in rows:
            values = json.dumps(staged.values, sort_keys=True)
            self.hashes[staged.table].update(f"{staged.row}\x1f{values}\x1f{staged.problem or ''}\n".encode())
            records.append((self.import_id, staged.table, staged.row, staged.values.get("CHILD"), values,
                            staged.problem))  # fmt: skip
        await self.driver.copy_records_to_table(
            "import_row", schema_name="gateway", columns=self.COLUMNS, records=records
        )

    def content_sha256(self, collection_year: int) -> str:
        digest = hashlib.sha256(f"ssda903:{collection_year}".encode())
        for name in sorted(self.hashes):
            digest.update(self.hashes[name].digest())
        return digest.hexdigest()


def _collection_year(fields: dict[str, str]) -> int:
    raw = fields.get("collection_year")
    if raw is None:
        raise errors.InvalidField(["body", "collection_year"], "Give the return's collection year, e.g. 2022.")
    if not raw.strip().isdigit() or not 2000 <= int(raw) <= 2199:
        raise errors.InvalidField(["body", "collection_year"], f"{raw!r} is not a collection year (2000 to 2199).")
    return int(raw)


@router.post(
    "/imports/ssda903",
    status_code=202,
    response_model=Accepted,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={413: {"description": "Over `IRO_MAX_IMPORT_BYTES`."}, 415: {"description": "Not multipart."}},
)
async def import_ssda903(request: Request, principal: roles.Caller) -> JSONResponse:
    """Upload an SSDA903 return (managers): streamed, only the columns the platform uses staged,
    202 with the import's id; a worker applies it (`GET /v1/imports/{id}`). The same rows for the
    same year import once: sending them again answers with the first import. A file that is not
    that 903 table is a 422 naming it, and nothing is kept."""
    settings: Settings = request.app.state.settings
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedContentType(f"Send multipart/form-data (the three CSV files), not {content_type!r}.")
    import_id = uuid.uuid4()
    async with request.app.state.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            await connection.execute(
                insert(ImportJob).values(
                    id=import_id, status="receiving", uploaded_by=principal.sub, uploaded_role=principal.role
                )
            )
            driver = (await connection.get_raw_connection()).driver_connection
            stager = Stager(driver, import_id)
            try:
                received = await upload.read_upload(
                    request.stream(), content_type=content_type, limit_bytes=settings.max_import_bytes, sink=stager
                )
            except upload.UploadTooLarge:
                raise errors.Problem(
                    "Request body too large.", type_="payload-too-large", status=413,
                    detail=f"The upload is over the limit of {settings.max_import_bytes} bytes (IRO_MAX_IMPORT_BYTES).",
                    limit_bytes=settings.max_import_bytes,
                ) from None  # fmt: skip
            except reader.NotA903Table as wrong:
                part = wrong.field or _part_of(wrong.file_name)
                raise errors.InvalidField(["body", part], f"{wrong.file_name} is refused: {wrong.reason}") from None
            except upload.MalformedUpload as malformed:
                raise errors.InvalidField(["body", malformed.field], str(malformed)) from None
            year = _collection_year(received.fields)
            content = stager.content_sha256(year)
            await connection.execute(
                update(ImportJob).where(ImportJob.id == import_id).values(
                    status="queued", collection_year=year, content_sha256=content, upload_sha256=received.sha256,
                    bytes=received.bytes, files=received.files,
                )
            )  # fmt: skip
            await transaction.commit()
        except IntegrityError:
            await transaction.rollback()
            return await _the_first(request, year, content)
        except BaseException:
            await transaction.rollback()
            raise
    return JSONResponse(
        Accepted(id=import_id, status="queued").model_dump(mode="json"), status_code=202,
        headers={"Location": f"/v1/imports/{import_id}"},
    )  # fmt: skip


def _part_of(file_name: str) -> str:
    """The form field a reader's file name came from (the readers are named by part)."""
    return file_name if file_name in ssda903_map.FILES else next(
        (part for part, name in ssda903_map.FILES.items() if name == file_name), file_name
    )  # fmt: skip


async def _the_first(request: Request, year: int, content: str) -> JSONResponse:
    async with request.app.state.sessions() as session:
        first = await session.scalar(
            select(ImportJob).where(
                ImportJob.kind == "ssda903", ImportJob.collection_year == year, ImportJob.content_sha256 == content,
                ImportJob.status != "failed",
            )
        )  # fmt: skip
    if first is None:  # the other upload failed meanwhile: ask the client to send again
        raise errors.Conflict("The same return is being uploaded at this moment; send it again.")
    return JSONResponse(
        Accepted(id=first.id, status=first.status).model_dump(mode="json"),  # type: ignore[arg-type]
        status_code=202, headers={"Location": f"/v1/imports/{first.id}"},
    )  # fmt: skip


@router.get(
    "/imports/{import_id:uuid}",
    response_model=ImportReport,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "The report; `Accept: text/csv`: the refusals (file,row,CHILD,field,reason)."}},
)  # fmt: skip
async def read_import(import_id: uuid.UUID, request: Request, _: roles.Caller) -> Any:
    """The import's status and report: per table, rows read, applied, duplicate, refused (and
    pending while it runs); each refusal with file, row, CHILD, field and reason."""
    async with request.app.state.sessions() as session:
        job = await session.get(ImportJob, import_id)
        if job is None or job.status == "receiving":
            raise errors.NotFound(f"No import {import_id}.")
        if "text/csv" in request.headers.get("accept", ""):
            listed = [item async for item in backfill.refusals(session, import_id)]
            return StreamingResponse(_csv(listed), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="import-{import_id}-refusals.csv"'})  # fmt: skip
        counts = await backfill.counts(session, import_id)
        listed = [item async for item in backfill.refusals(session, import_id)]
    return ImportReport(
        id=job.id, status=job.status, collection_year=job.collection_year or 0, files=job.files, bytes=job.bytes,  # type: ignore[arg-type]
        upload_sha256=job.upload_sha256, content_sha256=job.content_sha256 or "", uploaded_by=job.uploaded_by,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, runs=job.runs,
        problem=job.problem, tables=counts["tables"], refusals=listed,  # type: ignore[arg-type]
    )  # fmt: skip


async def _csv(listed: list[dict[str, Any]]) -> AsyncIterator[str]:
    """The refusals as CSV a data officer opens in Excel (UTF-8 with a BOM so Excel reads it so)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", "row", "CHILD", "field", "reason", "outcome"])
    yield "\ufeff" + out.getvalue()
    for item in listed:
        out.seek(0)
        out.truncate()
        writer.writerow(
            [item["file"], item["row"], item["CHILD"], item["field"] or "", item["reason"], item["outcome"]]
        )
        yield out.getvalue()
