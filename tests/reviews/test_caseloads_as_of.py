"""Caseloads as of a past day (DESIGN 2.5) with the IRO's staffing history: last year's table at last
year's FTE, the IROs active then, and the children no IRO was allocated; the history itself (`PATCH
/v1/iros/{id}` with `changes_from`) and migration 0017's backfill of it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import rules
from shared import db, footprint, migrate
from shared.footprint import events
from shared.footprint.models import Actor, Subject
from tests.reviews.conftest import Api

D = dt.date.fromisoformat


def test_the_value_in_force_is_the_last_one_from_on_or_before_the_day():
    changes = [(D("2022-04-01"), "1.0"), (D("2023-09-01"), "0.5")]
    assert rules.in_force(changes, D("2022-03-31")) is None  # before the first
    assert rules.in_force(changes, D("2022-04-01")) == "1.0"
    assert rules.in_force(changes, D("2023-08-31")) == "1.0"
    assert rules.in_force(changes, D("2023-09-01")) == "0.5"
    assert rules.in_force([], D("2023-09-01")) is None


def test_children_per_fte_has_one_decimal_place_half_up_and_none_without_fte():
    assert rules.children_per_fte(5, Decimal("2.8")) == 1.8  # 1.7857...
    assert rules.children_per_fte(1, Decimal("0.8")) == 1.3  # 1.25, half up
    assert rules.children_per_fte(0, Decimal("1")) == 0.0
    assert rules.children_per_fte(3, Decimal("0")) is None


def history(*rows: tuple[str, float, bool]) -> list[dict[str, Any]]:
    return [{"valid_from": day, "fte": fte, "active": active} for day, fte, active in rows]


def line(iro: dict[str, Any], fte: float, active: bool, caseload: int, per_fte: float) -> dict[str, Any]:
    """A row of the table, with the default guidance (50 to 70 per FTE): these caseloads are all below."""
    return {
        "iro_id": iro["id"], "name": iro["name"], "fte": fte, "active": active, "caseload": caseload,
        "caseload_per_fte": per_fte, "within_guidance": True, "band": "below",
    }  # fmt: skip


class Service:
    """Five IROs and six children, 2022-04-01 to 2024-01-15:

    - Ann (1.0), Fay (1.0), Pat (1.0) and Wes (0.5) registered 2022-04-01; Zed (0.8) on 2023-10-01.
    - Children c1 to c6 looked after from 2022-04-04: c1 and c2 allocated to Pat, c3 to Fay, c4 and c6 to
      Wes (2022-04-05); c5 never allocated. c4 moves to Fay on 2023-06-01.
    - Ann is made inactive from 2023-01-01 (no children); Wes from 2023-06-01, c6 still his.
    - Pat goes part-time, 0.5 from 2023-09-01 (recorded on 2024-01-15, dated back)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    async def build(self) -> None:
        api, run = self.api, uuid.uuid4().hex[:8]
        api.today(D("2022-04-01"))
        self.ann = await api.iro(f"ann-{run}@council.gov.uk", fte=1.0, name=f"{run} Ann")
        self.fay = await api.iro(f"fay-{run}@council.gov.uk", fte=1.0, name=f"{run} Fay")
        self.pat = await api.iro(f"pat-{run}@council.gov.uk", fte=1.0, name=f"{run} Pat")
        self.wes = await api.iro(f"wes-{run}@council.gov.uk", fte=0.5, name=f"{run} Wes")
        api.today(D("2023-10-01"))
        self.zed = await api.iro(f"zed-{run}@council.gov.uk", fte=0.8, name=f"{run} Zed")
        api.today(D("2024-01-15"))
        self.children = {}
        for n in range(1, 7):
            child = await api.child(f"CA-{run}-{n}", "2012-05-01")
            await api.enter_care(child["id"], "2022-04-04")
            self.children[n] = child
        for n, iro in [(1, self.pat), (2, self.pat), (3, self.fay), (4, self.wes), (6, self.wes)]:
            await self.allocate(n, iro, "2022-04-05")
        await self.allocate(4, self.fay, "2023-06-01")
        await api.ok("PATCH", f"/v1/iros/{self.ann['id']}", {"active": False, "changes_from": "2023-01-01"})
        await api.ok("PATCH", f"/v1/iros/{self.wes['id']}", {"active": False, "changes_from": "2023-06-01"})
        self.pat_now = await api.ok("PATCH", f"/v1/iros/{self.pat['id']}", {"fte": 0.5, "changes_from": "2023-09-01"})

    async def allocate(self, n: int, iro: dict[str, Any], on: str) -> None:
        body = {"iro_id": iro["id"], "allocated_on": on}
        await self.api.ok("PUT", f"/v1/children/{self.children[n]['id']}/iro", body)

    async def table(self, query: str = "") -> dict[str, Any]:
        return await self.api.ok("GET", f"/v1/stats/caseloads{query}", role="auditor")


@pytest.fixture
async def service(api: Api) -> Service:
    built = Service(api)
    await built.build()
    return built


async def test_last_years_caseloads_use_last_years_fte_and_the_iros_active_then(service):
    s = service
    got = await s.table("?as_of=2023-03-31")
    # On 2023-03-31: Ann inactive since 1 Jan, no children: left out. Fay 1.0: c3. Pat at the FTE then,
    # 1.0: c1 c2. Wes, active until 1 June, 0.5: c4 c6 -> 4.0 per FTE. Zed not yet registered.
    # Children allocated c1 c2 c3 c4 c6 = 5 over 2.5 FTE = 2.0; c5 looked after, no IRO: 1.
    assert got == {
        "as_of": "2023-03-31",
        "items": [line(s.fay, 1.0, True, 1, 1.0), line(s.pat, 1.0, True, 2, 2.0), line(s.wes, 0.5, True, 2, 4.0)],
        "iros": 3,
        "fte": 2.5,
        "children_allocated": 5,
        "caseload_per_fte": 2.0,
        "unallocated": 1,
        "guidance_lower": 50.0,
        "guidance_upper": 70.0,
    }
    assert await s.table("?on=2023-03-31") == got  # `on`, the older name, is the same
    assert await s.table("?as_of=2023-03-31&on=2023-03-31") == got


async def test_todays_caseloads_use_todays_fte_and_list_an_inactive_iro_still_holding_a_child(service):
    s = service
    got = await s.table()
    # Today (2024-01-15): Fay c3 c4; Pat, now 0.5, c1 c2 -> 4.0; Wes inactive since 1 June but c6 is still
    # his: listed, inactive; Zed 0.8, none. 5 children over 1.0 + 0.5 + 0.5 + 0.8 = 2.8 FTE = 1.79 -> 1.8.
    assert got["as_of"] == "2024-01-15"
    assert got["items"] == [
        line(s.fay, 1.0, True, 2, 2.0),
        line(s.pat, 0.5, True, 2, 4.0),
        line(s.wes, 0.5, False, 1, 2.0),
        line(s.zed, 0.8, True, 0, 0.0),
    ]
    assert (got["iros"], got["fte"], got["children_allocated"], got["caseload_per_fte"]) == (4, 2.8, 5, 1.8)
    assert got["unallocated"] == 1
    assert await s.table("?as_of=2024-01-15") == got


async def test_an_iro_made_inactive_later_is_in_the_table_before(service):
    s = service
    got = await s.table("?as_of=2022-12-31")
    assert [(i["name"], i["active"], i["caseload"]) for i in got["items"]] == [
        (s.ann["name"], True, 0),
        (s.fay["name"], True, 1),
        (s.pat["name"], True, 2),
        (s.wes["name"], True, 2),
    ]
    assert (got["iros"], got["fte"], got["caseload_per_fte"]) == (4, 3.5, 1.4)  # 5 / 3.5 = 1.43
    before = await s.table("?as_of=2022-03-31")  # nobody registered yet, nobody looked after
    assert (before["items"], before["fte"], before["caseload_per_fte"], before["unallocated"]) == ([], 0.0, None, 0)


async def test_as_of_and_on_naming_different_days_is_refused_naming_as_of(service):
    response = await service.api.get("/v1/stats/caseloads?as_of=2023-03-31&on=2023-04-01", role="auditor")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "as_of"]
    bad = await service.api.get("/v1/stats/caseloads?as_of=2023-02-30", role="auditor")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "as_of"]


async def test_the_iro_reads_with_its_fte_history_and_the_event_says_from_when(service):
    s, api = service, service.api
    assert s.pat_now["fte"] == 0.5
    assert s.pat_now["fte_history"] == history(("2022-04-01", 1.0, True), ("2023-09-01", 0.5, True))
    wes = await api.ok("GET", f"/v1/iros/{s.wes['id']}", role="auditor")
    assert (wes["active"], wes["caseload"]) == (False, 1)
    assert wes["fte_history"] == history(("2022-04-01", 0.5, True), ("2023-06-01", 0.5, False))
    listed = (await api.ok("GET", f"/v1/iros?email={s.zed['email']}", role="auditor"))["items"]
    assert listed[0]["fte_history"] == history(("2023-10-01", 0.8, True))
    [updated] = await api.events(type="iro.updated", subject_id=s.pat["id"])
    assert updated.payload == {"iro_id": s.pat["id"], "fte": "0.5", "changes_from": "2023-09-01", "schema_version": 1}
    assert events.parse(updated.type, updated.payload) == events.IroUpdated(
        iro_id=uuid.UUID(s.pat["id"]), fte="0.5", changes_from=D("2023-09-01")
    )


async def test_a_change_dated_back_holds_from_that_day_on_and_replaces_one_on_its_day(api):
    api.today(D("2024-01-15"))
    iro = await api.iro(f"kim-{uuid.uuid4().hex[:8]}@council.gov.uk", fte=1.0, name="Kim")
    path = f"/v1/iros/{iro['id']}"
    assert iro["fte_history"] == history(("2024-01-15", 1.0, True))
    # A change dated back holds from that day on, later rows included: the IRO has today what was sent.
    got = await api.ok("PATCH", path, {"fte": 0.8, "changes_from": "2023-06-01"})
    assert got["fte_history"] == history(("2023-06-01", 0.8, True), ("2024-01-15", 0.8, True))
    # Inactive from today; then an FTE dated back between: a later row's other field (active) stays.
    await api.ok("PATCH", path, {"active": False})
    got = await api.ok("PATCH", path, {"fte": 0.6, "changes_from": "2023-09-01"})
    assert got["fte_history"] == history(
        ("2023-06-01", 0.8, True), ("2023-09-01", 0.6, True), ("2024-01-15", 0.6, False)
    )
    assert (got["fte"], got["active"]) == (0.6, False)
    # A change on a day already in the history replaces that day's row; the other field is kept.
    got = await api.ok("PATCH", path, {"active": True})
    assert got["fte_history"][-1] == {"valid_from": "2024-01-15", "fte": 0.6, "active": True}
    assert (got["fte"], got["active"], len(got["fte_history"])) == (0.6, True, 3)
    # A name alone writes no history and no `changes_from`.
    got = await api.ok("PATCH", path, {"name": "Kim Lee"})
    assert len(got["fte_history"]) == 3
    assert "changes_from" not in (await api.events(type="iro.updated", subject_id=iro["id"]))[-1].payload


async def test_changes_from_must_not_be_in_the_future_nor_alone(api):
    api.today(D("2024-01-15"))
    iro = await api.iro(f"lee-{uuid.uuid4().hex[:8]}@council.gov.uk", fte=1.0, name="Lee")
    path = f"/v1/iros/{iro['id']}"
    future = await api.call("PATCH", path, {"fte": 0.5, "changes_from": "2024-01-16"})
    assert future.status_code == 422, future.text
    assert future.json()["errors"][0]["loc"] == ["body", "changes_from"]
    alone = await api.call("PATCH", path, {"changes_from": "2024-01-01", "name": "Lee B"})
    assert alone.status_code == 422, alone.text
    assert alone.json()["errors"][0]["loc"] == ["body", "changes_from"]
    unchanged = await api.ok("GET", path)
    assert (unchanged["name"], unchanged["fte_history"]) == ("Lee", history(("2024-01-15", 1.0, True)))


# --- Migration 0017 ----------------------------------------------------------------------------------


def on_database(url: str, name: str) -> str:
    parts = urlsplit(db.plain_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(on_database(url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


IRO, CHILD = uuid.uuid4(), uuid.uuid4()
UNCHANGED, CHANGED, UNKNOWN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

BEFORE_0017 = [
    # Registered at 23:30 UTC on 31 May 2023: 1 June in England.
    f"INSERT INTO reviews.iro (id, name, email, fte, active, created_at) VALUES ('{IRO}', 'Old', 'old@council.gov.uk',"
    " 0.8, false, '2023-05-31 23:30:00+00')",
    f"INSERT INTO reviews.child (id, la_reference, date_of_birth) VALUES ('{CHILD}', 'M1', '2010-01-01')",
    f"INSERT INTO reviews.care_period (id, child_id, started_on, legal_status, ended_on) VALUES"
    f" ('{UNCHANGED}', '{CHILD}', '2019-01-01', 'C2', '2019-06-01'),"
    f" ('{CHANGED}', '{CHILD}', '2020-01-01', 'C2', '2020-06-01'),"
    f" ('{UNKNOWN}', '{CHILD}', '2021-01-01', 'C1', NULL)",
    f"INSERT INTO reviews.legal_status_change (id, care_period_id, child_id, changed_on, legal_status) VALUES"
    f" ('{uuid.uuid4()}', '{CHANGED}', '{CHILD}', '2020-03-01', 'C2'),"
    f" ('{uuid.uuid4()}', '{UNKNOWN}', '{CHILD}', '2021-03-01', 'C1')",
]


async def before_0017(url: str) -> None:
    """Rows as they stood before 0017, and the footprint's `care_period.started` of the changed period."""
    engine = db.create_engine(url)
    try:
        async with AsyncSession(engine) as session:
            for statement in BEFORE_0017:
                await session.execute(text(statement))
            started = events.CarePeriodStarted(
                care_period_id=CHANGED, child_id=CHILD, started_on=D("2020-01-01"), legal_status="V3",
                placement_type=None,
            )  # fmt: skip
            await footprint.append(
                session, event=started, actor=Actor(sub="test", role="admin"),
                subject=Subject("care_period", CHANGED), service="reviews", child_id=CHILD,
            )  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()


async def after_0017(url: str) -> tuple[list[Any], dict[uuid.UUID, str | None]]:
    connection = await asyncpg.connect(db.plain_url(url))
    try:
        fte = await connection.fetch("SELECT iro_id, valid_from, fte, active FROM reviews.iro_fte")
        periods = await connection.fetch("SELECT id, initial_legal_status FROM reviews.care_period")
    finally:
        await connection.close()
    return [tuple(r) for r in fte], {r["id"]: r["initial_legal_status"] for r in periods}


def test_migration_0017_backfills_the_history_and_the_legal_status_each_period_started_with(database_url):
    name = f"iro_0017_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(database_url, f'CREATE DATABASE "{name}"'))
    url = on_database(database_url, name)
    try:
        migrate.upgrade(url, "0016")
        asyncio.run(before_0017(url))
        migrate.upgrade(url)
        fte, initial = asyncio.run(after_0017(url))
        assert [(i, d, float(f), a) for i, d, f, a in fte] == [(IRO, D("2023-06-01"), 0.8, False)]
        # No change: its current status. Changed: what its start recorded. Changed, no event: unknown.
        assert initial == {UNCHANGED: "C2", CHANGED: "V3", UNKNOWN: None}
        command.downgrade(migrate.alembic_config(url), "0016")
        migrate.upgrade(url)
    finally:
        asyncio.run(admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
