"""The "Police gap" tab: ED-recorded assaults against police-recorded violence.

The same function as ``GET /api/v1/police-gap/`` (``incidents.police_gap``), so the page
and the API always agree; the ED side has disclosure control as every count has.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.geography import LONDON_BOROUGHS
from incidents.aggregates import AggregateTimeout, GroupByError
from incidents.geocoding.models import Area
from incidents.models import PoliceRecordedCount
from incidents.police_gap import AREAS, SERIES, parse_gap_group_by, police_gap
from incidents.views.common import audit_view, counts_page
from incidents.workspace import labels as ws_labels

GAP_PARAMETERS = ("group_by", "series", "area", "by_month")


@login_required
@never_cache
@require_GET
def police_gap_page(request: HttpRequest) -> HttpResponse:
    _, fs, context = counts_page(request, "police_gap")
    series = request.GET.get("series") or "violence"
    area = request.GET.get("area") or "borough"
    by_month = request.GET.get("by_month") == "1"
    errors: dict[str, str] = {}
    if series not in SERIES:
        errors["series"] = "Choose violence or robbery"
    if area not in AREAS:
        errors["area"] = "Choose borough, ward or LSOA"
    context.update(
        {
            "series": series,
            "area": area,
            "by_month": by_month,
            "series_choices": PoliceRecordedCount.Series.choices,
            "area_choices": [("borough", "Borough"), ("ward", "Ward"), ("lsoa", "LSOA")],
            "keep": [
                (k, v)
                for k in request.GET
                if k not in GAP_PARAMETERS
                for v in request.GET.getlist(k)
            ],
            "gap_errors": errors,
            "police_sources": _sources(),
        }
    )
    if fs.is_valid() and not errors:
        try:
            group_by = parse_gap_group_by([area, *(["month"] if by_month else [])])
            result = police_gap(fs, group_by, series)
        except (GroupByError, AggregateTimeout) as refused:
            context["refusal"] = str(refused)
        else:
            _label(result.results, area)
            context["result"] = result
            # One flag per area for the map (not drawn when the table is by month).
            context["map_flags"] = (
                None
                if by_month
                else {row[area]: row["flag"] for row in result.results if row["flag"]}
            )
            audit_view(
                request,
                page="police-gap",
                fs=fs,
                rows=len(result.results),
                extra={"group_by": group_by, "series": series},
            )
    status = 200 if fs.is_valid() and not errors else 400
    return render(request, "incidents/police_gap.html", context, status=status)


def _sources() -> list[dict[str, Any]]:
    """Each force whose counts are stored, with its first and last month: the page says
    where the police side comes from (the demo's sample names itself synthetic here)."""
    rows = (
        PoliceRecordedCount.objects.order_by("force")
        .values("force")
        .annotate(first=Min("month"), last=Max("month"))
    )
    return [dict(row) for row in rows]


def _label(rows: list[dict[str, Any]], area: str) -> None:
    """The area's name beside its code."""
    if area == "borough":
        for row in rows:
            row["name"] = LONDON_BOROUGHS.get(row["borough"], "Not located")
        return
    kind = Area.Kind.WARD if area == "ward" else Area.Kind.LSOA
    names = ws_labels.area_names(kind, (row[area] for row in rows))
    for row in rows:
        row["name"] = names.get(row[area], "Not located")
