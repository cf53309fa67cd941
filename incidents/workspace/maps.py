"""The map page: area boundaries, the density grid, and the notes on what the map cannot
plot (incidents with no place, rows awaiting geocoding)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet, Sum

from accounts.access import EffectiveAccess
from incidents.aggregates import (
    GEO_CLASSES,
    NOT_LOCATED,
    AggregateResult,
    GridScope,
    aggregate_counts,
    needs_protection,
)
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    publish_cell,
)
from incidents.filters import IncidentFilterSet
from incidents.geocoding.models import Area
from incidents.masking import RAW_FIELDS, Masker
from incidents.models import Incident
from incidents.selectors import awaiting_geocode
from incidents.workspace.labels import borough_name

# --- map ----------------------------------------------------------------------------------

MAP_LEVELS = ("borough", "ward", "lsoa")
# Douglas-Peucker tolerance in degrees (about 50 m, 20 m and 10 m in London).
SIMPLIFY = {"borough": 0.0005, "ward": 0.0002, "lsoa": 0.0001}
MAX_MAP_ROWS = 20_000  # newest first; the page says when a layer was capped
POINT_DECIMALS = 5  # masked points closer than about a metre are drawn as one marker
BOUNDARY_CACHE_SECONDS = 24 * 3600
# The one colour scale of the map: map.js shades the areas and draws the legend from it
# (the page passes it in the map's configuration), so the two cannot drift apart. Light
# to dark GOV.UK blues for "none" to "most"; grey, drawn hatched-dashed, for suppressed.
MAP_SHADES = ("#ffffff", "#d2e2f1", "#a5c5e3", "#5694ca", "#1d70b8", "#003078")
MAP_SUPPRESSED = "#b1b4b6"
# The base layer drawn when no tile server is configured: ward lines simplified to about
# 25 m, borough lines to about 50 m (a context sketch, not the shaded areas).
BASE_SIMPLIFY = {"ward": 0.0003, "borough": 0.0005}


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


def _outline(geometries: list[str], tolerance: float) -> dict[str, Any]:
    """The boundaries of ``geometries`` as one MultiLineString: an edge two areas share is
    drawn once, then simplified (line ends, where three areas meet, stay put)."""
    shapes = [shapely.boundary(shapely.from_geojson(g)) for g in geometries]
    lines = shapely.line_merge(shapely.union_all(shapes)) if shapes else shapely.MultiLineString()
    simple = shapely.set_precision(shapely.simplify(lines, tolerance), 1e-5)
    return dict(json.loads(shapely.to_geojson(simple)))


def base_layer_geojson(boroughs: Iterable[str]) -> str:
    """The light base map drawn when no tile server is configured, as GeoJSON: the outline
    of every London borough with a label point for its name, and the ward outlines of
    ``boroughs``. Public geography from the gazetteer, no incident data; cached per
    gazetteer state and borough set.

    Borough outlines cover all of London (33 areas, small) so a borough analyst still
    sees where their area sits; wards are limited to the viewer's boroughs to keep the
    payload small, as ``boundaries_geojson`` does.
    """
    codes = sorted(boroughs)
    borough_areas = Area.objects.filter(kind=Area.Kind.BOROUGH)
    ward_areas = Area.objects.filter(kind=Area.Kind.WARD, parent_code__in=codes)
    stats = Area.objects.filter(kind__in=[Area.Kind.BOROUGH, Area.Kind.WARD]).aggregate(
        n=Count("id"), last=Max("id")
    )
    digest = hashlib.sha256(",".join(codes).encode()).hexdigest()[:16]
    key = f"incidents:map-base:{digest}:{stats['n']}:{stats['last']}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    rows = list(borough_areas.order_by("code").values_list("code", "name", "geometry"))
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {"layer": "ward"},
            "geometry": _outline(
                list(ward_areas.values_list("geometry", flat=True)), BASE_SIMPLIFY["ward"]
            ),
        },
        {
            "type": "Feature",
            "properties": {"layer": "borough"},
            "geometry": _outline([g for _c, _n, g in rows], BASE_SIMPLIFY["borough"]),
        },
    ]
    for code, _name, geometry in rows:
        # A point inside the borough (a centroid can fall outside an odd shape).
        inside = shapely.point_on_surface(shapely.from_geojson(geometry))
        features.append(
            {
                "type": "Feature",
                "properties": {"layer": "label", "code": code, "name": borough_name(code)},
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(inside.x, 5), round(inside.y, 5)],
                },
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


def masked_points(
    queryset: QuerySet[Incident], masker: Masker
) -> tuple[list[dict[str, Any]], int, bool]:
    """The points a record-level viewer may see, grouped by the position shown:
    (points with their incident counts, rows used, capped).

    Grouping happens *after* masking, so a point never says more than the viewer's masked
    records would (a snapped viewer's points sit on 250 m cell centres, an LSOA-precision
    viewer's on LSOA centroids). The page clusters them until zoomed in.
    """
    rows = queryset.order_by("-assault_at", "-id").values(*RAW_FIELDS)[: MAX_MAP_ROWS + 1]
    counts: dict[tuple[float, float], int] = {}
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
        key = (round(masked["lat"], POINT_DECIMALS), round(masked["lon"], POINT_DECIMALS))
        counts[key] = counts.get(key, 0) + 1
    out = [{"lat": lat, "lon": lon, "count": n} for (lat, lon), n in counts.items()]
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
    """The map's note about incidents awaiting geocoding (stored while the geocoder was
    unavailable), or None.

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
