"""Incident data for workspace tests: sites, submissions and incidents, built in bulk.

``incidents_create`` takes plain keyword rows and derives what the pipeline would
(local date, month, weekday, hour, BNG coordinates), then ``bulk_create``s them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pyproj import Transformer

from hospitals.models import HospitalSite, Submission
from incidents.geocoding.models import Area
from incidents.models import Incident, Release

LONDON = ZoneInfo("Europe/London")
SOUTHWARK, LAMBETH, TOWER_HAMLETS = "E09000028", "E09000022", "E09000030"
_to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_counter = itertools.count(1)

# Made-up rectangles in British National Grid metres (not the real boundaries): enough
# for point-in-polygon checks. Each borough gets one ward and one LSOA.
BOXES: dict[str, tuple[int, int, int, int]] = {
    SOUTHWARK: (532200, 174000, 535000, 180000),
    LAMBETH: (529000, 174000, 532200, 180000),
    TOWER_HAMLETS: (533000, 180500, 538000, 183000),
}
WARDS = {SOUTHWARK: "E05011095", LAMBETH: "E05014100", TOWER_HAMLETS: "E05009317"}
LSOAS = {SOUTHWARK: "E01003968", LAMBETH: "E01003014", TOWER_HAMLETS: "E01004201"}


def bng_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    lon, lat = _to_wgs84.transform(easting, northing)
    return lat, lon


def site_get(code: str, borough: str) -> HospitalSite:
    site, _ = HospitalSite.objects.get_or_create(
        site_code=code,
        defaults={
            "name": f"Hospital {code}",
            "trust_code": code[:3],
            "trust_name": f"Trust {code[:3]}",
            "borough_code": borough,
        },
    )
    return site


def submission_create(
    site: HospitalSite,
    *,
    period: dt.date = dt.date(2025, 1, 1),
    status: str = Submission.Status.PUBLISHED,
    version: int = 1,
) -> Submission:
    n = next(_counter)
    return Submission.objects.create(
        site=site,
        period=period,
        version=version,
        status=status,
        stored_name=f"test-{n:08d}",
        original_name="upload.csv",
        sha256=f"{n:064x}",
        size_bytes=100,
    )


def incident_row(
    borough: str,
    *,
    when: dt.datetime = dt.datetime(2025, 1, 15, 22, 30, tzinfo=LONDON),
    time_known: bool = True,
    easting: float | None = None,
    northing: float | None = None,
    located: bool = True,
    method: str = "knife",
    location_type: str = "street",
    description: str = "outside the station",
    precision: str = "venue",
    geo_class: str = "place",
) -> dict[str, Any]:
    box = BOXES[borough]
    if easting is None or northing is None:
        easting, northing = (box[0] + box[2]) / 2 + 37, (box[1] + box[3]) / 2 + 61
    lat, lon = bng_to_wgs84(easting, northing)
    local = when.astimezone(LONDON)
    return {
        "assault_at": when,
        "assault_time_known": time_known,
        "arrival_at": when + dt.timedelta(hours=1),
        "arrival_time_known": True,
        "assault_date": local.date(),
        "assault_month": local.date().replace(day=1),
        "assault_weekday": local.isoweekday(),
        "assault_hour": local.hour if time_known else None,
        "method_code": method,
        "location_type_code": location_type,
        "location_description": description,
        "geocode_status": Incident.GeocodeStatus.DONE,
        "geo_class": geo_class,
        "geo_precision": precision if located else "",
        "lat": lat if located else None,
        "lon": lon if located else None,
        "easting": easting if located else None,
        "northing": northing if located else None,
        "borough_code": borough,
        "ward_code": WARDS.get(borough, ""),
        "lsoa_code": LSOAS.get(borough, ""),
    }


def incidents_create(submission: Submission, rows: Iterable[Mapping[str, Any]]) -> list[Incident]:
    start = submission.incidents.count()
    objects = [
        Incident(submission=submission, site_id=submission.site_id, source_row=start + i, **row)
        for i, row in enumerate(rows, start=1)
    ]
    return Incident.objects.bulk_create(objects)


def release_create(number: int, submissions: Iterable[Submission]) -> Release:
    release = Release.objects.create(number=number, label=f"2025-{number:02d}")
    release.submissions.set(list(submissions))
    return release


def _box_geojson(box: tuple[int, int, int, int]) -> str:
    e0, n0, e1, n1 = box
    ring = [bng_to_wgs84(e, n) for e, n in ((e0, n0), (e1, n0), (e1, n1), (e0, n1), (e0, n0))]
    return json.dumps({"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in ring]]})


def geography_create() -> None:
    """Borough boxes and one LSOA (with its centroid) per borough, as the gazetteer would."""
    for borough, box in BOXES.items():
        geometry = _box_geojson(box)
        clat, clon = bng_to_wgs84((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        Area.objects.create(
            kind=Area.Kind.BOROUGH,
            code=borough,
            name=borough,
            geometry=geometry,
            centroid_lat=clat,
            centroid_lon=clon,
        )
        Area.objects.create(
            kind=Area.Kind.LSOA,
            code=LSOAS[borough],
            name=LSOAS[borough],
            parent_code=borough,
            geometry=geometry,
            centroid_lat=clat,
            centroid_lon=clon,
        )
