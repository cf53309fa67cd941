"""Incidents, areas and releases for the workspace page tests.

Incidents sit in Southwark, Lambeth and Tower Hamlets (three of the personas' boroughs),
from two hospital sites, spread over the last complete month and the same month a year
before. Boroughs get small square boundaries so the map and masking have geography.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from hospitals.models import HospitalSite, Submission
from incidents.geocoding.models import Area
from incidents.masking import reset_geography_cache
from incidents.models import HarmonisedCode, Incident, Release
from istv_portal.periods import add_months, last_complete_month
from tests.personas import LAMBETH, SOUTHWARK

TOWER_HAMLETS = "E09000030"
# (borough, west, south) of a 0.02° square boundary; points fall inside their borough.
SQUARES = {SOUTHWARK: (-0.09, 51.47), LAMBETH: (-0.13, 51.47), TOWER_HAMLETS: (-0.05, 51.51)}
# A filter naming the three boroughs with data: a grid of every London borough would be
# too sparse for an aggregate-only viewer's counts to publish.
BOROUGHS_WITH_DATA = "&".join(f"borough={code}" for code in SQUARES)


def _square(west: float, south: float, size: float = 0.02) -> str:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


@pytest.fixture
def areas(db: None) -> None:
    for borough, (west, south) in SQUARES.items():
        Area.objects.create(
            kind=Area.Kind.BOROUGH,
            code=borough,
            name=f"Borough {borough}",
            geometry=_square(west, south),
            centroid_lat=south + 0.01,
            centroid_lon=west + 0.01,
        )
        Area.objects.create(
            kind=Area.Kind.LSOA,
            code=f"E01{borough[-6:]}",
            name=f"LSOA {borough}",
            parent_code=borough,
            geometry=_square(west, south, 0.01),
            centroid_lat=south + 0.005,
            centroid_lon=west + 0.005,
        )
    reset_geography_cache()


@pytest.fixture
def codes(db: None) -> None:
    for kind, code, label in (
        ("method", "knife", "Knife or blade"),
        ("method", "body", "Body part"),
        ("location_type", "street", "Street"),
        ("location_type", "home", "Home"),
    ):
        # The reference codes are seeded by a migration; make sure these exist either way.
        HarmonisedCode.objects.update_or_create(kind=kind, code=code, defaults={"label": label})


def make_submission(
    site: HospitalSite, period: dt.date, *, status: str = "published", version: int = 1
) -> Submission:
    return Submission.objects.create(
        site=site,
        period=period,
        version=version,
        status=status,
        stored_name=f"{site.site_code}-{period:%Y%m}-{status}-{Submission.objects.count()}",
        original_name="extract.csv",
        sha256="0" * 64,
        size_bytes=1,
    )


def make_incidents(
    submission: Submission,
    borough: str,
    day: dt.date,
    n: int,
    *,
    method: str = "knife",
    text: str = "outside the station",
    start_row: int = 1,
) -> list[Incident]:
    west, south = SQUARES[borough]
    rows = []
    for i in range(n):
        at = timezone.make_aware(
            dt.datetime.combine(day, dt.time(hour=(i * 5) % 24, minute=i % 60))
        )
        local = timezone.localtime(at)
        rows.append(
            Incident(
                submission=submission,
                site=submission.site,
                source_row=start_row + i,
                assault_at=at,
                assault_time_known=True,
                arrival_at=at + dt.timedelta(hours=1),
                assault_date=local.date(),
                assault_month=local.date().replace(day=1),
                assault_weekday=local.isoweekday(),
                assault_hour=local.hour,
                method_code=method,
                location_type_code="street",
                location_description=text,
                geocode_status="done",
                geo_class="place",
                geo_precision="street",
                lat=south + 0.003 + 0.0001 * i,
                lon=west + 0.003 + 0.0001 * i,
                lsoa_code=f"E01{borough[-6:]}",
                ward_code="",
                borough_code=borough,
                rules=["date_parsed"],
                warnings=[],
            )
        )
    return Incident.objects.bulk_create(rows)


@pytest.fixture
def seeded(
    site_a: HospitalSite, site_b: HospitalSite, areas: None, codes: None
) -> dict[str, object]:
    """Published incidents: last month 12 in Southwark + 9 in Lambeth (site A), 3 in Tower
    Hamlets (site B); a year before 10 in Southwark; plus an unpublished submission's 5."""
    month = last_complete_month()
    year_before = add_months(month, -12)
    sub_a = make_submission(site_a, month)
    sub_b = make_submission(site_b, month)
    sub_old = make_submission(site_a, year_before)
    hidden = make_submission(site_a, add_months(month, -1), status="ready_for_review")
    make_incidents(sub_a, SOUTHWARK, month + dt.timedelta(days=2), 12, text="=HYPERLINK(x)")
    make_incidents(sub_a, LAMBETH, month + dt.timedelta(days=3), 9, method="body", start_row=100)
    make_incidents(sub_b, TOWER_HAMLETS, month + dt.timedelta(days=4), 3)
    make_incidents(sub_old, SOUTHWARK, year_before + dt.timedelta(days=5), 10)
    make_incidents(hidden, SOUTHWARK, month + dt.timedelta(days=6), 5, start_row=500)
    release = Release.objects.create(number=1, label=f"{month:%Y-%m}")
    release.submissions.set([sub_a, sub_b, sub_old])
    return {"month": month, "year_before": year_before, "release": release, "hidden": hidden}


@pytest.fixture
def private_storage(settings: Any, tmp_path: Path) -> Path:
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


@pytest.fixture
def incident_in(seeded: dict[str, object]) -> Callable[[str], Incident]:
    def pick(borough: str) -> Incident:
        return (
            Incident.objects.filter(borough_code=borough, submission__status="published")
            .order_by("id")
            .first()
        )  # type: ignore[return-value]

    return pick
