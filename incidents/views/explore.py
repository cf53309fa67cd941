"""Explore: the table of records (or counts), a record's detail and the charts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.audit.denials import deny, get_in_scope_or_404
from accounts.audit.models import Action, audit_object_type
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant
from incidents.aggregates import GridScope
from incidents.completeness import trend_chart, trend_note
from incidents.geocoding.models import Area
from incidents.masking import RAW_FIELDS, Masker
from incidents.selectors import Purpose, visible_to
from incidents.services import data_access_record
from incidents.views.common import (
    PAGE_PARAMETERS,
    PAGING,
    audit_view,
    counts_page,
    data_access_or_404,
    page_filterset,
    page_query,
    panel_context,
    request_user,
)
from incidents.views.forms import SaveQueryForm
from incidents.workspace import charts as ws_charts
from incidents.workspace import labels as ws_labels
from incidents.workspace import pagination as ws_pagination
from incidents.workspace import tables as ws_tables

# A record's link and its "Back to explore" keep the filter, sort and page of the table.
BACK_DROPS = ("level",)


@login_required
@never_cache
@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    return explore_page(request)


def explore_page(request: HttpRequest, save_form: SaveQueryForm | None = None) -> HttpResponse:
    """The table (or counts) of the filter in the query string. ``save_form`` is a save
    that was refused, shown again with its errors beside the field."""
    access = data_access_or_404(request)
    records = access.any_record_level
    fs = page_filterset(request, access, purpose=Purpose.RECORDS if records else Purpose.COUNTS)
    context = panel_context(request, access, fs)
    context["tab"] = "table"
    context["page_path"] = reverse("incidents:explore")  # also when a save was refused
    if fs.is_valid():
        if not access.record_level:
            # Counts per borough beside the records where some boroughs are counts only.
            counts_fs = page_filterset(request, access, purpose=Purpose.COUNTS) if records else fs
            context["borough_counts"] = ws_tables.count_table(
                counts_fs.qs,
                "borough",
                title="Incidents by borough",
                access=access,
                labels=LONDON_BOROUGHS,
                scope=GridScope.of(counts_fs),
            )
        if records:
            sort = ws_pagination.Sort.parse(request.GET.get("sort"))
            masker = Masker.for_access(access)
            total = fs.qs.count()
            page = ws_pagination.keyset_page(
                fs.qs.select_related(None),
                masker,
                sort=sort,
                after=request.GET.get("after") or None,
                before=request.GET.get("before") or None,
            )
            _label_rows(page.rows, context["code_labels"])
            context.update(
                {
                    "records": True,
                    "total": total,
                    "page": page,
                    "range_text": ws_pagination.range_text(
                        fs.qs, sort, page, total, first_page=not page.previous_cursor
                    ),
                    "sort": sort,
                    "columns": _columns(request, sort),
                    "shows_free_text": masker.shows_free_text,
                    # A record's link carries the page it is on, for "Back to explore".
                    "back_query": page_query(request, drop=BACK_DROPS),
                    "next_query": page_query(request, drop=PAGING, after=page.next_cursor or ""),
                    "previous_query": page_query(
                        request, drop=PAGING, before=page.previous_cursor or ""
                    ),
                }
            )
            audit_view(request, page="explore", fs=fs, rows=total, extra={"shown": len(page.rows)})
        else:
            table = context["borough_counts"]
            context["total"] = table.total
            context["month_counts"] = ws_tables.count_table(
                fs.qs, "month", title="Incidents by month", access=access, scope=GridScope.of(fs)
            )
            audit_view(request, page="explore", fs=fs, rows=table.total)
    context["save_form"] = save_form or SaveQueryForm()
    valid = fs.is_valid() and (save_form is None or not save_form.errors)
    return render(request, "incidents/explore.html", context, status=200 if valid else 400)


def _label_rows(rows: list[dict[str, Any]], labels: dict[str, dict[str, str]]) -> None:
    """Words beside the codes of a page of rows: borough, hospital and ward names, method
    and location type labels (``labels``, read with the filter panel), and how precisely
    the location is shown (a few queries for the whole page, never one per row)."""
    sites = ws_labels.site_names(row["hospital"] for row in rows)
    wards = ws_labels.area_names(Area.Kind.WARD, (row["ward"] or "" for row in rows))
    for row in rows:
        row["borough_name"] = ws_labels.borough_name(row["borough"])
        row["hospital_name"] = sites.get(row["hospital"], "")
        row["ward_name"] = wards.get(row["ward"] or "", "")
        row["precision_label"] = ws_labels.precision_label(row["precision"])
        row["method_label"] = labels.get("method", {}).get(row["method"], row["method"])
        row["location_type_label"] = labels.get("location_type", {}).get(
            row["location_type"], row["location_type"]
        )


def _columns(request: HttpRequest, sort: ws_pagination.Sort) -> list[dict[str, Any]]:
    """Sortable column headers: the link toggles direction; aria-sort marks the current one."""
    out = []
    for key in ws_pagination.SORT_KEYS.values():
        current = sort.key.name == key.name
        descending = not sort.descending if current else key.name == "date"
        value = f"{'-' if descending else ''}{key.name}"
        out.append(
            {
                "label": key.label,
                "query": page_query(request, drop=PAGE_PARAMETERS, sort=value),
                "aria_sort": ("descending" if sort.descending else "ascending")
                if current
                else "none",
            }
        )
    return out


# --- record detail -------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = data_access_or_404(request)
    scoped = visible_to(
        request_user(request), purpose=Purpose.RECORDS, access=access
    ).select_related("site", "submission")
    incident = get_in_scope_or_404(scoped, pk=pk)
    masker = Masker.for_access(access)
    raw = {name: _raw_value(incident, name) for name in RAW_FIELDS}
    masked = masker.mask(raw)
    if masked is None:  # second line of defence: never show a record out of level
        deny(request, object_type=audit_object_type(incident), object_id=incident.pk)
    free_text = access.allows("free_text", incident.borough_code, incident.site.borough_code)
    data_access_record(
        action=Action.DATA_VIEWED,
        actor=request_user(request),
        endpoint="pages/incident_detail",
        filters={"id": [str(incident.pk)], "hospital": [incident.site.site_code]},
        row_count=1,
        request=request,
    )
    labels = ws_labels.code_labels()
    return render(
        request,
        "incidents/incident_detail.html",
        {
            "incident": incident,
            "row": masked,
            "free_text": free_text,
            "method_label": labels.get("method", {}).get(
                incident.method_code, incident.method_code
            ),
            "location_type_label": labels.get("location_type", {}).get(
                incident.location_type_code, incident.location_type_code
            ),
            "borough_name": ws_labels.borough_name(incident.borough_code),
            "grant_precision": _grant_precision_label(access.precision_for(incident.borough_code)),
            "precision_label": ws_labels.precision_label(masked["precision"]),
            "geo_precision_label": ws_labels.precision_label(incident.geo_precision),
            "ward": ws_labels.named(
                ws_labels.area_names(Area.Kind.WARD, [incident.ward_code]), masked["ward"]
            ),
            "lsoa": ws_labels.named(
                ws_labels.area_names(Area.Kind.LSOA, [incident.lsoa_code]), masked["lsoa"]
            ),
            # The explore page it was opened from (filter, sort and page), sanitised like
            # every page link: only filter and page parameters are carried.
            "back_query": page_query(request, drop=BACK_DROPS),
        },
    )


def _grant_precision_label(precision: str | None) -> str:
    return dict(AccessGrant.Precision.choices).get(precision or "", precision or "")


def _raw_value(incident: Any, name: str) -> Any:
    if name.startswith("site__"):
        return getattr(incident.site, name.removeprefix("site__"))
    return getattr(incident, name)


# --- charts ----------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def charts(request: HttpRequest) -> HttpResponse:
    access, fs, context = counts_page(request, "charts")
    if fs.is_valid():
        tables = ws_charts.chart_tables(
            fs.qs, access, fs.applied(), release=fs.release_obj, scope=GridScope.of(fs)
        )
        month, week, methods, places, heat = (
            tables.month,
            tables.week,
            tables.methods,
            tables.places,
            tables.heat,
        )
        # One disclosure note per page (every protected table carries the same one);
        # a grouping refused as too sparse says why in its own place instead.
        notes = [t.note for t in (month, week, methods, places) if t.note and not t.refused]
        refusals = [t.note for t in (month, week, methods, places) if t.note and t.refused]
        if heat.note:
            (refusals if not heat.rows else notes).append(heat.note)
        context.update(
            {
                "month": month,
                "week": week,
                "methods": methods,
                "places": places,
                "heat": heat,
                "weekday_names": ws_charts.WEEKDAY_NAMES,
                "month_trend": tables.month_trend,
                "week_trend": tables.week_trend,
                "month_trend_note": trend_note(tables.month_trend),
                "week_trend_note": trend_note(tables.week_trend, "week"),
                "disclosure_note": notes[0] if notes else None,
                "refusals": list(dict.fromkeys(refusals)),
                "total": month.total,
                "chart_data": {
                    "month": trend_chart(month.title, tables.month_trend),
                    "week": trend_chart(week.title, tables.week_trend),
                    "method": methods.as_chart(),
                    "location_type": places.as_chart(),
                },
            }
        )
        audit_view(request, page="charts", fs=fs, rows=month.total)
    return render(request, "incidents/charts.html", context, status=200 if fs.is_valid() else 400)
