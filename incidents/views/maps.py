"""Explore: the map page, its counts and points (JSON), the area boundaries and the
base layer of outlines drawn when no tile server is configured."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from accounts.access import EffectiveAccess
from incidents.aggregates import (
    NOT_LOCATED,
    GridScope,
    GroupByError,
    SparseGroupingError,
    aggregate_counts,
    needs_protection,
)
from incidents.masking import Masker
from incidents.selectors import Purpose
from incidents.views.common import (
    PAGING,
    audit_view,
    counts_page,
    data_access_or_404,
    page_filterset,
    page_query,
)
from incidents.workspace import maps as ws_maps


def _level(request: HttpRequest) -> str:
    level = request.GET.get("level", "borough")
    return level if level in ws_maps.MAP_LEVELS else "borough"


@login_required
@never_cache
@require_GET
def map_view(request: HttpRequest) -> HttpResponse:
    access, fs, context = counts_page(request, "map")
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
            "level": level,
            "not_located": not_located,
            "map_refused": refused,
            "awaiting_geocode": ws_maps.awaiting_geocode_note(fs, access),
            "levels": [("borough", "Borough"), ("ward", "Ward"), ("lsoa", "LSOA")],
            "map_config": {
                "dataUrl": f"{reverse('incidents:map_data')}?{page_query(request, drop=PAGING)}",
                "boundariesUrl": f"{reverse('incidents:map_boundaries')}?level={level}",
                "baseUrl": reverse("incidents:map_base"),
                "tileUrl": settings.MAP_TILE_URL,
                "level": level,
                "scale": {"shades": ws_maps.MAP_SHADES, "suppressed": ws_maps.MAP_SUPPRESSED},
                "attributionUrl": reverse("attribution"),
            },
        }
    )
    return render(request, "incidents/map.html", context, status=200 if fs.is_valid() else 400)


@login_required
@never_cache
@require_GET
def map_data(request: HttpRequest) -> JsonResponse:
    """Choropleth counts (protected for aggregate users) and, for record-level users,
    their masked points. One audit event: the map's view of the data."""
    access = data_access_or_404(request)
    fs = page_filterset(request, access, purpose=Purpose.COUNTS)
    if not fs.is_valid():
        return JsonResponse({"errors": fs.form.errors}, status=400)
    level = _level(request)
    scope = GridScope.of(fs)
    try:
        result = aggregate_counts(fs.qs, [level], protect=needs_protection(access), scope=scope)
    except SparseGroupingError as refused:
        # Too few incidents to shade areas at this level for this viewer: say so. The
        # points a record-level viewer may see are theirs to see all the same.
        audit_view(request, page="map", fs=fs, rows=None, extra={"level": level})
        awaiting = ws_maps.awaiting_geocode_note(fs, access)
        body_refused: dict[str, Any] = {
            "level": level, "areas": {}, "names": {}, "total": refused.total,
            "refused": str(refused), "notLocated": None, "grid": None,
            "awaitingGeocode": awaiting.as_json() if awaiting is not None else None,
            **_record_grid(request, access),
        }  # fmt: skip
        return JsonResponse(body_refused)
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
    body.update(_record_grid(request, access))
    audit_view(request, page="map", fs=fs, rows=result.total, extra={"level": level})
    return JsonResponse(body)


def _record_grid(request: HttpRequest, access: EffectiveAccess) -> dict[str, Any]:
    """The masked points a record-level viewer may see, grouped by position shown, under
    ``grid`` (nothing for anyone else: an aggregate-only viewer gets no points and so no
    cluster counts, which would be unprotected small counts)."""
    if not access.any_record_level:
        return {}
    records = page_filterset(request, access, purpose=Purpose.RECORDS)
    grid, used, capped = ws_maps.masked_points(records.qs, Masker.for_access(access))
    return {"grid": grid, "gridRows": used, "gridCapped": capped, "gridLimit": ws_maps.MAX_MAP_ROWS}


@login_required
@never_cache
@require_GET
def map_boundaries(request: HttpRequest) -> HttpResponse:
    """Simplified GeoJSON boundaries from the gazetteer (public geography, within scope)."""
    access = data_access_or_404(request)
    text = ws_maps.boundaries_geojson(_level(request), access.boroughs)
    return HttpResponse(text, content_type="application/geo+json")


@login_required
@never_cache
@gzip_page
@require_GET
def map_base(request: HttpRequest) -> HttpResponse:
    """The light base map drawn when no tile server is configured: borough and ward
    outlines and borough names (GeoJSON), served by the portal so the map needs nothing
    from outside. Same 404 rule as the other map endpoints; not audited, because it is
    public geography with no incident data in it (the map's data request is audited).
    Compressed: it is the map's largest response and holds nothing secret."""
    access = data_access_or_404(request)
    text = ws_maps.base_layer_geojson(access.boroughs)
    return HttpResponse(text, content_type="application/geo+json")
