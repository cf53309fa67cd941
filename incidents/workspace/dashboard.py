"""The dashboard: monthly trend, year on year, shares at home and not located, data
freshness; cached per access and data generation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.core.cache import cache
from django.db.models import Max, QuerySet

from accounts.access import EffectiveAccess
from accounts.geography import LONDON_BOROUGHS
from hospitals.models import HospitalSite, Submission
from incidents import completeness
from incidents.aggregates import (
    NOT_LOCATED,
    AggregateResult,
    GridScope,
    aggregate_counts,
    needs_protection,
    time_budget,
)
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    incidents_phrase,
    percentage,
)
from incidents.models import Incident
from incidents.workspace.cache import (
    DASHBOARD_CACHE_SECONDS,
    DASHBOARD_CACHE_VERSION,
    access_key,
    data_version,
)
from incidents.workspace.labels import code_labels
from incidents.workspace.tables import CountRow, CountTable, count_table, table_of
from istv_portal.periods import add_months, last_complete_month


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


class SiteFreshness(TypedDict):
    """One hospital site's latest published month (``data_freshness``)."""

    site_code: str
    name: str
    latest: dt.date | None  # first of the month; None when nothing is published yet
    up_to_date: bool


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
    freshness: list[SiteFreshness]
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
            f"Too few incidents to compare with {base_name} (counts of 0 to {limit} are hidden)."
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
                f"{incidents_phrase(count, policy)} {what} {SHARE_PERIOD}: "
                "too few to give a share (small counts are not shown).",
                None,
            )
        elif not isinstance(percent, float):
            text, percent = f"Too few incidents {SHARE_PERIOD} to give a share.", None
        else:
            assert isinstance(count, int) and isinstance(total, int)
            detail = f"{count:,} of {incidents_phrase(total)}{', rounded' if protected else ''}"
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
    top = table_of(placed, "borough", "Top boroughs, last 12 months", LONDON_BOROUGHS, True, 10)
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


def data_freshness(expected: dt.date) -> list[SiteFreshness]:
    """Latest published month per hospital site (sites are public reference data)."""
    latest = dict(
        Submission.objects.filter(status=Submission.Status.PUBLISHED)
        .values_list("site_id")
        .annotate(latest=Max("period"))
        .values_list("site_id", "latest")
    )
    out: list[SiteFreshness] = []
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
