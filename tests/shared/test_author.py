"""The one rule for under which IRO a write is filed (`shared.author.author_iro`)."""

from __future__ import annotations

import uuid

import pytest

from shared.auth import Principal
from shared.author import AnotherIroNamed, author_iro

ALICE, BOB, ALLOCATED = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def caller(*roles: str) -> Principal:
    return Principal(sub="someone", roles=frozenset(roles), iro_identity="someone@council.gov.uk")


def returning(value: uuid.UUID | None):
    async def lookup() -> uuid.UUID | None:
        return value

    return lookup


async def filed(principal: Principal, *, me: uuid.UUID | None, named: uuid.UUID | None = None) -> uuid.UUID | None:
    return await author_iro(principal, acting=returning(me), named=named, allocated=returning(ALLOCATED))


async def test_an_iro_naming_themselves_or_nobody_writes_as_themselves():
    assert await filed(caller("iro"), me=ALICE, named=ALICE) == ALICE
    assert await filed(caller("iro"), me=ALICE) == ALICE


async def test_an_iro_naming_another_iro_is_forbidden():
    with pytest.raises(AnotherIroNamed) as refused:
        await filed(caller("iro"), me=ALICE, named=BOB)
    assert (refused.value.status, refused.value.type) == (403, "another-iro-named")
    assert refused.value.extras == {"field": "iro_id"}
    with pytest.raises(AnotherIroNamed):
        await filed(caller("iro"), me=None, named=BOB)  # a token that matches no IRO names nobody


@pytest.mark.parametrize("role", ["manager", "admin", "integration"])
async def test_a_manager_an_admin_or_a_case_system_may_name_any_iro(role):
    assert await filed(caller(role), me=None, named=BOB) == BOB
    assert await filed(caller(role, "iro"), me=ALICE, named=BOB) == BOB


@pytest.mark.parametrize("role", ["manager", "admin", "integration"])
async def test_a_write_no_iro_made_is_the_allocated_iros(role):
    assert await filed(caller(role), me=None) == ALLOCATED


async def test_an_iro_matching_no_registered_iro_is_never_filed_under_the_allocated_iro():
    assert await filed(caller("iro"), me=None) is None
