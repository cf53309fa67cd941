"""Counts answered from the incident rollups instead of the incident rows.

Two rollups hold, for every submission, how many incident rows share a set of column
values and the sum of their record keys (``incidents.models.IncidentCount`` and
``IncidentMonthCount``):

* ``IncidentMonthCount``: submission x site x borough x assault month x location class x
  geocode status (a few dozen cells per submission);
* ``IncidentCount``: the same and assault method x location type.

Database triggers on the incident table (migration ``0011_incident_rollup``) keep both
equal to the rows in the transaction that writes the rows, whatever writes them (the
loader's COPY, the geocode retry, a reviewer's decision, the personal-data rescan, a
delete), and for every submission whatever its status: publishing or superseding a
submission changes its status, not its rows, and the scoped reads of the cells
(``incidents.selectors.counts_visible_to``) apply the publication and release rule and
the scope condition exactly as ``visible_to`` does to the rows.

Because each cell's rows share the submission, site, borough, class and geocode status,
every scope and publication rule takes a cell's rows in or out together, so the sum of a
group's cells is the group's count, and the sum of their key sums is the group's cell key
(the cell-key method needs nothing else).

A count is answered from a rollup only when the question is exactly one of an
``IncidentFilterSet`` (``fs.qs`` carries its question, :func:`question_of`; any further
``.filter()`` makes a new queryset without it, so the answer falls back to the rows) and
every filter and grouping it uses is a column of the rollup: borough, month, hospital,
method, location type, location class, release, and assault dates on whole months. A
date cutting inside a month, a ward, LSOA, weekday, hour, precision, arrival date, place
or text filter or grouping is answered from the rows. ``INCIDENT_COUNTS_FROM_ROLLUP``
turns the rollups off (every count from the rows).

tests/workspace_api/test_rollup_counts.py checks, for random filters, groupings, grants
and releases, that both ways give the same answer, protected and not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet, Sum

from accounts.access import EffectiveAccess
from accounts.models import User
from incidents.models import CountCell, Incident, IncidentCount, IncidentMonthCount, Release
from incidents.selectors import Purpose, counts_visible_to

# The attribute of a filter set's queryset that carries its question. Django makes a new
# queryset object for every further filter, annotation or slice, without it.
_QUESTION = "_istv_count_question"

# Dimensions (``incidents.aggregates.DIMENSIONS``) each rollup can group by: the incident
# columns the rollup keeps, under the same names.
MONTH_DIMENSIONS = frozenset({"month", "borough", "geo_class", "hospital"})
FINE_DIMENSIONS = MONTH_DIMENSIONS | {"method", "location_type"}
# Filters each rollup can apply as they are (the dates are checked separately).
MONTH_FILTERS = frozenset({"borough", "hospital", "geo_class", "release"})
FINE_FILTERS = MONTH_FILTERS | {"method", "location_type"}
DATE_FILTERS = frozenset({"assault_date_from", "assault_date_to"})

# (table, grouping columns) of each rollup, for the fill after a bulk load.
ROLLUPS: tuple[tuple[type[CountCell], tuple[str, ...]], ...] = (
    (
        IncidentCount,
        (
            "submission_id",
            "borough_code",
            "assault_month",
            "site_id",
            "method_code",
            "location_type_code",
            "geo_class",
            "geocode_status",
        ),
    ),
    (
        IncidentMonthCount,
        (
            "submission_id",
            "borough_code",
            "assault_month",
            "site_id",
            "geo_class",
            "geocode_status",
        ),
    ),
)


@dataclass(frozen=True)
class CountQuestion:
    """What an ``IncidentFilterSet``'s queryset is: who asks, for what, and its filter."""

    user: User
    access: EffectiveAccess
    purpose: Purpose
    filters: Mapping[str, Any]

    @property
    def release(self) -> Release | None:
        release = self.filters.get("release")
        return release if isinstance(release, Release) else None


def mark(queryset: QuerySet[Incident], question: CountQuestion) -> QuerySet[Incident]:
    """Attach ``question`` to exactly this queryset object (see :func:`question_of`)."""
    setattr(queryset, _QUESTION, question)
    return queryset


def question_of(queryset: QuerySet[Incident]) -> CountQuestion | None:
    """The filter set's question, if ``queryset`` is a filter set's own ``qs``."""
    question = getattr(queryset, _QUESTION, None)
    return question if isinstance(question, CountQuestion) else None


def _set(value: Any) -> bool:
    return value not in (None, "", [], (), set())


def _whole_months(filters: Mapping[str, Any]) -> bool:
    """Assault dates, if any, start on a month's first day and end on its last."""
    low, high = filters.get("assault_date_from"), filters.get("assault_date_to")
    if low is not None and low.day != 1:
        return False
    return high is None or (high + dt.timedelta(days=1)).day == 1


def rollup_for(question: CountQuestion, group_by: Sequence[str]) -> type[CountCell] | None:
    """The smallest rollup that answers ``group_by`` under the question's filter exactly,
    or None (count the rows)."""
    if not settings.INCIDENT_COUNTS_FROM_ROLLUP:
        return None
    used = {name for name, value in question.filters.items() if _set(value)}
    if used & DATE_FILTERS and not _whole_months(question.filters):
        return None
    used -= DATE_FILTERS
    dims = set(group_by)
    if used <= MONTH_FILTERS and dims <= MONTH_DIMENSIONS:
        return IncidentMonthCount
    if used <= FINE_FILTERS and dims <= FINE_DIMENSIONS:
        return IncidentCount
    return None


def _filtered(cells: QuerySet[Any], filters: Mapping[str, Any]) -> QuerySet[Any]:
    """The question's filter on rollup cells, as ``IncidentFilterSet`` applies it to rows."""
    conditions: dict[str, Any] = {}
    for name, field in (
        ("borough", "borough_code__in"),
        ("hospital", "site__site_code__in"),
        ("geo_class", "geo_class__in"),
        ("method", "method_code__in"),
        ("location_type", "location_type_code__in"),
    ):
        if _set(filters.get(name)):
            conditions[field] = sorted(filters[name])
    low, high = filters.get("assault_date_from"), filters.get("assault_date_to")
    if low is not None:
        conditions["assault_month__gte"] = low
    if high is not None:
        conditions["assault_month__lte"] = high.replace(day=1)
    return cells.filter(**conditions)


def rollup_cells(question: CountQuestion, model: type[CountCell]) -> QuerySet[Any]:
    """The cells of the question's rows: its viewer's scope (the one door's rules, from
    ``incidents.selectors``), release and filter."""
    cells = counts_visible_to(
        question.user,
        purpose=question.purpose,
        model=model,
        release=question.release,
        access=question.access,
    )
    return _filtered(cells, question.filters)


def grouped_counts(
    question: CountQuestion,
    model: type[CountCell],
    annotations: Mapping[str, Any],
    *,
    key_sum: bool,
) -> list[dict[str, Any]]:
    """Rows shaped as ``aggregate_counts`` reads them from the incident rows: the
    grouping keys, ``count`` and (with ``key_sum``) ``key_sum``, ordered by the keys."""
    keys = list(annotations)
    aggregates: dict[str, Any] = {"count": Sum("incident_count")}
    if key_sum:
        aggregates["key_sum"] = Sum("record_key_sum")
    rows = list(
        rollup_cells(question, model)
        .order_by()
        .annotate(**annotations)
        .values(*keys)
        .annotate(**aggregates)
        .order_by(*keys)
    )
    for row in rows:
        # PostgreSQL sums bigints as numeric: back to int, as the rows' counts are.
        row["count"] = int(row["count"])
        if key_sum:
            row["key_sum"] = int(row["key_sum"] or 0)
    return rows


def rollups_fill() -> None:
    """Refill both rollups from every incident row: after a bulk load that ran with the
    incident table's triggers disabled (benchmarks/queries.py), or to repair them."""
    with connection.cursor() as cursor:
        for model, columns in ROLLUPS:
            table = connection.ops.quote_name(model._meta.db_table)
            cols = ", ".join(columns)
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (names from the models)
            cursor.execute(
                f"INSERT INTO {table} ({cols}, incident_count, record_key_sum) "  # noqa: S608
                f"SELECT {cols}, count(*), sum(record_key) FROM "
                f"{connection.ops.quote_name(Incident._meta.db_table)} GROUP BY {cols}"
            )
