"""Scoped reads behind the workspace pages (dashboard, explore, charts, map, transparency).

Everything here starts from the one filter set (``incidents.filters.IncidentFilterSet``),
which itself starts from the scoping chokepoint (``incidents.selectors.visible_to``), and
counts through ``incidents.aggregates.aggregate_counts`` so that aggregate-level users
get disclosure control exactly as on the API. Record rows are masked per grant by
``incidents.masking.Masker`` before any page sees them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from accounts.access import EffectiveAccess
from accounts.audit.models import Action, AuditEvent
from accounts.geography import LONDON_BOROUGHS
from accounts.models import Membership, User
from hospitals.models import HospitalSite, Submission
from incidents import completeness
from incidents.aggregates import (
    GEO_CLASSES,
    NOT_LOCATED,
    AggregateResult,
    GridScope,
    SparseGroupingError,
    aggregate_counts,
    needs_protection,
    time_budget,
)
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    percentage,
    publish_cell,
)
from incidents.filters import IncidentFilterSet
from incidents.geocoding.models import Area
from incidents.masking import RAW_FIELDS, Masker
from incidents.models import HarmonisedCode, Incident, Release
from incidents.selectors import awaiting_geocode

PAGE_SIZE = 50


# --- sorting and keyset pagination -------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """A sortable column of the results table: the URL value, its label and its column."""

    name: str
    label: str
    column: str


# The allow-list: only these columns can be sorted on (each is indexed or cheap to sort
# within a filtered set; ``id`` breaks ties so the order is total and keyset-safe).
SORT_KEYS: dict[str, SortKey] = {
    s.name: s
    for s in (
        SortKey("date", "Assault date and time", "assault_at"),
        SortKey("hospital", "Hospital", "site__site_code"),
        SortKey("borough", "Borough", "borough_code"),
        SortKey("method", "Method", "method_code"),
        SortKey("location_type", "Location type", "location_type_code"),
    )
}
DEFAULT_SORT = "-date"


@dataclass(frozen=True)
class Sort:
    key: SortKey
    descending: bool

    @classmethod
    def parse(cls, raw: str | None) -> Sort:
        """``"-date"`` → newest first; anything not on the allow-list → the default."""
        text = (raw or DEFAULT_SORT).strip()
        descending = text.startswith("-")
        key = SORT_KEYS.get(text.lstrip("-"))
        if key is None:
            return cls(SORT_KEYS["date"], True)
        return cls(key, descending)

    @property
    def value(self) -> str:
        return f"{'-' if self.descending else ''}{self.key.name}"


class CursorError(ValueError):
    """A cursor that cannot be decoded (answered as the first page)."""


def encode_cursor(value: Any, pk: int) -> str:
    text = value.isoformat() if isinstance(value, dt.datetime) else value
    raw = json.dumps([text, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(pk, int) or not isinstance(value, str):
            raise ValueError
        if sort.key.column == "assault_at":
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise CursorError("Invalid cursor.") from None
    return value, pk


@dataclass
class Page:
    """One page of masked rows, and the cursors of its neighbours (``None`` at an end)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    previous_cursor: str | None


def keyset_page(
    queryset: QuerySet[Incident],
    masker: Masker,
    *,
    sort: Sort,
    after: str | None = None,
    before: str | None = None,
    size: int | None = None,
) -> Page:
    """A page of ``queryset`` in ``sort`` order after (or before) a cursor, in one query.

    The cursor is the (sort value, id) of the row at the page edge: it positions the read
    inside a queryset already scoped to the viewer, so a forged one can skip rows but
    never reveal any. Costs the same on the thousandth page as on the first.
    """
    size = size or PAGE_SIZE
    column = sort.key.column
    backwards = before is not None and after is None
    cursor = before if backwards else after
    # Reading backwards walks the opposite order, then the page is turned round.
    descending = sort.descending != backwards
    if cursor:
        try:
            value, pk = decode_cursor(cursor, sort)
        except CursorError:
            cursor, backwards, descending = None, False, sort.descending
        else:
            op = "lt" if descending else "gt"
            queryset = queryset.filter(
                Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"id__{op}": pk})
            )
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    fields = tuple(dict.fromkeys((*RAW_FIELDS, column)))
    rows = list(queryset.order_by(*order).values(*fields)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_previous = (more and backwards) or (bool(cursor) and not backwards and bool(rows))
    masked = []
    for row in rows:
        out = masker.mask(row)
        if out is not None:
            out["_sort"] = row[column]
            masked.append(out)
    next_cursor = (
        encode_cursor(masked[-1]["_sort"], masked[-1]["id"]) if has_next and masked else None
    )
    previous_cursor = (
        encode_cursor(masked[0]["_sort"], masked[0]["id"]) if has_previous and masked else None
    )
    return Page(masked, next_cursor, previous_cursor)


# --- code labels --------------------------------------------------------------------------


def code_labels() -> dict[str, dict[str, str]]:
    """Harmonised code → label, per kind (one small query)."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, code, label in HarmonisedCode.objects.values_list("kind", "code", "label"):
        labels[kind][code] = label
    return dict(labels)


def code_choices(kind: str) -> list[tuple[str, str]]:
    return list(
        HarmonisedCode.objects.filter(kind=kind, is_active=True)
        .order_by("sort_order", "label")
        .values_list("code", "label")
    )


def borough_name(code: str | None) -> str:
    return LONDON_BOROUGHS.get(code or "", code or "Unknown")


# --- aggregate tables ---------------------------------------------------------------------


@dataclass(frozen=True)
class CountRow:
    key: Any
    label: str
    count: Published


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
    return _table(result, dimension, title, labels or {}, order_by_count, limit)


def _table(
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


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def last_complete_month(today: dt.date | None = None) -> dt.date:
    return add_months(month_start(today or timezone.localdate()), -1)


@dataclass(frozen=True)
class Share:
    """A share of the dashboard's incidents (at home, not located), from published figures.

    ``percent`` is None whenever a percentage must not or cannot be given (the part or
    the whole suppressed, nothing to divide by, outside the viewer's access); ``text``
    then says why in words.
    """

    key: str
    label: str
    count: Published | None
    total: Published | None
    percent: float | None
    text: str
    detail: str = ""  # with a percentage: "6 of 43 incidents"


@dataclass
class Dashboard:
    month: dt.date
    month_count: Published
    year_before: dt.date
    year_before_count: Published
    change: float | None
    trend: CountTable
    top_boroughs: CountTable
    methods: CountTable
    location_types: CountTable
    freshness: list[dict[str, Any]]
    note: str | None = None
    notes: list[str] = field(default_factory=list)
    # Whether the month and its base month a year before are complete, and the
    # comparison in words (a percentage only when both are complete and comparable).
    month_coverage: completeness.MonthCoverage | None = None
    year_before_coverage: completeness.MonthCoverage | None = None
    comparison: str = ""
    # The 24-month trend with incomplete months marked, and its chart data.
    trend_rows: list[completeness.TrendRow] = field(default_factory=list)
    trend_chart: dict[str, Any] = field(default_factory=dict)
    trend_note: str = ""
    shares: list[Share] = field(default_factory=list)


DASHBOARD_CACHE_SECONDS = 600
# Part of the dashboard's cache key: bump it when ``Dashboard`` changes shape, so a new
# release never serves a board cached by the previous one.
DASHBOARD_CACHE_VERSION = 2


DATA_GENERATION_KEY = "incidents:data-generation"


def data_version() -> str:
    """Changes whenever published data or releases change (one query), or when published
    rows are changed in place (``incident_rows_changed``)."""
    stats = Submission.objects.filter(status=Submission.Status.PUBLISHED).aggregate(
        n=Count("id"), last=Max("id"), at=Max("published_at")
    )
    generation = cache.get(DATA_GENERATION_KEY, 0)
    return f"{stats['n']}-{stats['last']}-{stats['at']}-{generation}"


def incident_rows_changed() -> None:
    """Say that incident rows changed without a publication (a geocode retry, a review
    decision re-geocoding rows), so cached dashboards and charts are not served stale.
    Call it after the change has committed."""
    try:
        cache.incr(DATA_GENERATION_KEY)
    except ValueError:  # not set yet (or evicted)
        cache.set(DATA_GENERATION_KEY, 1, None)


def access_key(access: EffectiveAccess) -> str:
    """A digest of everything in ``access`` that can change what a page shows."""
    parts = [
        sorted(access.boroughs),
        sorted(access.record_boroughs),
        sorted(access.download_boroughs),
        sorted(access.free_text_boroughs),
        list(access.precisions),
        sorted(access.unlocated),
        sorted(access.unlocated_record),
        sorted(access.unlocated_download),
        sorted(access.unlocated_free_text),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def dashboard_months(today: dt.date | None = None) -> list[dt.date]:
    """The dashboard's 24 months, oldest first, ending with the last calendar month."""
    month = last_complete_month(today)
    return [add_months(month, i - 23) for i in range(24)]


def dashboard_cached(
    base: QuerySet[Incident], access: EffectiveAccess, *, today: dt.date | None = None
) -> Dashboard:
    """The dashboard, cached per access and data version: everyone with the same access
    sees the same figures, and any publication changes the version (so the key). The
    months' coverage is part of the key too, so a change to the hospital registry (a
    site opening or closing) shows at once."""
    month = last_complete_month(today)
    coverage = completeness.month_coverage(dashboard_months(today), today=today)
    digest = hashlib.sha256(
        json.dumps(
            [[m.isoformat(), c.expected, c.received, c.published] for m, c in coverage.items()]
        ).encode()
    ).hexdigest()[:16]
    key = (
        f"incidents:dashboard:v{DASHBOARD_CACHE_VERSION}:{access_key(access)}:{month:%Y%m}:"
        f"{data_version()}:{digest}"
    )
    cached = cache.get(key)
    if isinstance(cached, Dashboard):
        return cached
    with time_budget():
        board = dashboard(base, access, today=today, coverage=coverage)
    cache.set(key, board, DASHBOARD_CACHE_SECONDS)
    return board


def year_on_year(
    current: Published,
    previous: Published,
    month: completeness.MonthCoverage,
    base: completeness.MonthCoverage,
    *,
    policy: DisclosurePolicy | None = None,
) -> tuple[float | None, str]:
    """The change on the same month a year before, as (percentage or None, words).

    A percentage only when both months are complete, neither count is suppressed and the
    base is not zero; otherwise the words say which of those stops the comparison.
    """
    name, base_name = f"{month.month:%B %Y}", f"{base.month:%B %Y}"
    if month.status == completeness.NO_DATA:
        return None, f"No data for {name} yet, so no comparison with {base_name}."
    if not month.complete:
        return None, f"{month.sentence()} No comparison with {base_name} until it is complete."
    if base.status == completeness.NO_DATA:
        return None, f"No data for {base_name} to compare with."
    if not base.complete:
        return None, base.sentence()
    if current == SUPPRESSED or previous == SUPPRESSED:
        limit = (policy or DisclosurePolicy.from_settings()).suppress_max
        return None, (
            f"Too few incidents to compare with {base_name} "
            f"(counts of 1\u2013{limit} are suppressed)."
        )
    assert isinstance(current, int) and isinstance(previous, int)
    if not previous:
        return None, f"No incidents in {base_name} to compare with."
    change = round(100 * (current - previous) / previous, 1)
    return change, f"{'+' if change > 0 else ''}{change}% on {base_name}."


SHARE_PERIOD = "in the last 12 months"


def location_shares(
    by_borough: AggregateResult,
    by_class: AggregateResult,
    access: EffectiveAccess,
    *,
    policy: DisclosurePolicy | None = None,
) -> list[Share]:
    """The shares of incidents at home and not located, from the published counts.

    ``by_borough`` and ``by_class`` are the dashboard's counts of one scoped set by
    borough and by location class, protected exactly as the viewer's tables are: for an
    aggregate-level viewer the part and the whole are the published (suppressed or
    rounded) figures and the percentage is worked out from those, as the disclosure rule
    says. A suppressed part gives words, never a percentage.
    """
    policy = policy or DisclosurePolicy.from_settings()
    protected = bool(by_borough.disclosure_control.get("applied"))
    total = by_borough.total
    home = next((r["count"] for r in by_class.results if r["geo_class"] == "home"), 0)
    not_located = next((r["count"] for r in by_borough.results if r["borough"] == NOT_LOCATED), 0)
    shares = []
    for key, label, what, count in (
        ("home", "At home", "at home", home),
        ("not_located", "Not located", "with no place in a borough", not_located),
    ):
        if not access.unlocated:
            # Incidents with no place are outside this viewer's scope: a 0% would be false.
            text = (
                "Not counted: your access covers incidents placed in your boroughs only, "
                "not those at home or without a place."
            )
            shares.append(Share(key, label, None, None, None, text))
            continue
        detail = ""
        percent = percentage(count, total)
        if total == 0:
            text, percent = f"No incidents {SHARE_PERIOD}.", None
        elif count == SUPPRESSED:
            text, percent = (
                f"At most {policy.suppress_max} incidents {what} {SHARE_PERIOD}: "
                "too few to give a share (small counts are not shown).",
                None,
            )
        elif not isinstance(percent, float):
            text, percent = f"Too few incidents {SHARE_PERIOD} to give a share.", None
        else:
            assert isinstance(count, int) and isinstance(total, int)
            detail = f"{count:,} of {total:,} incidents{', rounded' if protected else ''}"
            text = f"{percent}% {what} {SHARE_PERIOD} ({detail})."
        shares.append(Share(key, label, count, total, percent, text, detail))
    return shares


def dashboard(
    base: QuerySet[Incident],
    access: EffectiveAccess,
    *,
    today: dt.date | None = None,
    coverage: dict[dt.date, completeness.MonthCoverage] | None = None,
) -> Dashboard:
    """Everything the dashboard shows: five aggregate queries over the scoped set, three
    for reference data (code labels, freshness) and, unless given, two small ones for
    the months' coverage."""
    months = dashboard_months(today)
    start, month = months[0], months[-1]
    if coverage is None:
        coverage = completeness.month_coverage(months, today=today)
    protect = needs_protection(access)
    window = base.filter(assault_month__gte=start, assault_month__lte=month)
    # The dashboard's groupings are fixed (nobody can narrow them to probe), so they are
    # never refused; their grids span the dashboard's own months.
    scope = GridScope(
        access=access,
        filters={
            "assault_date_from": start,
            "assault_date_to": add_months(month, 1) - dt.timedelta(days=1),
        },
    )
    trend_raw = count_table(
        window,
        "month",
        title="Incidents per month",
        access=access,
        scope=scope,
        refuse_sparse=False,
    )
    by_month = {r.key: r.count for r in trend_raw.rows}
    trend_rows = [
        CountRow(m.strftime("%Y-%m"), m.strftime("%b %Y"), by_month.get(m.strftime("%Y-%m"), 0))
        for m in months
    ]
    trend = CountTable(
        trend_raw.title, "month", trend_rows, trend_raw.total, trend_raw.note, trend_raw.protected
    )
    marked = completeness.month_rows(((r.key, r.label, r.count) for r in trend_rows), coverage)
    year_before = add_months(month, -12)
    current = by_month.get(month.strftime("%Y-%m"), 0)
    previous = by_month.get(year_before.strftime("%Y-%m"), 0)
    change, comparison = year_on_year(current, previous, coverage[month], coverage[year_before])
    last_year = base.filter(assault_month__gt=year_before, assault_month__lte=month)
    labels = code_labels()
    by_borough = aggregate_counts(
        last_year, ["borough"], protect=protect, scope=scope, refuse_sparse=False
    )
    # Incidents with no place are not a borough: they are the "not located" share below.
    placed = AggregateResult(
        by_borough.group_by,
        [r for r in by_borough.results if r["borough"] != NOT_LOCATED],
        by_borough.total,
        by_borough.disclosure_control,
    )
    top = _table(placed, "borough", "Top boroughs, last 12 months", LONDON_BOROUGHS, True, 10)
    by_class = aggregate_counts(
        last_year, ["geo_class"], protect=protect, scope=scope, refuse_sparse=False
    )
    methods = count_table(
        last_year,
        "method",
        title="Assault method, last 12 months",
        labels=labels.get("method", {}),
        order_by_count=True,
        access=access,
        scope=scope,
        refuse_sparse=False,
    )
    location_types = count_table(
        last_year,
        "location_type",
        title="Location type, last 12 months",
        labels=labels.get("location_type", {}),
        order_by_count=True,
        access=access,
        scope=scope,
        refuse_sparse=False,
    )
    notes = [t.note for t in (trend, top, methods, location_types) if t.note]
    return Dashboard(
        month=month,
        month_count=current,
        year_before=year_before,
        year_before_count=previous,
        change=change,
        trend=trend,
        top_boroughs=top,
        methods=methods,
        location_types=location_types,
        freshness=data_freshness(month),
        note=notes[0] if notes else None,
        notes=notes,
        month_coverage=coverage[month],
        year_before_coverage=coverage[year_before],
        comparison=comparison,
        trend_rows=marked,
        trend_chart=completeness.trend_chart(trend.title, marked),
        trend_note=completeness.trend_note(marked),
        shares=location_shares(by_borough, by_class, access),
    )


def data_freshness(expected: dt.date) -> list[dict[str, Any]]:
    """Latest published month per hospital site (sites are public reference data)."""
    latest = dict(
        Submission.objects.filter(status=Submission.Status.PUBLISHED)
        .values_list("site_id")
        .annotate(latest=Max("period"))
        .values_list("site_id", "latest")
    )
    out = []
    for site in HospitalSite.objects.order_by("name").only("id", "site_code", "name"):
        period = latest.get(site.pk)
        out.append(
            {
                "site_code": site.site_code,
                "name": site.name,
                "latest": period,
                "up_to_date": period is not None and period >= expected,
            }
        )
    return out


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
        month=count_table(
            queryset, "month", title="Incidents per month", access=access, scope=scope
        ),
        week=count_table(queryset, "week", title="Incidents per week", access=access, scope=scope),
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


# --- map ----------------------------------------------------------------------------------

MAP_LEVELS = ("borough", "ward", "lsoa")
# Douglas-Peucker tolerance in degrees (about 50 m, 20 m and 10 m in London).
SIMPLIFY = {"borough": 0.0005, "ward": 0.0002, "lsoa": 0.0001}
MAX_MAP_ROWS = 20_000  # newest first; the page says when a layer was capped
GRID_DEGREES = 0.005  # density cells of roughly 350 m x 550 m
BOUNDARY_CACHE_SECONDS = 24 * 3600


def boundaries_geojson(level: str, boroughs: Iterable[str]) -> str:
    """Simplified boundaries of ``level`` areas inside ``boroughs`` (cached per version).

    Boundaries are public geography; they are limited to the viewer's boroughs only to
    keep the payload small (all of London's LSOAs would be several megabytes).
    """
    kind = {"borough": Area.Kind.BOROUGH, "ward": Area.Kind.WARD, "lsoa": Area.Kind.LSOA}[level]
    areas = Area.objects.filter(kind=kind)
    codes = sorted(boroughs)
    areas = (
        areas.filter(code__in=codes) if level == "borough" else areas.filter(parent_code__in=codes)
    )
    stats = areas.aggregate(n=Count("id"), last=Max("id"))
    digest = hashlib.sha256(",".join(codes).encode()).hexdigest()[:16]
    key = f"incidents:boundaries:{level}:{digest}:{stats['n']}:{stats['last']}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    features = []
    for code, name, geometry in areas.order_by("code").values_list("code", "name", "geometry"):
        shape = shapely.from_geojson(geometry)
        simple = shapely.simplify(shape, SIMPLIFY[level], preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(simple, 1e-5))),
            }
        )
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    cache.set(key, text, BOUNDARY_CACHE_SECONDS)
    return text


def area_names(level: str, codes: Iterable[str]) -> dict[str, str]:
    if level == "borough":
        return {c: borough_name(c) for c in codes}
    kind = Area.Kind.WARD if level == "ward" else Area.Kind.LSOA
    return dict(Area.objects.filter(kind=kind, code__in=list(codes)).values_list("code", "name"))


def density_grid(
    queryset: QuerySet[Incident], masker: Masker
) -> tuple[list[dict[str, Any]], int, bool]:
    """Masked points binned into a grid: (cells, rows used, capped).

    Binning happens *after* masking, so a cell never says more than the points the
    viewer may see would (an LSOA-precision viewer's cells sit on LSOA centroids).
    """
    rows = queryset.order_by("-assault_at", "-id").values(*RAW_FIELDS)[: MAX_MAP_ROWS + 1]
    cells: dict[tuple[int, int], list[float]] = {}
    used = 0
    capped = False
    for index, row in enumerate(rows.iterator(chunk_size=2000)):
        if index >= MAX_MAP_ROWS:
            capped = True
            break
        masked = masker.mask(row)
        if masked is None or masked["lat"] is None or masked["lon"] is None:
            continue
        used += 1
        key = (int(masked["lat"] // GRID_DEGREES), int(masked["lon"] // GRID_DEGREES))
        cell = cells.setdefault(key, [0.0, 0.0, 0.0])
        cell[0] += 1
        cell[1] += masked["lat"]
        cell[2] += masked["lon"]
    out = [
        {"lat": round(c[1] / c[0], 5), "lon": round(c[2] / c[0], 5), "count": int(c[0])}
        for c in cells.values()
    ]
    return out, used, capped


@dataclass(frozen=True)
class NotLocated:
    """Incidents in the map's query that it cannot plot: no place at the map's level.

    ``count`` is the map table's own "not located" cell (so the areas and this add up to
    the map's total), ``by_class`` the same incidents by location class; both under the
    same disclosure control as every other count the viewer sees.
    """

    count: Published
    by_class: list[tuple[str, str, Published]]
    text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "byClass": {code: count for code, _label, count in self.by_class},
            "note": self.text,
        }


def _incidents(count: Published, *, about: bool) -> str:
    """ "1 incident", "1,234 incidents", "about 1,235 incidents", "a few incidents"."""
    if count == SUPPRESSED:
        return "a small number of incidents (possibly none: small counts are not shown)"
    if count == 1:
        return "1 incident"
    return f"{'about ' if about else ''}{count:,} incidents"


LEVEL_NAMES = {"borough": "London borough", "ward": "ward", "lsoa": "LSOA"}


def _count_text(count: Published) -> str:
    return "fewer than the disclosure threshold" if count == SUPPRESSED else f"{count:,}"


def not_located_note(
    queryset: QuerySet[Incident],
    level: str,
    result: AggregateResult,
    access: EffectiveAccess,
    scope: GridScope | None = None,
) -> NotLocated:
    """The map's note on incidents it cannot plot, from the area counts ``result``."""
    bucket: Published = next((r["count"] for r in result.results if r[level] == NOT_LOCATED), 0)
    by_class: list[tuple[str, str, Published]] = []
    if bucket != 0:
        column = {"borough": "borough_code", "ward": "ward_code", "lsoa": "lsoa_code"}[level]
        classes = aggregate_counts(
            queryset.filter(**{column: ""}),
            ["geo_class"],
            protect=needs_protection(access),
            scope=scope or GridScope(access=access),
            refuse_sparse=False,  # a fixed breakdown of a cell the viewer already has
        )
        # A "place" here was geocoded to a point with no area at this level (just outside
        # London's boroughs, or an area the gazetteer lacks): say so, not "Place".
        labels = {**GEO_CLASSES, "place": f"Placed, but in no {LEVEL_NAMES[level]}"}
        by_class = [
            (str(r["geo_class"]), labels.get(str(r["geo_class"]), str(r["geo_class"])), r["count"])
            for r in classes.results
        ]
    about = needs_protection(access)
    if bucket == 0:
        text = "Every incident in this query has a place on the map."
    else:
        unit = {"borough": "", "ward": " at ward level", "lsoa": " at LSOA level"}[level]
        parts = "; ".join(f"{label}: {_count_text(count)}" for _code, label, count in by_class)
        text = (
            f"Not on the map: {_incidents(bucket, about=about)} with no place{unit}"
            + (f" ({parts})" if parts else "")
            + ". They are in every count and table."
        )
    return NotLocated(bucket, by_class, text)


@dataclass(frozen=True)
class AwaitingGeocode:
    """Published incidents in the viewer's query that are not on the map because they
    are still awaiting geocoding. ``count`` is None when the viewer may not be told it."""

    count: Published | None
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "note": self.text}


AWAITING_GEOCODE_AFTER = (
    "Their location is not known yet, so they are not on this map or in its counts. "
    "They are added automatically when geocoding completes."
)


def awaiting_geocode_note(fs: IncidentFilterSet, access: EffectiveAccess) -> AwaitingGeocode | None:
    """The map's note about incidents awaiting geocoding (SECURITY.md fault 12), or None.

    Such rows have no borough, so only a pan-London viewer is told how many match their
    filters (every filter except the place ones), with the disclosure rule applied unless
    they are record level; anyone else is only told that the chosen period has some.
    """
    if fs.user is None or not fs.is_valid():
        return None
    base = awaiting_geocode(fs.user, release=fs.release_obj, access=access)
    if not access.pan_london:
        if not fs.filter_awaiting_geocode(base, period_only=True).exists():
            return None
        return AwaitingGeocode(
            None, f"Some incidents in this period are awaiting geocoding. {AWAITING_GEOCODE_AFTER}"
        )
    pending = fs.filter_awaiting_geocode(base, period_only=False).aggregate(
        n=Count("id"), keys=Sum("record_key")
    )
    count = pending["n"]
    if not count:
        return None
    policy = DisclosurePolicy.from_settings()
    shown = publish_cell(count, pending["keys"], policy) if needs_protection(access) else count
    if shown == SUPPRESSED:
        what = f"Between 1 and {policy.suppress_max} incidents"
        verb = "are"
    elif shown == 1:
        what, verb = "1 incident", "is"
    else:
        what, verb = f"{shown:,} incidents", "are"
        if needs_protection(access):
            what = f"About {what}"
    return AwaitingGeocode(
        shown,
        f"{what} matching your filters (apart from area) {verb} awaiting geocoding. "
        + AWAITING_GEOCODE_AFTER,
    )


# --- hospital transparency ----------------------------------------------------------------

TRANSPARENCY_ACTIONS = (Action.DATA_VIEWED, Action.DATA_DOWNLOADED, Action.API_CALLED)
TRANSPARENCY_MONTHS = 12


def sites_for_liaison(user: User) -> QuerySet[HospitalSite]:
    """Sites whose data this liaison answers for: upload right held through a liaison role."""
    if not user.is_authenticated:
        return HospitalSite.objects.none()
    is_liaison = Membership.objects.filter(
        user=user, is_active=True, organisation__is_active=True, role=Membership.Role.LIAISON
    ).exists()
    if not is_liaison:
        return HospitalSite.objects.none()
    sites: QuerySet[HospitalSite] = get_objects_for_user(
        user, "hospitals.upload_submission", klass=HospitalSite, accept_global_perms=False
    )
    return sites.order_by("name")


@dataclass
class UseRow:
    organisation: str
    month: dt.date
    views: int
    downloads: int
    api_calls: int
    purposes: list[str]


def hospital_data_use(site: HospitalSite, *, today: dt.date | None = None) -> list[UseRow]:
    """Which organisations used ``site``'s data, per month, with the purposes they gave.

    An access counts when its audited filter named the site or named no hospital at all
    (a query over every hospital covers this one too). Only organisations are shown,
    never people; the site's own organisation's reads are included for completeness.
    """
    since = add_months(month_start(today or timezone.localdate()), -(TRANSPARENCY_MONTHS - 1))
    since_at = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    covered = (
        ~Q(details__has_key="filter")
        | ~Q(details__filter__has_key="hospital")
        | Q(details__filter__hospital__contains=[site.site_code])
        | Q(details__hospital=site.site_code)
    )
    # Calls that read no incident data (the hospital list, release metadata, saved
    # query management) are not uses of the hospital's data.
    data_endpoint = ~Q(
        details__endpoint__in=[
            "hospitals",
            "releases",
            "releases/detail",
            "saved-queries",
            "saved-queries/detail",
        ]
    )
    events = AuditEvent.objects.filter(
        action__in=[str(a) for a in TRANSPARENCY_ACTIONS],
        occurred_at__gte=since_at,
        organisation__isnull=False,
    ).filter(covered & data_endpoint)
    # Downloads are audited twice (started, completed); count the started one only.
    events = events.exclude(action=str(Action.DATA_DOWNLOADED), details__stage="completed")
    counts = (
        events.annotate(month=TruncMonth("occurred_at"))
        .values("organisation__name", "month", "action")
        .annotate(n=Count("id"))
        .order_by("-month", "organisation__name")
    )
    rows: dict[tuple[str, dt.date], UseRow] = {}
    for item in counts:
        month = item["month"]
        month_day = month.date() if isinstance(month, dt.datetime) else month
        key = (item["organisation__name"], month_day)
        row = rows.setdefault(key, UseRow(key[0], month_day, 0, 0, 0, []))
        if item["action"] == str(Action.DATA_VIEWED):
            row.views += item["n"]
        elif item["action"] == str(Action.DATA_DOWNLOADED):
            row.downloads += item["n"]
        else:
            row.api_calls += item["n"]
    purposes = (
        events.exclude(details__purpose__isnull=True)
        .exclude(details__purpose="")
        .annotate(month=TruncMonth("occurred_at"))
        .values_list("organisation__name", "month", "details__purpose")
        .distinct()
    )
    for organisation, month, purpose in purposes:
        month_day = month.date() if isinstance(month, dt.datetime) else month
        found = rows.get((organisation, month_day))
        if found is not None and purpose and purpose not in found.purposes:
            found.purposes.append(str(purpose))
    return sorted(rows.values(), key=lambda r: (-r.month.toordinal(), r.organisation))


def filter_query_items(fs: IncidentFilterSet) -> list[tuple[str, str]]:
    """The applied filter as (name, value) pairs, for links that carry it on."""
    return [(name, value) for name, values in fs.applied().items() for value in values]


def query_items(params: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, values in sorted(params.items()) for value in values]


# --- what changed since a pinned release ---------------------------------------------------


@dataclass(frozen=True)
class ChangesSince:
    """Releases cut after a pinned one, and the submissions they added or replaced."""

    pinned: Release
    later: list[Release]
    changed: list[str]


def changes_since(release_param: str | None) -> ChangesSince | None:
    """For a query pinned to an older release: what the newest release has that it has not
    (new months and corrected re-uploads). None when not pinned, or pinned to the newest."""
    try:
        number = int(release_param or "")
    except ValueError:
        return None
    pinned = Release.objects.filter(number=number).first()
    if pinned is None:
        return None
    later = list(Release.objects.filter(number__gt=number).order_by("number"))
    if not later:
        return None
    new = (
        later[-1]
        .submissions.exclude(pk__in=pinned.submissions.values("pk"))
        .select_related("site")
        .order_by("site__name", "period")
    )
    changed = [
        f"{s.site.name} ({s.site.site_code}), {s.period:%B %Y}"
        + (f", corrected version {s.version}" if s.version > 1 else "")
        for s in new
    ]
    return ChangesSince(pinned=pinned, later=later, changed=changed)
