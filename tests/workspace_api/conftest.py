"""A small published world of incidents for the workspace tests.

Published at site A (RJ122): 3 in Southwark, 2 in Lambeth, 2 in Tower Hamlets.
Unpublished (ready for review) at site B (R1H12): 4 in Tower Hamlets, never visible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.cache import cache

from hospitals.models import HospitalSite, Submission
from incidents.masking import reset_geography_cache
from incidents.models import Incident
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    SOUTHWARK,
    TOWER_HAMLETS,
    geography_create,
    incident_row,
    incidents_create,
    submission_create,
)

COUNTS = {SOUTHWARK: 3, LAMBETH: 2, TOWER_HAMLETS: 2}


@dataclass
class World:
    published: Submission
    unpublished: Submission
    incidents: list[Incident]


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    # Throttle counters live in the cache; geography is cached per process.
    cache.clear()
    reset_geography_cache()


@pytest.fixture
def world(site_a: HospitalSite, site_b: HospitalSite) -> World:
    geography_create()
    published = submission_create(site_a)
    rows = [
        incident_row(
            SOUTHWARK,
            when=dt.datetime(2025, 1, 6, 23, 15, tzinfo=LONDON),
            description='=HYPERLINK("http://x")',
        ),
        incident_row(
            SOUTHWARK, when=dt.datetime(2025, 1, 7, 2, 0, tzinfo=LONDON), method="body_part"
        ),
        incident_row(
            SOUTHWARK,
            when=dt.datetime(2025, 1, 11, 14, 0, tzinfo=LONDON),
            location_type="licensed_premises",
            description="the Red Lion pub",
        ),
        incident_row(LAMBETH, when=dt.datetime(2025, 1, 8, 20, 0, tzinfo=LONDON)),
        incident_row(LAMBETH, when=dt.datetime(2025, 1, 9, 21, 0, tzinfo=LONDON), located=False),
        incident_row(TOWER_HAMLETS, when=dt.datetime(2025, 1, 10, 1, 0, tzinfo=LONDON)),
        incident_row(TOWER_HAMLETS, when=dt.datetime(2025, 1, 12, 3, 0, tzinfo=LONDON)),
    ]
    incidents = incidents_create(published, rows)
    unpublished = submission_create(site_b, status=Submission.Status.READY_FOR_REVIEW)
    incidents_create(unpublished, [incident_row(TOWER_HAMLETS) for _ in range(4)])
    return World(published=published, unpublished=unpublished, incidents=incidents)
