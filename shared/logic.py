"""One rule, read two ways: in Python over a row's values, or as SQL over its columns.

A derived status ("overdue", "past due") is judged by a pure rule in a service's `rules.py`. The
read model calls the rule with `PYTHON`; a list filter calls the same rule with `SQL` and the
columns, and gets the SQL expression to filter on. So the two cannot disagree: there is one rule.

A rule is written with these few operations (and `==`, which both Python values and SQLAlchemy
columns understand):

    logic.first([(condition, value), ...], otherwise)  the value of the first true condition
    logic.all(*conditions)                             all true
    logic.not_(condition)                              not true
    logic.known_by(day_or_none, day)                   a date that is set and on or before `day`
    logic.before(a, b)                                 both set and a < b

Unknown values (None, SQL NULL) are never "before" anything, and the SQL forms never yield NULL, so
a negated condition keeps the rows the positive one leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import and_, case, literal, not_


class Logic(Protocol):
    def first(self, cases: Sequence[tuple[Any, Any]], otherwise: Any) -> Any: ...

    def all(self, *conditions: Any) -> Any: ...

    def not_(self, condition: Any) -> Any: ...

    def known_by(self, value: Any, day: Any) -> Any: ...

    def before(self, a: Any, b: Any) -> Any: ...


class _Python:
    """The rule over plain values."""

    def first(self, cases: Sequence[tuple[Any, Any]], otherwise: Any) -> Any:
        return next((value for condition, value in cases if condition), otherwise)

    def all(self, *conditions: Any) -> bool:
        return all(conditions)

    def not_(self, condition: Any) -> bool:
        return not condition

    def known_by(self, value: Any, day: Any) -> bool:
        return value is not None and day is not None and value <= day

    def before(self, a: Any, b: Any) -> bool:
        return a is not None and b is not None and a < b


class _Sql:
    """The rule as a SQLAlchemy expression over columns (and bound values)."""

    def first(self, cases: Sequence[tuple[Any, Any]], otherwise: Any) -> Any:
        return case(*[(condition, _value(value)) for condition, value in cases], else_=_value(otherwise))

    def all(self, *conditions: Any) -> Any:
        return and_(*conditions)

    def not_(self, condition: Any) -> Any:
        return not_(condition)

    def known_by(self, value: Any, day: Any) -> Any:
        return and_(value.is_not(None), value <= day)

    def before(self, a: Any, b: Any) -> Any:
        return and_(*(side.is_not(None) for side in (a, b) if hasattr(side, "is_not")), a < b)


def _value(value: Any) -> Any:
    return literal(value) if isinstance(value, str) else value


PYTHON: Logic = _Python()
SQL: Logic = _Sql()
