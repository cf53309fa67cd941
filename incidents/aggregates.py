"""Counts of incidents grouped by up to three dimensions, with disclosure control.

One SQL query (``values(*dims).annotate(count=Count("id"))``) over a queryset that
already went through the one door (``visible_to``) and the filter set, under a time budget;
then, for aggregate-level users and for every output marked aggregate, the full grid of
the viewer's scope with every count published by the cell-key method
(``incidents/disclosure.py``: 0-7 → ``"*"``, others perturbed and rounded to 5) and its
note, or a refusal when the grid is too large or too sparse to publish.

Use::

    fs = IncidentFilterSet(params, user=user)             # Purpose.COUNTS: counts only
    result = aggregate_counts(
        fs.qs, ["borough", "month"], protect=needs_protection(fs.access), scope=GridScope.of(fs)
    )
    result.results            # [{"borough": "E09000028", "month": "2025-01", "count": 10,
                              #   "suppressed": None}, ...] ("suppressed": "small_count" on "*")
    result.disclosure_control  # {"applied": True, ..., "note": "..."} or {"applied": False}
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncWeek

from accounts.access import EffectiveAccess
from accounts.geography import LONDON_BOROUGHS
from hospitals.models import HospitalSite
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    cell_key_note,
    publish_cell,
    suppression_reason,
)
from incidents.geocoding.geocoder import PRECISIONS
from incidents.geocoding.models import Area
from incidents.models import HarmonisedCode, Incident
from incidents.rollup import grouped_counts, question_of, rollup_for
from incidents.selectors import months_on_record
from istv_portal.periods import months_between

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


@dataclass(frozen=True)
class GridScope:
    """What the full grid of a protected answer ranges over.

    An aggregate-level user must learn nothing from *which* groups an answer lists, so a
    protected answer lists every group of the requested dimensions within the viewer's
    scope and filter, zeros included (and shown like small counts). ``access`` is the
    viewer's (``None``: London-wide, for published reports); ``filters`` the filter
    set's cleaned data, which narrows the grid where it names values (boroughs,
    hospitals, codes, dates).
    """

    access: EffectiveAccess | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    # The assault dates the data spans, looked up once per scope (several tables of one
    # page share a scope).
    _seen_dates: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, fs: Any) -> GridScope:
        """The scope of a validated ``IncidentFilterSet``."""
        return cls(access=fs.access, filters=fs.form.cleaned_data if fs.is_valid() else {})


class SparseGroupingError(GroupByError):
    """A protected grouping refused up front: too many groups, or too few incidents per
    group, so the answer would be mostly suppressed (and costly to compute)."""

    def __init__(self, message: str, *, cells: int, total: Published) -> None:
        super().__init__(message)
        self.cells = cells
        self.total = total


class AggregateTimeout(Exception):
    """The aggregate query ran past its time budget (``AGGREGATE_TIME_BUDGET_MS``)."""


def _listed(filters: Mapping[str, Any], name: str) -> list[Any]:
    value = filters.get(name)
    return list(value) if value else []


def _date_bounds(scope: GridScope) -> tuple[dt.date, dt.date] | None:
    """The assault dates the grid spans: the filter's range, completed with the first and
    last months of the whole table. Never from the rows the question selects: a grid
    that ended at the last incident in someone's filter would date that incident. (The
    table's own extent says nothing about any group; its first and last months are the
    two ends of an index, so this costs nothing.)"""
    filters = scope.filters
    low, high = filters.get("assault_date_from"), filters.get("assault_date_to")
    if low is None or high is None:
        seen = scope._seen_dates
        if not seen:
            seen["first"], seen["last"] = months_on_record()
        if seen["first"] is None:
            return None
        low = low or seen["first"]
        high = high or (seen["last"] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return (low, high) if low <= high else None


def _domain(name: str, scope: GridScope, bounds: Any) -> list[Any]:
    """Every value dimension ``name`` can take within the scope, as the answer shows it."""
    access, filters = scope.access, scope.filters
    unlocated = access is None or bool(access.unlocated)
    if name in ("month", "week"):
        if bounds is None:
            return []
        if name == "month":
            return [_month(m) for m in months_between(*bounds)]
        monday = bounds[0] - dt.timedelta(days=bounds[0].weekday())
        weeks = []
        while monday <= bounds[1]:
            weeks.append(monday.isoformat())
            monday += dt.timedelta(days=7)
        return weeks
    if name == "weekday":
        return sorted({int(v) for v in _listed(filters, "weekday")}) or list(range(1, 8))
    if name == "hour":
        return [*range(24), None]
    boroughs = set(LONDON_BOROUGHS) if access is None else set(access.boroughs)
    chosen = _listed(filters, "borough")
    if chosen:
        boroughs &= set(chosen)
    if name == "borough":
        return [*sorted(boroughs), *([NOT_LOCATED] if unlocated and not chosen else [])]
    if name in ("ward", "lsoa"):
        kind = Area.Kind.WARD if name == "ward" else Area.Kind.LSOA
        codes = Area.objects.filter(kind=kind, parent_code__in=sorted(boroughs))
        if _listed(filters, name):
            codes = codes.filter(code__in=_listed(filters, name))
        return [
            *codes.order_by("code").values_list("code", flat=True),
            *([NOT_LOCATED] if unlocated and not chosen and not _listed(filters, name) else []),
        ]
    if name == "hospital":
        sites = HospitalSite.objects.order_by("site_code")
        if _listed(filters, "hospital"):
            sites = sites.filter(site_code__in=_listed(filters, "hospital"))
        return list(sites.values_list("site_code", flat=True))
    if name in ("method", "location_type"):
        code_kind = (
            HarmonisedCode.Kind.METHOD if name == "method" else HarmonisedCode.Kind.LOCATION_TYPE
        )
        code_list = HarmonisedCode.objects.filter(kind=code_kind).order_by("code")
        if _listed(filters, name):
            code_list = code_list.filter(code__in=_listed(filters, name))
        return list(code_list.values_list("code", flat=True))
    if name == "precision":
        return [*PRECISIONS, None]
    if name == "geo_class":
        classes = [c for c in GEO_CLASSES if c != "awaiting" and (unlocated or c == "place")]
        chosen_classes = _listed(filters, "geo_class")
        return [c for c in classes if c in chosen_classes] if chosen_classes else classes
    raise GroupByError(f"Unknown dimension {name!r}.")


def timeline(name: str, scope: GridScope) -> list[Any]:
    """Every month (``"YYYY-MM"``) or week (its Monday) of the scope's date range, as a
    protected grid spans it: the points a trend must show, so that a period with nothing
    in it is a 0 and never a missing row, for record-level users too."""
    if name not in ("month", "week"):
        raise GroupByError(f"{name!r} is not a period.")
    return _domain(name, scope, _date_bounds(scope))


def _grid(group_by: Sequence[str], scope: GridScope) -> list[tuple[Any, ...]]:
    """The full grid of the requested dimensions within the scope, or a refusal when it
    has more than ``DISCLOSURE_MAX_CELLS`` groups (checked before anything is counted)."""
    if scope.access is not None and not scope.access.has_data_access:
        return []  # no data access: nothing to list, not even empty groups
    timed = [name for name in group_by if name in ("month", "week")]
    # The other dimensions first: a grid already too large is refused before the data's
    # dates are looked up.
    other = {name: _domain(name, scope, None) for name in group_by if name not in timed}
    cells = math.prod(len(d) for d in other.values())
    if timed and cells <= settings.DISCLOSURE_MAX_CELLS:
        bounds = _date_bounds(scope)
        other.update({name: _domain(name, scope, bounds) for name in timed})
        cells = math.prod(len(d) for d in other.values())
    if cells > settings.DISCLOSURE_MAX_CELLS:
        raise SparseGroupingError(
            f"This grouping has {cells:,} groups, more than the {settings.DISCLOSURE_MAX_CELLS:,} "
            "an aggregate answer may have. Choose fewer dimensions, a coarser area "
            "(borough instead of ward or LSOA) or time (month instead of week), or a "
            "shorter period.",
            cells=cells,
            total=SUPPRESSED,
        )
    return list(itertools.product(*(other[name] for name in group_by)))


_budget = threading.local()


@contextmanager
def time_budget() -> Iterator[None]:
    """Run the enclosed queries under ``AGGREGATE_TIME_BUDGET_MS`` (PostgreSQL's
    ``statement_timeout``, for this transaction only): no aggregate request can hold a
    worker for its whole timeout. Re-entrant: a page that counts several tables sets the
    budget once around all of them."""
    if getattr(_budget, "active", False):
        yield
        return
    # A setting made for the transaction lapses when it ends: only inside a caller's
    # transaction must the previous value be put back (one round trip fewer otherwise).
    restore = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), "
            "set_config('statement_timeout', %s, true)",
            [str(settings.AGGREGATE_TIME_BUDGET_MS)],
        )
        previous = cursor.fetchone()[0]
        _budget.active = True
        try:
            yield
        except OperationalError as exc:
            if getattr(getattr(exc, "__cause__", None), "sqlstate", None) == "57014":
                raise AggregateTimeout(
                    "This question took too long to answer. Narrow the filter (a shorter "
                    "period, fewer areas) or group by fewer dimensions."
                ) from None
            raise
        else:
            if restore:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
        finally:
            _budget.active = False


def aggregate_counts(
    queryset: QuerySet[Incident],
    group_by: Sequence[str],
    *,
    protect: bool,
    scope: GridScope | None = None,
    refuse_sparse: bool = True,
    policy: DisclosurePolicy | None = None,
) -> AggregateResult:
    """Count ``queryset`` grouped by ``group_by`` (names from ``DIMENSIONS``), in one query.

    ``protect`` applies disclosure control; pass ``needs_protection(access)``, or ``True``
    for any output marked aggregate (published tables, monitoring reports). A protected
    answer is the full grid of ``scope`` (London-wide when not given), each count
    published by the cell-key method (incidents/disclosure.py). With ``refuse_sparse``
    (every user-driven query) a grid of more than ``DISCLOSURE_MAX_CELLS`` groups, or
    with fewer than ``DISCLOSURE_MIN_CELL_MEAN`` incidents per group on the published
    total, raises :class:`SparseGroupingError`. Every query runs under the time budget
    (:class:`AggregateTimeout`).
    """
    dims = [DIMENSIONS[name] for name in group_by]
    annotations = {f"_g_{d.name}": d.expression for d in dims}
    grid = _grid(group_by, scope or GridScope()) if protect else None
    with time_budget():
        rows = _grouped_rows(queryset, group_by, annotations, key_sum=protect)
    results = [
        {**{d.name: d.show(row[f"_g_{d.name}"]) for d in dims}, "count": row["count"]}
        for row in rows
    ]
    if not protect or grid is None:
        return AggregateResult(
            list(group_by), results, sum(r["count"] for r in results), dict(NOT_APPLIED)
        )
    policy = policy or DisclosurePolicy.from_settings()
    found = {
        tuple(r[name] for name in group_by): (r["count"], row["key_sum"] or 0)
        for r, row in zip(results, rows, strict=True)
    }
    # A group outside the expected grid (a code missing from the reference lists) is
    # listed too: leaving it out would make the total disagree with the groups.
    expected = set(grid)
    cells = grid + sorted((k for k in found if k not in expected), key=repr)
    count = sum(c for c, _ in found.values())
    total = publish_cell(count, sum(k for _, k in found.values()), policy)
    mean = (total if isinstance(total, int) else 0) / max(len(cells), 1)
    if refuse_sparse and len(cells) > 1 and mean < settings.DISCLOSURE_MIN_CELL_MEAN:
        raise SparseGroupingError(
            f"Too few incidents for this grouping: {len(cells):,} groups for "
            f"{'a handful of' if total == SUPPRESSED else f'about {total:,}'} incidents, "
            "so most groups would be hidden. Choose fewer dimensions, a coarser area or "
            "time, or a longer period.",
            cells=len(cells),
            total=total,
        )
    # Every row of a protected answer has the same keys, hidden or shown: ``suppressed``
    # is the reason a cell is "*" (the same for every hidden cell) or None.
    published: list[dict[str, Any]] = []
    for key in cells:
        value = publish_cell(*found.get(key, (0, 0)), policy)
        published.append(
            {
                **dict(zip(group_by, key, strict=True)),
                "count": value,
                "suppressed": suppression_reason(value),
            }
        )
    control = {
        "applied": True,
        "method": "cell-key",
        "suppressed_up_to": policy.suppress_max,
        "rounded_to": policy.round_to,
        "perturbation_max": policy.perturbation_max,
        "secondary_suppressions": 0,
        "note": cell_key_note(policy),
    }
    return AggregateResult(list(group_by), published, total, control)


def _grouped_rows(
    queryset: QuerySet[Incident],
    group_by: Sequence[str],
    annotations: Mapping[str, Any],
    *,
    key_sum: bool,
) -> list[dict[str, Any]]:
    """The grouped counts (and key sums) of ``queryset``, from a rollup when the question
    behind it allows (incidents/rollup.py: the same answer, from far fewer rows), else
    from the incident rows."""
    question = question_of(queryset)
    model = rollup_for(question, group_by) if question is not None else None
    if question is not None and model is not None:
        return grouped_counts(question, model, annotations, key_sum=key_sum)
    keys = list(annotations)
    aggregates: dict[str, Any] = {"count": Count("*")}
    if key_sum:
        aggregates["key_sum"] = Sum("record_key")
    return list(
        queryset.order_by()
        .annotate(**annotations)
        .values(*keys)
        .annotate(**aggregates)
        .order_by(*keys)
    )


def filter_set_counts(fs: Any, group_by: Sequence[str]) -> AggregateResult:
    """Grouped counts of a validated ``IncidentFilterSet`` for its viewer: protected unless
    record level everywhere, over the grid of the viewer's scope and filter. The one
    question the API's counts (``incidents.api.views``) and the download page's check
    before handing off to them (``incidents.views.downloads``) both ask."""
    assert fs.access is not None
    return aggregate_counts(
        fs.qs, group_by, protect=needs_protection(fs.access), scope=GridScope.of(fs)
    )
