"""Counts of incidents grouped by up to three dimensions, with disclosure control.

One SQL query (``values(*dims).annotate(count=Count("id"))``) over a queryset that
already went through the scoping chokepoint and the filter set; then, for aggregate-level
users and for every output marked aggregate, disclosure control from
``incidents/disclosure.py`` (1-7 → ``"*"``, others rounded to 5, secondary suppression)
with its note.

Use::

    fs = IncidentFilterSet(params, user=user)             # records=False: counts only
    result = aggregate_counts(fs.qs, ["borough", "month"], protect=needs_protection(access))
    result.results            # [{"borough": "E09000028", "month": "2025-01", "count": 10}, ...]
    result.disclosure_control  # {"applied": True, ..., "note": "..."} or {"applied": False}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, QuerySet
from django.db.models.functions import TruncWeek

from accounts.access import EffectiveAccess
from incidents.disclosure import DisclosurePolicy, Published, protect_groups
from incidents.models import Incident

MAX_DIMENSIONS = 3


def _month(value: dt.date | None) -> str | None:
    return value.strftime("%Y-%m") if value is not None else None


def _date(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def _text(value: Any) -> Any:
    return value if value not in ("", None) else None


# The bucket that grouping by an area (borough, ward, LSOA) puts incidents without a
# place at that level in: home, vague, unknown, abroad, outside London, a chain without
# a place. They are counted, never dropped; disclosure control treats the bucket like any
# other cell.
NOT_LOCATED = "not_located"


def _area(value: Any) -> Any:
    return value if value not in ("", None) else NOT_LOCATED


# The location classes the geocoder gives (``incidents.geocoding.classify``), with labels.
# ``awaiting`` is the class of rows still awaiting geocoding (no class yet): they are in
# nobody's rows or counts until placed or classed (incidents/selectors.py).
GEO_CLASSES: dict[str, str] = {
    "place": "Place",
    "home": "Home",
    "vague": "Vague",
    "unknown": "Unknown",
    "abroad": "Abroad",
    "outside_london": "Outside London",
    "chain_without_place": "Chain without a place",
    "awaiting": "Awaiting geocoding",
}


def _geo_class(value: Any) -> Any:
    return value if value not in ("", None) else "awaiting"


@dataclass(frozen=True)
class Dimension:
    """A group-by dimension: the SQL expression and how its value is shown."""

    name: str
    label: str
    expression: Any
    show: Callable[[Any], Any] = _text


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("month", "Month of the assault (YYYY-MM)", F("assault_month"), _month),
        Dimension(
            "week", "Week of the assault (date of its Monday)", TruncWeek("assault_date"), _date
        ),
        Dimension("weekday", "Weekday of the assault (1 = Monday)", F("assault_weekday")),
        Dimension("hour", "Hour of the assault (0-23; null when unknown)", F("assault_hour")),
        Dimension(
            "borough", 'Borough (GSS code; "not_located" without a place)', F("borough_code"), _area
        ),
        Dimension("ward", 'Ward (GSS code; "not_located" without a place)', F("ward_code"), _area),
        Dimension(
            "lsoa", 'LSOA 2021 (GSS code; "not_located" without a place)', F("lsoa_code"), _area
        ),
        Dimension(
            "geo_class",
            "Location class (place, home, vague, unknown, abroad, outside_london, "
            "chain_without_place)",
            F("geo_class"),
            _geo_class,
        ),
        Dimension("hospital", "Hospital site (ODS code)", F("site__site_code")),
        Dimension("method", "Assault method (harmonised code)", F("method_code")),
        Dimension("location_type", "Location type (harmonised code)", F("location_type_code")),
        Dimension("precision", "Geocode precision", F("geo_precision")),
    )
}


class GroupByError(ValueError):
    """The requested grouping is not allowed (unknown, repeated or too many dimensions)."""


def parse_group_by(raw: str | Sequence[str]) -> list[str]:
    """``"borough,month"`` (or a list) → validated dimension names, in order."""
    parts = raw.split(",") if isinstance(raw, str) else [p for item in raw for p in item.split(",")]
    names = [p.strip() for p in parts if p.strip()]
    if not names:
        raise GroupByError("group_by needs at least one dimension.")
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise GroupByError(f"Unknown dimension; choose from: {', '.join(DIMENSIONS)}.")
    if len(set(names)) != len(names):
        raise GroupByError("Each dimension may appear once.")
    if len(names) > MAX_DIMENSIONS:
        raise GroupByError(f"At most {MAX_DIMENSIONS} dimensions.")
    return names


def needs_protection(access: EffectiveAccess) -> bool:
    """Disclosure control applies unless the user is record level in every visible borough."""
    return not access.record_level


@dataclass(frozen=True)
class AggregateResult:
    group_by: list[str]
    results: list[dict[str, Any]]
    total: Published
    disclosure_control: dict[str, Any]

    @property
    def note(self) -> str | None:
        note = self.disclosure_control.get("note")
        return str(note) if note else None


NOT_APPLIED: dict[str, Any] = {
    "applied": False,
    "note": "Unrounded counts: your access is record level, so no disclosure control applies.",
}


def aggregate_counts(
    queryset: QuerySet[Incident],
    group_by: Sequence[str],
    *,
    protect: bool,
    policy: DisclosurePolicy | None = None,
) -> AggregateResult:
    """Count ``queryset`` grouped by ``group_by`` (names from ``DIMENSIONS``), in one query.

    ``protect`` applies disclosure control; pass ``needs_protection(access)``, or ``True``
    for any output marked aggregate (published tables, monitoring reports).
    """
    dims = [DIMENSIONS[name] for name in group_by]
    annotations = {f"_g_{d.name}": d.expression for d in dims}
    keys = list(annotations)
    rows = (
        queryset.order_by()
        .annotate(**annotations)
        .values(*keys)
        .annotate(count=Count("*"))
        .order_by(*keys)
    )
    results = [
        {**{d.name: d.show(row[f"_g_{d.name}"]) for d in dims}, "count": row["count"]}
        for row in rows
    ]
    if not protect:
        return AggregateResult(
            list(group_by), results, sum(r["count"] for r in results), dict(NOT_APPLIED)
        )
    protected = protect_groups(results, list(group_by), policy=policy)
    return AggregateResult(
        list(group_by), protected.results, protected.total, protected.disclosure_control()
    )
