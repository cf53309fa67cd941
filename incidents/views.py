"""The analyst workspace pages: dashboard, explore (table, charts, map), record detail,
saved queries, downloads and the hospital transparency page.

Every page starts from the one filter set on top of the scoping chokepoint; anything
outside the viewer's scope answers 404; every view of incident data writes one
``data.viewed`` audit event with the filter and the row count; every page sends
``Cache-Control: no-store`` (``never_cache``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import EffectiveAccess, effective_access
from accounts.audit.denials import get_in_scope_or_404
from accounts.audit.models import Action
from accounts.audit.patterns import check_aggregate_pattern
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from incidents import monitoring
from incidents.aggregates import (
    GEO_CLASSES,
    NOT_LOCATED,
    GridScope,
    GroupByError,
    SparseGroupingError,
    aggregate_counts,
    needs_protection,
)
from incidents.completeness import trend_chart, trend_note
from incidents.filters import WEEKDAYS, IncidentFilterSet
from incidents.masking import RAW_FIELDS, Masker
from incidents.models import HarmonisedCode, Release
from incidents.release_notes import latest_release_note
from incidents.selectors import (
    hospitals_visible_to,
    saved_queries_visible_to,
    scope_q,
    visible_to,
)
from incidents.services import SavedQueryError, data_access_record, saved_query_create
from incidents.workspace import (
    charts as ws_charts,
)
from incidents.workspace import (
    dashboard as ws_dashboard,
)
from incidents.workspace import (
    labels as ws_labels,
)
from incidents.workspace import (
    links as ws_links,
)
from incidents.workspace import (
    maps as ws_maps,
)
from incidents.workspace import (
    pagination as ws_pagination,
)
from incidents.workspace import (
    tables as ws_tables,
)
from incidents.workspace import (
    transparency as ws_transparency,
)
from istv_portal.markdown import render_markdown
from istv_portal.periods import add_months

EXPORT_FORMATS = {
    "csv": "CSV (spreadsheet-friendly text)",
    "xlsx": "Excel workbook (XLSX)",
    "geojson": "GeoJSON (for GIS)",
}
AGGREGATE_EXPORT_FORMATS = {"csv": "CSV", "xlsx": "Excel workbook (XLSX)"}
AGGREGATE_GROUPINGS = {
    "borough,month": "Borough and month",
    "month": "Month",
    "borough": "Borough",
    "ward": "Ward",
    "method,month": "Method and month",
    "location_type,month": "Location type and month",
    "weekday,hour": "Weekday and hour",
    "geo_class": "Location class",
    "geo_class,month": "Location class and month",
}
# The location classes an incident in someone's rows can have (rows awaiting geocoding
# are in nobody's rows: incidents/selectors.py).
LOCATED_CLASS_CHOICES = [(code, label) for code, label in GEO_CLASSES.items() if code != "awaiting"]
PURPOSE_MAX = 300
# Parameters of the pages that are not filters: sorting, paging, map level.
PAGE_PARAMETERS = ("sort", "after", "before", "level")
PAGING = ("after", "before")


def _access(request: HttpRequest) -> EffectiveAccess:
    """The viewer's effective access, computed once per request."""
    cached = getattr(request, "_istv_access", None)
    if cached is None:
        cached = effective_access(request.user)  # type: ignore[arg-type]
        request._istv_access = cached  # type: ignore[attr-defined]
    return cached


def _data_access_or_404(request: HttpRequest) -> EffectiveAccess:
    access = _access(request)
    if not access.has_data_access:
        raise Http404("Not found.")
    return access


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _filterset(
    request: HttpRequest, access: EffectiveAccess, *, records: bool
) -> IncidentFilterSet:
    return IncidentFilterSet(request.GET, user=_user(request), access=access, records=records)


def _audit_view(
    request: HttpRequest,
    *,
    page: str,
    fs: IncidentFilterSet,
    rows: Any,
    extra: dict[str, Any] | None = None,
) -> None:
    protected = needs_protection(_access(request))
    data_access_record(
        action=Action.DATA_VIEWED,
        actor=_user(request),
        endpoint=f"pages/{page}",
        filters=fs.applied(),
        row_count=rows if isinstance(rows, int) else None,
        request=request,
        extra={**(extra or {}), "disclosure_control": protected},
    )
    if protected:  # query auditing (docs/audit.md)
        check_aggregate_pattern(_user(request), request=request)


def _query(request: HttpRequest, *, drop: tuple[str, ...] = PAGE_PARAMETERS, **extra: str) -> str:
    """The request's query string without ``drop`` and with ``extra`` set.

    Only filter and paging parameters are carried into links: anything else someone put
    in the address (a token, a session id) is not repeated on the page (SECURITY 37).
    """
    known = IncidentFilterSet.base_filters.keys() | set(PAGE_PARAMETERS)
    items = [
        (k, v)
        for k in request.GET
        for v in request.GET.getlist(k)
        if k in known and k not in drop and k not in extra and v != ""
    ]
    items += [(k, v) for k, v in extra.items() if v]
    return urlencode(items)


def _panel_context(
    request: HttpRequest, access: EffectiveAccess, fs: IncidentFilterSet
) -> dict[str, Any]:
    """What the shared filter panel needs: choices within scope and the current values."""
    boroughs = sorted(access.boroughs, key=lambda c: LONDON_BOROUGHS.get(c, c))
    hospitals = hospitals_visible_to(_user(request), access=access).order_by("name")

    def ticked(name: str, choices: Iterable[tuple[Any, str]]) -> list[tuple[str, str, bool]]:
        chosen = set(request.GET.getlist(name))
        return [(str(code), label, str(code) in chosen) for code, label in choices]

    return {
        "fs": fs,
        "form_errors": fs.form.errors if not fs.is_valid() else {},
        "value": {name: request.GET.get(name, "") for name in request.GET},
        "borough_choices": ticked("borough", [(c, LONDON_BOROUGHS.get(c, c)) for c in boroughs]),
        "hospital_choices": ticked("hospital", hospitals.values_list("site_code", "name")),
        "method_choices": ticked("method", ws_labels.code_choices(HarmonisedCode.Kind.METHOD)),
        "location_type_choices": ticked(
            "location_type", ws_labels.code_choices(HarmonisedCode.Kind.LOCATION_TYPE)
        ),
        "weekday_choices": ticked("weekday", WEEKDAYS),
        "geo_class_choices": ticked("geo_class", LOCATED_CLASS_CHOICES),
        "release_choices": list(
            Release.objects.order_by("-number").values_list("number", "label")[:36]
        ),
        "free_text_allowed": scope_q(access, "free_text") is not None,
        "changes_since": ws_links.changes_since(request.GET.get("release")),
        "access": access,
        "filter_query": _query(request),
        "tab_query": _query(request, drop=PAGING),
    }


# --- dashboard ---------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    access = _data_access_or_404(request)
    note = latest_release_note()
    fs = IncidentFilterSet({}, user=_user(request), access=access, records=False)
    board = ws_dashboard.dashboard_cached(fs.qs, access)
    _audit_view(
        request,
        page="dashboard",
        fs=fs,
        rows=board.trend.total,
        extra={"months": [add_months(board.month, -23).isoformat(), board.month.isoformat()]},
    )
    return render(
        request,
        "incidents/dashboard.html",
        {
            "board": board,
            "access": access,
            "release_note": note,
            "release_note_html": render_markdown(note.body) if note else "",
            "trend_chart": board.trend_chart,
            "explore_last_month": urlencode(
                {
                    "assault_date_from": board.month.isoformat(),
                    "assault_date_to": (
                        add_months(board.month, 1) - dt.timedelta(days=1)
                    ).isoformat(),
                }
            ),
        },
    )


# --- explore: table ------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    access = _data_access_or_404(request)
    records = access.any_record_level
    fs = _filterset(request, access, records=records)
    context = _panel_context(request, access, fs)
    context["tab"] = "table"
    if fs.is_valid():
        counts_fs = fs if not records else _filterset(request, access, records=False)
        if not access.record_level:
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
            labels = ws_labels.code_labels()
            for row in page.rows:
                row["borough_name"] = ws_labels.borough_name(row["borough"])
                row["method_label"] = labels.get("method", {}).get(row["method"], row["method"])
                row["location_type_label"] = labels.get("location_type", {}).get(
                    row["location_type"], row["location_type"]
                )
            context.update(
                {
                    "records": True,
                    "total": total,
                    "page": page,
                    "sort": sort,
                    "columns": _columns(request, sort),
                    "shows_free_text": masker.shows_free_text,
                    "next_query": _query(request, drop=PAGING, after=page.next_cursor or ""),
                    "previous_query": _query(
                        request, drop=PAGING, before=page.previous_cursor or ""
                    ),
                }
            )
            _audit_view(request, page="explore", fs=fs, rows=total, extra={"shown": len(page.rows)})
        else:
            table = context["borough_counts"]
            context["total"] = table.total
            context["month_counts"] = ws_tables.count_table(
                fs.qs, "month", title="Incidents by month", access=access, scope=GridScope.of(fs)
            )
            _audit_view(request, page="explore", fs=fs, rows=table.total)
    context["save_form"] = SaveQueryForm()
    return render(request, "incidents/explore.html", context, status=200 if fs.is_valid() else 400)


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
                "query": _query(request, drop=PAGE_PARAMETERS, sort=value),
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
    access = _data_access_or_404(request)
    scoped = visible_to(_user(request), records=True, access=access).select_related(
        "site", "submission"
    )
    incident = get_in_scope_or_404(scoped, pk=pk)
    masker = Masker.for_access(access)
    raw = {name: _raw_value(incident, name) for name in RAW_FIELDS}
    masked = masker.mask(raw)
    if masked is None:  # second line of defence: never show a record out of level
        raise Http404("Not found.")
    free_text = access.allows("free_text", incident.borough_code, incident.site.borough_code)
    data_access_record(
        action=Action.DATA_VIEWED,
        actor=_user(request),
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
            "grant_precision": access.precision_for(incident.borough_code),
            "back_query": request.GET.get("back", ""),
        },
    )


def _raw_value(incident: Any, name: str) -> Any:
    if name.startswith("site__"):
        return getattr(incident.site, name.removeprefix("site__"))
    return getattr(incident, name)


# --- charts ----------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def charts(request: HttpRequest) -> HttpResponse:
    access = _data_access_or_404(request)
    fs = _filterset(request, access, records=False)
    context = _panel_context(request, access, fs)
    context["tab"] = "charts"
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
        notes = [t.note for t in (month, week, methods, places) if t.note]
        if heat.note:
            notes.append(heat.note)
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
                "notes": list(dict.fromkeys(notes)),
                "total": month.total,
                "chart_data": {
                    "month": trend_chart(month.title, tables.month_trend),
                    "week": trend_chart(week.title, tables.week_trend),
                    "method": methods.as_chart(),
                    "location_type": places.as_chart(),
                },
            }
        )
        _audit_view(request, page="charts", fs=fs, rows=month.total)
    return render(request, "incidents/charts.html", context, status=200 if fs.is_valid() else 400)


# --- map -------------------------------------------------------------------------------------


def _level(request: HttpRequest) -> str:
    level = request.GET.get("level", "borough")
    return level if level in ws_maps.MAP_LEVELS else "borough"


@login_required
@never_cache
@require_GET
def map_view(request: HttpRequest) -> HttpResponse:
    access = _data_access_or_404(request)
    fs = _filterset(request, access, records=False)
    context = _panel_context(request, access, fs)
    level = _level(request)
    not_located = refused = None
    if fs.is_valid():
        scope = GridScope.of(fs)
        try:
            areas = aggregate_counts(fs.qs, [level], protect=needs_protection(access), scope=scope)
        except GroupByError as error:
            refused = str(error)
        else:
            not_located = ws_maps.not_located_note(fs.qs, level, areas, access, scope)
    context.update(
        {
            "tab": "map",
            "level": level,
            "not_located": not_located,
            "map_refused": refused,
            "awaiting_geocode": ws_maps.awaiting_geocode_note(fs, access),
            "levels": [("borough", "Borough"), ("ward", "Ward"), ("lsoa", "LSOA")],
            "map_config": {
                "dataUrl": f"{reverse('incidents:map_data')}?{_query(request, drop=PAGING)}",
                "boundariesUrl": f"{reverse('incidents:map_boundaries')}?level={level}",
                "tileUrl": settings.MAP_TILE_URL,
                "level": level,
            },
        }
    )
    return render(request, "incidents/map.html", context, status=200 if fs.is_valid() else 400)


@login_required
@never_cache
@require_GET
def map_data(request: HttpRequest) -> JsonResponse:
    """Choropleth counts (protected for aggregate users) and, for record-level users, a
    density grid of their masked points. One audit event: the map's view of the data."""
    access = _data_access_or_404(request)
    fs = _filterset(request, access, records=False)
    if not fs.is_valid():
        return JsonResponse({"errors": fs.form.errors}, status=400)
    level = _level(request)
    scope = GridScope.of(fs)
    try:
        result = aggregate_counts(fs.qs, [level], protect=needs_protection(access), scope=scope)
    except SparseGroupingError as refused:
        # Too few incidents to shade areas at this level for this viewer: say so.
        _audit_view(request, page="map", fs=fs, rows=None, extra={"level": level})
        awaiting = ws_maps.awaiting_geocode_note(fs, access)
        return JsonResponse(
            {"level": level, "areas": {}, "names": {}, "total": refused.total,
             "refused": str(refused), "notLocated": None, "grid": None,
             "awaitingGeocode": awaiting.as_json() if awaiting is not None else None}
        )  # fmt: skip
    areas = {str(r[level]): r["count"] for r in result.results if r[level] != NOT_LOCATED}
    body: dict[str, Any] = {
        "level": level,
        "areas": areas,
        "names": ws_maps.area_names(level, areas),
        "total": result.total,
        "disclosure": result.note if result.disclosure_control.get("applied") else None,
        "notLocated": ws_maps.not_located_note(fs.qs, level, result, access, scope).as_json(),
        "grid": None,
    }
    awaiting = ws_maps.awaiting_geocode_note(fs, access)
    body["awaitingGeocode"] = awaiting.as_json() if awaiting is not None else None
    if access.any_record_level:
        records = _filterset(request, access, records=True)
        grid, used, capped = ws_maps.density_grid(records.qs, Masker.for_access(access))
        body.update(
            {
                "grid": grid,
                "gridRows": used,
                "gridCapped": capped,
                "gridLimit": ws_maps.MAX_MAP_ROWS,
            }
        )
    _audit_view(request, page="map", fs=fs, rows=result.total, extra={"level": level})
    return JsonResponse(body)


@login_required
@never_cache
@require_GET
def map_boundaries(request: HttpRequest) -> HttpResponse:
    """Simplified GeoJSON boundaries from the gazetteer (public geography, within scope)."""
    access = _data_access_or_404(request)
    text = ws_maps.boundaries_geojson(_level(request), access.boroughs)
    return HttpResponse(text, content_type="application/geo+json")


# --- saved queries ---------------------------------------------------------------------------


class SaveQueryForm(forms.Form):
    name = forms.CharField(label="Name of the query", max_length=120)
    shared = forms.BooleanField(label="Share with my organisation", required=False)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def saved_query_list(request: HttpRequest) -> HttpResponse:
    access = _data_access_or_404(request)
    user = _user(request)
    if request.method == "POST":
        form = SaveQueryForm(request.POST)
        fs = IncidentFilterSet(request.GET, user=user, access=access, records=False)
        if form.is_valid() and fs.is_valid():
            release = fs.release_obj or Release.objects.order_by("-number").first()
            params = {k: v for k, v in fs.applied().items() if k != "release"}
            try:
                saved_query_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    params=params,
                    release=release,
                    shared_with_organisation=form.cleaned_data["shared"],
                    request=request,
                )
            except SavedQueryError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "Query saved.")
                return redirect("incidents:saved_query_list")
        else:
            messages.error(request, "Give the query a name, and check the filter.")
        return redirect(f"{reverse('incidents:explore')}?{_query(request)}")
    saved = list(saved_queries_visible_to(user))
    mine = [s for s in saved if s.owner_id == user.pk]
    shared = [s for s in saved if s.owner_id != user.pk]
    return render(
        request,
        "incidents/saved_query_list.html",
        {"mine": mine, "shared": shared, "access": access},
    )


@login_required
@never_cache
@require_GET
def saved_query_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-apply a saved query, pinned to its release, for the viewer's own access."""
    _data_access_or_404(request)
    saved = get_in_scope_or_404(saved_queries_visible_to(_user(request)), pk=pk)
    items = ws_links.query_items({k: v for k, v in saved.params.items() if k != "release"})
    if saved.release is not None:
        items.append(("release", str(saved.release.number)))
    return redirect(f"{reverse('incidents:explore')}?{urlencode(items)}")


# --- downloads -------------------------------------------------------------------------------


class DownloadForm(forms.Form):
    format = forms.ChoiceField(label="Format", choices=())
    purpose = forms.CharField(
        label="Why do you need this download?",
        help_text="Your purpose is recorded with the download and shown to the hospitals "
        "whose data it holds.",
        max_length=PURPOSE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self, *args: Any, formats: dict[str, str], purpose_required: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choice = self.fields["format"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = list(formats.items())
        self.fields["purpose"].required = purpose_required


class AggregateDownloadForm(DownloadForm):
    group_by = forms.ChoiceField(label="Counts by", choices=list(AGGREGATE_GROUPINGS.items()))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def download(request: HttpRequest) -> HttpResponse:
    """Choose a format (and state a purpose), then hand off to the streaming export API."""
    access = _data_access_or_404(request)
    if scope_q(access, "download_counts") is None:
        raise PermissionDenied("Your organisation's access does not include downloads.")
    record_download = scope_q(access, "download") is not None
    fs = IncidentFilterSet(
        request.GET, user=_user(request), access=access, records=record_download, downloads=True
    )
    form: DownloadForm
    if record_download:
        form = DownloadForm(request.POST or None, formats=EXPORT_FORMATS, purpose_required=True)
    else:
        form = AggregateDownloadForm(
            request.POST or None, formats=AGGREGATE_EXPORT_FORMATS, purpose_required=False
        )
    if request.method == "POST" and form.is_valid() and fs.is_valid():
        items = ws_links.filter_query_items(fs)
        purpose = form.cleaned_data.get("purpose", "").strip()
        fmt = form.cleaned_data["format"]
        if record_download:
            target = reverse("api:export-incidents", kwargs={"fmt": fmt})
        else:
            target = reverse("api:export-aggregates", kwargs={"fmt": fmt})
            items.append(("group_by", form.cleaned_data["group_by"]))
        if purpose:
            items.append(("purpose", purpose))
        # A zip of the data, its data dictionary and the manifest (query, release, row
        # count, recipient, SHA-256 and any disclosure note), as the page promises.
        items.append(("package", "zip"))
        # 303: the browser fetches the export with GET; the export endpoint audits it.
        return _see_other(f"{target}?{urlencode(items)}")
    context = _panel_context(request, access, fs)
    context.update(
        {
            "tab": "download",
            "form": form,
            "record_download": record_download,
            "mixed": record_download and not access.record_level,
            "applied": fs.applied() if fs.is_valid() else {},
        }
    )
    return render(
        request, "incidents/download.html", context, status=400 if request.method == "POST" else 200
    )


def _see_other(url: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


# --- hospital transparency -------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    """For a hospital liaison: which organisations used their hospital's data, and why."""
    sites = list(ws_transparency.sites_for_liaison(_user(request)))
    if not sites:
        raise Http404("Not found.")
    wanted = request.GET.get("site")
    site = next((s for s in sites if s.site_code == wanted), sites[0])
    rows = ws_transparency.hospital_data_use(site)
    return render(
        request,
        "incidents/transparency.html",
        {"sites": sites, "site": site, "rows": rows, "months": ws_transparency.TRANSPARENCY_MONTHS},
    )


# --- monitoring reports ----------------------------------------------------------------------


def _monitoring_reader_or_404(request: HttpRequest) -> None:
    if not monitoring.can_read_reports(_user(request)):
        raise Http404("Not found.")


@login_required
@never_cache
@require_GET
def monitoring_list(request: HttpRequest) -> HttpResponse:
    _monitoring_reader_or_404(request)
    return render(request, "incidents/monitoring_list.html", {"reports": monitoring.read_index()})


@login_required
@never_cache
@require_GET
def monitoring_file(request: HttpRequest, release: int, name: str) -> FileResponse:
    """One archived file, as an attachment; its download is audited."""
    _monitoring_reader_or_404(request)
    path = monitoring.report_file(release, name)
    if path is None or not path.is_file():
        raise Http404("Not found.")
    data_access_record(
        action=Action.DATA_DOWNLOADED,
        actor=_user(request),
        endpoint="pages/monitoring",
        filters={"release": [str(release)]},
        row_count=None,
        request=request,
        extra={"file": name, "disclosure_control": True},
    )
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
