"""Count tables for the workspace pages, through the one disclosure-controlled
aggregation (``incidents.aggregates.aggregate_counts``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import QuerySet

from accounts.access import EffectiveAccess
from incidents.aggregates import (
    GEO_CLASSES,
    NOT_LOCATED,
    AggregateResult,
    GridScope,
    SparseGroupingError,
    aggregate_counts,
    needs_protection,
    timeline,
)
from incidents.disclosure import (
    Published,
    suppression_reason,
)
from incidents.models import Incident

# --- aggregate tables ---------------------------------------------------------------------


@dataclass(frozen=True)
class CountRow:
    key: Any
    label: str
    count: Published

    @property
    def suppressed(self) -> str | None:
        """Why the count is hidden ("small_count"), or None: the same reason the API and
        the count downloads give for the same cell."""
        return suppression_reason(self.count)


@dataclass
class CountTable:
    """A one-dimensional table of (protected) counts, ready for a page or a chart."""

    title: str
    dimension: str
    rows: list[CountRow]
    total: Published
    note: str | None
    protected: bool
    refused: bool = False  # too sparse to publish: ``note`` says why, no rows

    def as_chart(self) -> dict[str, Any]:
        """Labels and values for Chart.js (suppressed cells are drawn as gaps)."""
        return {
            "title": self.title,
            "labels": [r.label for r in self.rows],
            "values": [r.count if isinstance(r.count, int) else None for r in self.rows],
            "suppressed": [r.suppressed for r in self.rows],
        }


def count_table(
    queryset: QuerySet[Incident],
    dimension: str,
    *,
    title: str,
    access: EffectiveAccess,
    labels: Mapping[Any, str] | None = None,
    order_by_count: bool = False,
    limit: int | None = None,
    scope: GridScope | None = None,
    refuse_sparse: bool = True,
) -> CountTable:
    """Counts of ``queryset`` by one dimension, protected for aggregate-level users (over
    the full grid of ``scope``). A grouping refused as too sparse gives an empty table
    whose note says so, with the published total."""
    try:
        result = aggregate_counts(
            queryset,
            [dimension],
            protect=needs_protection(access),
            scope=scope or GridScope(access=access),
            refuse_sparse=refuse_sparse,
        )
    except SparseGroupingError as refusal:
        return CountTable(title, dimension, [], refusal.total, str(refusal), True, refused=True)
    return table_of(result, dimension, title, labels or {}, order_by_count, limit)


def with_every_period(table: CountTable, scope: GridScope) -> CountTable:
    """A month or week table with a row for every period of the scope's range.

    A protected table already has one (its grid); an unprotected one lists only the
    periods with incidents, so the missing ones are added as 0 (a true count, shown to a
    record-level user only). A trend never silently starts late or skips a period.
    """
    if table.protected or table.refused or table.dimension not in ("month", "week"):
        return table
    found = {r.key: r for r in table.rows}
    keys = timeline(table.dimension, scope)
    listed = set(keys)
    rows = [found.get(k) or CountRow(k, str(k), 0) for k in keys]
    rows += [r for r in table.rows if r.key not in listed]
    return replace(table, rows=rows)


def table_of(
    result: AggregateResult,
    dimension: str,
    title: str,
    labels: Mapping[Any, str],
    order_by_count: bool,
    limit: int | None,
) -> CountTable:
    defaults = GEO_CLASSES if dimension == "geo_class" else {NOT_LOCATED: "Not located"}
    labels = {**defaults, **labels}
    rows = [
        CountRow(
            r[dimension], labels.get(r[dimension], str(r[dimension] or "Not recorded")), r["count"]
        )
        for r in result.results
    ]
    if order_by_count:
        # Suppressed cells sort last: their order would otherwise hint at their size.
        rows.sort(
            key=lambda r: (
                not isinstance(r.count, int),
                -(r.count if isinstance(r.count, int) else 0),
                r.label,
            )
        )
    if limit is not None:
        rows = rows[:limit]
    return CountTable(
        title=title,
        dimension=dimension,
        rows=rows,
        total=result.total,
        note=result.note if result.disclosure_control.get("applied") else None,
        protected=bool(result.disclosure_control.get("applied")),
    )
