"""The gap between ED-recorded assaults and police-recorded violence, by area and month.

The ED side is the viewer's own grouped counts (``filter_set_counts``: the one door, the
filter set, and for everyone below record level the cell-key method, exactly as the
aggregates API answers). The police side is ``PoliceRecordedCount`` (data.police.uk,
imported by ``ingest.police_crime``) for the same boroughs, areas and months. Police
counts are published open data, so they are shown as they are.

For each area (and month) the answer gives the ED count, the police count, their ratio
(ED / police) and the ED share, ED / (ED + police). The flag compares that share with the
overall share of every area in the answer (London's, for a pan-London viewer) on a
binomial funnel plot: the control limits at ``n = ED + police`` are
``p0 ± z·sqrt(p0(1 - p0)/n)`` with z = 1.96 (95%) and z = 3.09 (99.8%). A share above the
upper 95% limit is flagged "ED unusually high", below the lower one "ED unusually low";
``limit`` says whether the 99.8% limit is crossed too. Everything is computed from the
published ED figures: a hidden ED count ("*") gets no ratio and no flag.
docs/workspace-pages.md documents the rule for users.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Sum

from incidents.aggregates import NOT_LOCATED, GroupByError, filter_set_counts
from incidents.models import PoliceRecordedCount
from incidents.selectors import months_on_record

AREAS = ("borough", "ward", "lsoa")
SERIES = tuple(PoliceRecordedCount.Series.values)
HIGH, LOW = "ED unusually high", "ED unusually low"
# Two-sided normal quantiles of the funnel's control limits.
LIMITS = (("99.8%", 3.09), ("95%", 1.96))
_AREA_FIELDS = {"borough": "borough_code", "ward": "ward_code", "lsoa": "lsoa_code"}


def parse_gap_group_by(raw: str | Sequence[str]) -> list[str]:
    """``"borough,month"`` → ``["borough", "month"]``: one area level, and optionally month."""
    parts = raw.split(",") if isinstance(raw, str) else [p for item in raw for p in item.split(",")]
    names = [p.strip() for p in parts if p.strip()] or ["borough"]
    areas = [n for n in names if n in AREAS]
    if (
        len(areas) != 1
        or any(n not in (*AREAS, "month") for n in names)
        or len(set(names)) != len(names)
    ):
        raise GroupByError("Group by one of borough, ward or lsoa, optionally with month.")
    return names


@dataclass(frozen=True)
class GapResult:
    group_by: list[str]
    series: str
    results: list[dict[str, Any]]
    overall_share: float | None
    disclosure_control: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {
            "group_by": self.group_by,
            "series": self.series,
            "overall_ed_share": self.overall_share,
            "results": self.results,
            "disclosure_control": self.disclosure_control,
        }


def funnel_flag(ed: int, police: int, overall: float | None) -> tuple[str, str | None]:
    """(flag, limit crossed) for an area's ED share against the overall share ``overall``."""
    n = ed + police
    if overall is None or n == 0 or overall in (0.0, 1.0):
        return "", None
    share = ed / n
    spread = math.sqrt(overall * (1 - overall) / n)
    for label, z in LIMITS:
        if share > overall + z * spread:
            return HIGH, label
        if share < overall - z * spread:
            return LOW, label
    return "", None


def _police_counts(fs: Any, area: str, by_month: bool, series: str) -> dict[tuple[Any, ...], int]:
    """Police counts of the viewer's boroughs and the filter's areas and period."""
    access, filters = fs.access, fs.form.cleaned_data
    boroughs = set(access.boroughs)
    if filters.get("borough"):
        boroughs &= set(filters["borough"])
    rows = PoliceRecordedCount.objects.filter(series=series, borough_code__in=sorted(boroughs))
    for name in ("ward", "lsoa"):
        if filters.get(name):
            rows = rows.filter(**{f"{_AREA_FIELDS[name]}__in": list(filters[name])})
    low, high = filters.get("assault_date_from"), filters.get("assault_date_to")
    if low is None or high is None:
        first, last = months_on_record()
        low, high = low or first, high or last
    if low is None or high is None:
        return {}
    rows = rows.filter(month__gte=low.replace(day=1), month__lte=high)
    keys = [_AREA_FIELDS[area], *(["month"] if by_month else [])]
    out: dict[tuple[Any, ...], int] = {}
    for row in rows.order_by().values(*keys).annotate(n=Sum("count")):
        month: dt.date | None = row.get("month")
        key = (row[_AREA_FIELDS[area]] or NOT_LOCATED, *([f"{month:%Y-%m}"] if month else []))
        out[key] = row["n"]
    return out


def police_gap(fs: Any, group_by: Sequence[str], series: str = "violence") -> GapResult:
    """The comparison for a validated ``IncidentFilterSet`` (``Purpose.COUNTS``)."""
    area = next(n for n in group_by if n in AREAS)
    by_month = "month" in group_by
    order = [area, *(["month"] if by_month else [])]
    ed = filter_set_counts(fs, order)
    police = _police_counts(fs, area, by_month, series)
    ed_rows = {tuple(r[n] for n in order): r for r in ed.results}
    keys = list(ed_rows) + sorted(k for k in police if k not in ed_rows)
    numeric = [
        (ed_rows[k]["count"] if k in ed_rows else 0, police.get(k, 0))
        for k in keys
        if k[0] != NOT_LOCATED and isinstance(ed_rows.get(k, {"count": 0})["count"], int)
    ]
    total_ed, total_police = sum(e for e, _ in numeric), sum(p for _, p in numeric)
    overall = round(total_ed / (total_ed + total_police), 4) if total_ed + total_police else None
    results = []
    for key in keys:
        row = ed_rows.get(key)
        ed_count = row["count"] if row is not None else 0
        police_count = police.get(key, 0) if key[0] != NOT_LOCATED else None
        entry: dict[str, Any] = {
            **dict(zip(order, key, strict=True)),
            "ed_count": ed_count,
            "ed_suppressed": row.get("suppressed") if row is not None else None,
            "police_count": police_count,
            "ratio": None,
            "ed_share": None,
            "flag": "",
            "limit": None,
        }
        if isinstance(ed_count, int) and police_count is not None:
            entry["flag"], entry["limit"] = funnel_flag(ed_count, police_count, overall)
            if police_count:
                entry["ratio"] = round(ed_count / police_count, 2)
            if ed_count + police_count:
                entry["ed_share"] = round(ed_count / (ed_count + police_count), 4)
        results.append(entry)
    return GapResult(list(order), series, results, overall, ed.disclosure_control)
