"""The charts page: heat map of weekday by hour and the chart tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from accounts.access import EffectiveAccess
from incidents import completeness
from incidents.aggregates import (
    GridScope,
    SparseGroupingError,
    aggregate_counts,
    needs_protection,
    time_budget,
)
from incidents.disclosure import (
    Published,
)
from incidents.models import Incident, Release
from incidents.workspace.cache import DASHBOARD_CACHE_SECONDS, access_key, data_version
from incidents.workspace.labels import code_labels
from incidents.workspace.tables import CountTable, count_table, with_every_period

# --- charts -------------------------------------------------------------------------------

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass
class HeatMap:
    """Hour (rows) x weekday (columns) counts, with a 0-5 shade class per cell."""

    rows: list[dict[str, Any]]
    note: str | None


def heat_map(
    queryset: QuerySet[Incident], access: EffectiveAccess, scope: GridScope | None = None
) -> HeatMap:
    try:
        result = aggregate_counts(
            queryset,
            ["weekday", "hour"],
            protect=needs_protection(access),
            scope=scope or GridScope(access=access),
        )
    except SparseGroupingError as refused:
        return HeatMap([], str(refused))
    cells: dict[tuple[int, int], Published] = {
        (r["weekday"], r["hour"]): r["count"] for r in result.results if r["hour"] is not None
    }
    numbers = [v for v in cells.values() if isinstance(v, int)]
    top = max(numbers) if numbers else 0
    rows = []
    for hour in range(24):
        row = []
        for weekday in range(1, 8):
            value = cells.get((weekday, hour), 0)
            shade = (
                "s"
                if not isinstance(value, int)
                else str(min(5, -(-5 * value // top)) if top else 0)
            )
            row.append({"weekday": WEEKDAY_NAMES[weekday - 1], "count": value, "shade": shade})
        rows.append({"hour": f"{hour:02d}:00", "cells": row})
    note = result.note if result.disclosure_control.get("applied") else None
    return HeatMap(rows, note)


@dataclass
class ChartTables:
    month: CountTable
    week: CountTable
    methods: CountTable
    places: CountTable
    heat: HeatMap
    # The month and week trends with incomplete months marked (never cached: the
    # months' coverage is worked out on each request, in two small queries).
    month_trend: list[completeness.TrendRow] = field(default_factory=list)
    week_trend: list[completeness.TrendRow] = field(default_factory=list)


def chart_tables(
    queryset: QuerySet[Incident],
    access: EffectiveAccess,
    applied: Mapping[str, list[str]],
    *,
    release: Release | None = None,
    today: dt.date | None = None,
    scope: GridScope | None = None,
) -> ChartTables:
    """The charts tab's five aggregates, cached per access, filter and data version.

    The figures are a pure function of those three (the filter is already validated and
    normalised by ``applied()``), so two analysts with the same access asking the same
    question share one computation, and a publication starts a new version. The trends
    are then marked with each month's coverage (of ``release`` when one is pinned, and of
    the hospitals the filter names, if any).
    """
    with time_budget():  # one budget for the page's five tables
        tables = _chart_tables(queryset, access, applied, scope or GridScope(access=access))
    months = {completeness.month_start_of(r.key) for r in tables.month.rows}
    for row in tables.week.rows:
        months.update(completeness.week_months(str(row.key)))
    coverage = completeness.month_coverage(
        [m for m in months if m is not None],
        today=today,
        release=release,
        site_codes=applied.get("hospital"),
    )
    tables.month_trend = completeness.month_rows(
        ((str(r.key), r.label, r.count) for r in tables.month.rows), coverage
    )
    tables.week_trend = completeness.week_rows(
        ((str(r.key), r.label, r.count) for r in tables.week.rows), coverage
    )
    return tables


def _chart_tables(
    queryset: QuerySet[Incident],
    access: EffectiveAccess,
    applied: Mapping[str, list[str]],
    scope: GridScope,
) -> ChartTables:
    filter_key = hashlib.sha256(json.dumps(applied, sort_keys=True).encode()).hexdigest()[:32]
    key = f"incidents:charts:{access_key(access)}:{filter_key}:{data_version()}"
    cached = cache.get(key)
    if isinstance(cached, ChartTables):
        return cached
    labels = code_labels()
    tables = ChartTables(
        month=with_every_period(
            count_table(queryset, "month", title="Incidents per month", access=access, scope=scope),
            scope,
        ),
        week=with_every_period(
            count_table(queryset, "week", title="Incidents per week", access=access, scope=scope),
            scope,
        ),
        methods=count_table(
            queryset,
            "method",
            title="By assault method",
            access=access,
            labels=labels.get("method", {}),
            order_by_count=True,
            scope=scope,
        ),
        places=count_table(
            queryset,
            "location_type",
            title="By location type",
            access=access,
            labels=labels.get("location_type", {}),
            order_by_count=True,
            scope=scope,
        ),
        heat=heat_map(queryset, access, scope),
    )
    cache.set(key, tables, DASHBOARD_CACHE_SECONDS)
    return tables
