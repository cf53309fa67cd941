"""Top locations: the named places of the current filter ranked by incident count, and the
licensing view of licensed premises by hour band and weekday (docs/workspace-pages.md).

A place is the geocoder's matched place (``geo_matched``) at venue, street or junction
precision; its kind comes from that precision and, for venues, the harmonised location
type (licensed premises, stations and stops). Rows come from the caller's filter set, so
scope, release pinning and publication rules are those of the one door.

Counts for one named place are sensitive. A viewer who gets disclosure control (not
record level everywhere, or record level only at LSOA precision, which a venue name would
sharpen) sees only places with at least ``TOP_LOCATIONS_MIN_COUNT`` incidents in the
period, and every figure through the cell-key method; places below are not listed at all.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression

from accounts.access import EffectiveAccess
from accounts.models import AccessGrant
from incidents.aggregates import needs_protection
from incidents.codes import LocationType
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    cell_key_note,
    publish_cell,
)
from incidents.filters import IncidentFilterSet, as_query_dict
from incidents.models import Incident
from incidents.workspace.labels import code_labels
from istv_portal.periods import add_months, last_complete_month

PLACE_CLASS = "place"
PLACE_PRECISIONS = ("venue", "street", "junction")
KINDS = {
    "licensed_premises": "Licensed premises",
    "station": "Station or stop",
    "venue": "Venue",
    "street": "Street",
    "junction": "Junction",
}
LICENSED = "licensed_premises"
MAX_PLACES = 50
# Hour bands of the hour-of-week profile and the licensing view (3 hours each).
BAND_HOURS = 3
HOUR_BANDS = [f"{h:02d}-{h + BAND_HOURS:02d}" for h in range(0, 24, BAND_HOURS)]
TIME_UNKNOWN = "Time not known"
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date

    def previous(self) -> Period:
        """The equal period immediately before (12 calendar months before a 12-month
        default period, the same number of days otherwise)."""
        try:
            year_on = add_months(self.first, 12) - dt.timedelta(days=1)
            if self.first.day == 1 and self.last == year_on:
                return Period(add_months(self.first, -12), self.first - dt.timedelta(days=1))
            days = (self.last - self.first).days + 1
            return Period(self.first - dt.timedelta(days=days), self.first - dt.timedelta(days=1))
        except (OverflowError, ValueError):
            # A range reaching back to the calendar's first years (a typed date such as
            # year 0214) has no equal period before it: compare with the first day alone.
            return Period(dt.date.min, dt.date.min)

    @property
    def label(self) -> str:
        return f"{self.first:%-d %b %Y} to {self.last:%-d %b %Y}"


def last_twelve_months(today: dt.date | None = None) -> Period:
    """The 12 complete months before ``today``."""
    month = last_complete_month(today)
    return Period(add_months(month, -11), add_months(month, 1) - dt.timedelta(days=1))


def filter_period(fs: IncidentFilterSet) -> Period:
    """The filter's assault-date range; the last 12 complete months where it has none (an
    open end is closed with the last complete month, an open start a year before)."""
    data = fs.form.cleaned_data
    first, last = data.get("assault_date_from"), data.get("assault_date_to")
    if first is None and last is None:
        return last_twelve_months()
    if last is None:
        last = last_twelve_months().last
    if first is None:
        first = last - dt.timedelta(days=364)
    return Period(first, last)


def with_period(fs: IncidentFilterSet, period: Period) -> IncidentFilterSet:
    """The same filter for the same viewer and purpose, over ``period``."""
    data = as_query_dict(fs.data).copy()
    data.setlist("assault_date_from", [period.first.isoformat()])
    data.setlist("assault_date_to", [period.last.isoformat()])
    return IncidentFilterSet(data, user=fs.user, access=fs.access, purpose=fs.purpose)


def protected(access: EffectiveAccess) -> bool:
    """Whether the viewer gets the threshold and the cell-key method on place counts."""
    return needs_protection(access) or access.location_precision == AccessGrant.Precision.LSOA


def _kind() -> Case:
    venue = Q(geo_precision="venue")
    return Case(
        When(venue & Q(location_type_code=LocationType.LICENSED_PREMISES), then=Value(LICENSED)),
        When(venue & Q(location_type_code=LocationType.PUBLIC_TRANSPORT), then=Value("station")),
        When(venue, then=Value("venue")),
        default=F("geo_precision"),
        output_field=CharField(),
    )


def placed(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    """The rows with a named place (group them by ``geo_matched`` and ``kind=_kind()``).

    The partial index ``incident_place_borough_date`` (incidents.models) has exactly this
    condition, so these reads are index-only scans: change both together."""
    return queryset.filter(geo_class=PLACE_CLASS, geo_precision__in=PLACE_PRECISIONS).exclude(
        geo_matched=""
    )


def _band(hour: int | None) -> int:
    return len(HOUR_BANDS) if hour is None else hour // BAND_HOURS


@dataclass
class Place:
    name: str
    kind: str
    count: Published
    previous_count: Published
    methods: list[dict[str, Any]] = field(default_factory=list)
    hour_of_week: list[list[Published]] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """The name as people say it: the geocoder's match without its kind prefix
        ("station: Peckham Rye" is shown as "Peckham Rye"; the kind has its own column).
        ``name`` stays the key the ``place`` filter and the API use."""
        prefix, sep, rest = self.name.partition(": ")
        return rest if sep and rest and prefix.replace("_", "").isalpha() else self.name

    @property
    def weekday_rows(self) -> list[tuple[str, list[Published]]]:
        return list(zip(WEEKDAY_NAMES, self.hour_of_week, strict=True))

    @property
    def change(self) -> int | None:
        if isinstance(self.count, int) and isinstance(self.previous_count, int):
            return self.count - self.previous_count
        return None

    def as_json(self) -> dict[str, Any]:
        """The API's item: ``count``/``previous_count`` absent where suppressed."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.count != SUPPRESSED:
            out["count"] = self.count
        if self.previous_count != SUPPRESSED:
            out["previous_count"] = self.previous_count
        out["change"] = self.change
        out["methods"] = [
            {"method": m["method"], **({"count": m["count"]} if m["count"] != SUPPRESSED else {})}
            for m in self.methods
        ]
        out["hour_of_week"] = [
            [None if c == SUPPRESSED else c for c in row] for row in self.hour_of_week
        ]
        return out


@dataclass
class TopLocations:
    places: list[Place]
    period: Period
    previous: Period
    protected: bool
    threshold: int
    note: str | None

    @property
    def disclosure_control(self) -> dict[str, Any]:
        return {"applied": self.protected, "threshold": self.threshold, "note": self.note}


def _publisher(is_protected: bool) -> Any:
    policy = DisclosurePolicy.from_settings()

    def publish(count: int, key_sum: int) -> Published:
        return publish_cell(count, key_sum, policy) if is_protected else count

    return publish


def threshold_note(threshold: int) -> str:
    policy = DisclosurePolicy.from_settings()
    return (
        f"Only places with at least {threshold} incidents in the period are listed; "
        f"places with fewer are left out, not shown as zero. {cell_key_note(policy)}"
    )


def top_locations(fs: IncidentFilterSet, *, limit: int = MAX_PLACES) -> TopLocations:
    """The ranked places of a valid filter set, with the previous equal period."""
    access = fs.access
    assert access is not None and fs.is_valid()
    is_protected = protected(access)
    threshold = settings.TOP_LOCATIONS_MIN_COUNT if is_protected else 1
    publish = _publisher(is_protected)
    period = filter_period(fs)
    previous = period.previous()
    current_qs = placed(with_period(fs, period).qs)
    ranked = list(
        current_qs.values("geo_matched", kind=_kind())
        .annotate(n=Count("id"), keys=Sum("record_key"))
        .filter(n__gte=threshold)
        .order_by("-n", "geo_matched", "kind")[:limit]
    )
    keys = [(r["geo_matched"], r["kind"]) for r in ranked]
    names = sorted({name for name, _ in keys})
    before = {
        (r["geo_matched"], r["kind"]): (r["n"], r["keys"])
        for r in placed(with_period(fs, previous).qs)
        .filter(geo_matched__in=names)
        .values("geo_matched", kind=_kind())
        .annotate(n=Count("id"), keys=Sum("record_key"))
    }
    methods, grid = _profiles(current_qs.filter(geo_matched__in=names), publish)
    places = [
        Place(
            name=r["geo_matched"],
            kind=r["kind"],
            count=publish(r["n"], r["keys"] or 0),
            previous_count=publish(*before.get((r["geo_matched"], r["kind"]), (0, 0))),
            methods=methods[(r["geo_matched"], r["kind"])],
            hour_of_week=grid[(r["geo_matched"], r["kind"])],
        )
        for r in ranked
    ]
    return TopLocations(
        places=places,
        period=period,
        previous=previous,
        protected=is_protected,
        threshold=threshold,
        note=threshold_note(threshold) if is_protected else None,
    )


def _band_of_hour() -> ExpressionWrapper[CombinedExpression]:
    """The hour band as the database computes it (NULL where the time is not known)."""
    return ExpressionWrapper(F("assault_hour") / BAND_HOURS, output_field=IntegerField())


def _grid(cells: dict[tuple[int, int], list[int]], publish: Any) -> list[list[Published]]:
    """7 weekday rows x (8 hour bands + time not known), published."""
    return [
        [publish(*cells.get((day, band), (0, 0))) for band in range(len(HOUR_BANDS) + 1)]
        for day in range(1, 8)
    ]


def _add(cells: dict[Any, list[int]], key: Any, n: int, keys: int | None) -> None:
    """Add a group's count and key sum to a coarser cell (its publication needs both)."""
    total = cells.setdefault(key, [0, 0])
    total[0] += n
    total[1] += keys or 0


def _profiles(
    queryset: QuerySet[Incident], publish: Any
) -> tuple[
    dict[tuple[str, str], list[dict[str, Any]]], dict[tuple[str, str], list[list[Published]]]
]:
    """Per place: its methods (most incidents first, then by code) and its hour-of-week
    grid, from one pass over the rows grouped by place, method, weekday and hour band
    (one index scan instead of two; the sums are those of the separate groupings).

    The rows come ordered by method code from the database, so a stable sort by count
    gives the order ``ORDER BY count DESC, method_code`` would, in the database's own
    collation."""
    by_method: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    by_cell: dict[tuple[str, str], dict[tuple[int, int], list[int]]] = defaultdict(dict)
    rows = (
        queryset.values(
            "geo_matched", "method_code", "assault_weekday", kind=_kind(), band=_band_of_hour()
        )
        .annotate(n=Count("id"), keys=Sum("record_key"))
        .order_by("method_code")
        .values_list("geo_matched", "kind", "method_code", "assault_weekday", "band", "n", "keys")
    )
    for name, kind, method, weekday, band, n, keys in rows:
        place = (name, kind)
        _add(by_method[place], method, n, keys)
        _add(by_cell[place], (weekday, len(HOUR_BANDS) if band is None else band), n, keys)
    labels = code_labels().get("method", {})
    methods: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for place, counts in by_method.items():
        ordered = sorted(counts.items(), key=lambda item: -item[1][0])  # stable: code order kept
        methods[place] = [
            {"method": code, "label": labels.get(code, code), "count": publish(n, keys)}
            for code, (n, keys) in ordered
        ]
    grids: dict[tuple[str, str], list[list[Published]]] = defaultdict(list)
    for place, cells in by_cell.items():
        grids[place] = _grid(cells, publish)
    return methods, grids


def _hour_of_week(
    queryset: QuerySet[Incident], publish: Any
) -> dict[tuple[str, str], list[list[Published]]]:
    """Per place: 7 weekday rows x (8 hour bands + time not known), published."""
    raw: dict[tuple[str, str], dict[tuple[int, int], list[int]]] = defaultdict(dict)
    for r in queryset.values(
        "geo_matched", "assault_weekday", "assault_hour", kind=_kind()
    ).annotate(n=Count("id"), keys=Sum("record_key")):
        _add(
            raw[(r["geo_matched"], r["kind"])],
            (r["assault_weekday"], _band(r["assault_hour"])),
            r["n"],
            r["keys"],
        )
    out: dict[tuple[str, str], list[list[Published]]] = defaultdict(list)
    for place, cells in raw.items():
        out[place] = _grid(cells, publish)
    return out


@dataclass
class LicensingView:
    places: list[Place]
    period: Period
    protected: bool
    threshold: int
    note: str | None

    @property
    def columns(self) -> list[str]:
        return [*HOUR_BANDS, TIME_UNKNOWN]

    def csv_rows(self) -> list[list[Any]]:
        """Long format: premises, kind, weekday, hour band, count (``*`` where hidden)."""
        rows: list[list[Any]] = []
        for place in self.places:
            for day, cells in zip(WEEKDAY_NAMES, place.hour_of_week, strict=True):
                for band, value in zip(self.columns, cells, strict=True):
                    rows.append([place.name, place.kind_label, day, band, value])
        return rows


def licensing_view(fs: IncidentFilterSet) -> LicensingView:
    """Licensed premises of a valid filter set over the last 12 complete months, each with
    its weekday x hour-band table (the filter's own dates are replaced by that period)."""
    access = fs.access
    assert access is not None and fs.is_valid()
    is_protected = protected(access)
    threshold = settings.TOP_LOCATIONS_MIN_COUNT if is_protected else 1
    publish = _publisher(is_protected)
    period = last_twelve_months()
    premises = placed(with_period(fs, period).qs).filter(
        geo_precision="venue", location_type_code=LocationType.LICENSED_PREMISES
    )
    ranked = list(
        premises.values("geo_matched", kind=_kind())
        .annotate(n=Count("id"), keys=Sum("record_key"))
        .filter(n__gte=threshold)
        .order_by("-n", "geo_matched")[: 2 * MAX_PLACES]
    )
    names = [r["geo_matched"] for r in ranked]
    grid = _hour_of_week(premises.filter(geo_matched__in=names), publish)
    places = [
        Place(
            name=r["geo_matched"],
            kind=r["kind"],
            count=publish(r["n"], r["keys"] or 0),
            previous_count=SUPPRESSED,
            hour_of_week=grid[(r["geo_matched"], r["kind"])],
        )
        for r in ranked
    ]
    return LicensingView(
        places=places,
        period=period,
        protected=is_protected,
        threshold=threshold,
        note=threshold_note(threshold) if is_protected else None,
    )
