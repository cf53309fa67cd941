"""The shared filter set: plain queries (no DISTINCT sort over the whole result), and each
filter narrows the API and the explore page to exactly the rows within its bounds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from hospitals.models import HospitalSite
from incidents.filters import IncidentFilterSet
from incidents.models import Incident
from incidents.selectors import Purpose
from tests.workspace_api.conftest import World
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    SOUTHWARK,
    TOWER_HAMLETS,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db


def test_multi_value_filters_do_not_make_the_query_distinct(mps_analyst):
    fs = IncidentFilterSet(
        {"borough": ["E09000028", "E09000022"], "weekday": ["6", "7"]},
        user=mps_analyst,
        purpose=Purpose.RECORDS,
    )
    assert fs.is_valid(), fs.errors
    assert not fs.qs.query.distinct
    assert "DISTINCT" not in str(fs.qs.query).upper()


# --- every filter narrows, with both ends inclusive -------------------------------------------

URL = "/api/v1/incidents/"
# Codes in the boroughs' own GSS ranges that no ``world`` row carries, so a ward or LSOA
# filter is seen to narrow within a borough, not merely to act like ``borough``.
OTHER_WARD, OTHER_LSOA = "E05011096", "E01003969"


def _local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


@pytest.fixture
def edges(world: World, site_a: HospitalSite) -> dict[str, Incident]:
    """Published rows on either side of each filter's boundary, on top of ``world``.

    Arrivals straddle local midnight in British Summer Time, when the London date and the
    UTC date differ for the hour after midnight: a filter on UTC dates would misplace
    ``jul01_0030`` and ``jul02_0030``. Every assault here is at noon on 30 June (arriving an
    hour later unless named for its arrival).
    """
    noon = _local(2025, 6, 30, 12, 0)
    arrivals = {
        "jun30_2330": _local(2025, 6, 30, 23, 30),
        "jul01_0030": _local(2025, 7, 1, 0, 30),
        "jul01_2330": _local(2025, 7, 1, 23, 30),
        "jul02_0030": _local(2025, 7, 2, 0, 30),
    }
    rows = {name: {**incident_row(SOUTHWARK, when=noon), "arrival_at": at}
            for name, at in arrivals.items()}  # fmt: skip
    rows["other_ward"] = {**incident_row(SOUTHWARK, when=noon), "ward_code": OTHER_WARD}
    rows["other_lsoa"] = {**incident_row(SOUTHWARK, when=noon), "lsoa_code": OTHER_LSOA}
    rows["home"] = incident_row(LAMBETH, when=noon, geo_class="home")
    rows["vague"] = incident_row(LAMBETH, when=noon, geo_class="vague")
    rows["time_unknown"] = incident_row(TOWER_HAMLETS, when=noon, time_known=False)
    submission = submission_create(site_a, period=dt.date(2025, 6, 1))
    created = incidents_create(submission, rows.values())
    return dict(zip(rows, created, strict=True))


def _world_ids(world: World, **match: object) -> set[int]:
    """``world`` rows whose attributes equal ``match`` (the fixture's known facts)."""
    return {i.pk for i in world.incidents if all(getattr(i, k) == v for k, v in match.items())}


def _hours(world: World, low: int, high: int) -> set[int]:
    return {
        i.pk
        for i in world.incidents
        if i.assault_hour is not None and low <= i.assault_hour <= high
    }


def _api_ids(client: APIClient, params: dict[str, object]) -> set[int]:
    response = client.get(URL, {**params, "page_size": 200})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["next"] is None
    return {row["id"] for row in body["results"]}


def test_each_filter_returns_exactly_the_rows_within_its_bounds(
    world: World, edges: dict[str, Incident], api_as, mps_analyst, client, login_as
) -> None:
    e = {name: row.pk for name, row in edges.items()}
    everything = _world_ids(world) | set(e.values())
    # The world's arrivals are all in January 2025, before every date used here.
    july = {e["jul01_0030"], e["jul01_2330"]}
    # Rows not named for their arrival arrive at 13:00 on 30 June, with ``jun30_2330``.
    june30 = set(e.values()) - july - {e["jul02_0030"]}
    cases: list[tuple[dict[str, object], set[int]]] = [
        ({}, everything),
        ({"arrival_date_from": "2025-07-01"}, july | {e["jul02_0030"]}),
        ({"arrival_date_to": "2025-07-01"}, everything - {e["jul02_0030"]}),
        ({"arrival_date_to": "2025-06-30"}, everything - july - {e["jul02_0030"]}),
        ({"arrival_date_from": "2025-07-01", "arrival_date_to": "2025-07-01"}, july),
        ({"arrival_date_from": "2025-06-30", "arrival_date_to": "2025-06-30"}, june30),
        # Ward and LSOA: lower case is accepted; the other Southwark code is not matched.
        ({"ward": "e05011095"}, _world_ids(world, borough_code=SOUTHWARK) | (
            set(e.values()) - {e["other_ward"], e["home"], e["vague"], e["time_unknown"]})),
        ({"ward": OTHER_WARD}, {e["other_ward"]}),
        ({"ward": [OTHER_WARD, "E05014100"]},
         _world_ids(world, borough_code=LAMBETH) | {e["other_ward"], e["home"], e["vague"]}),
        ({"lsoa": OTHER_LSOA}, {e["other_lsoa"]}),
        ({"lsoa": [OTHER_LSOA, "E01004201"]},
         _world_ids(world, borough_code=TOWER_HAMLETS) | {e["other_lsoa"], e["time_unknown"]}),
        ({"geo_class": "home"}, {e["home"]}),
        ({"geo_class": ["home", "vague"]}, {e["home"], e["vague"]}),
        ({"geo_class": "place"}, everything - {e["home"], e["vague"]}),
        # One end of the hour range alone: inclusive, and never a row whose time is unknown.
        # World hours: 23, 2, 14 (Southwark), 20, 21 (Lambeth), 1, 3 (Tower Hamlets).
        ({"hour_from": "21"}, _hours(world, 21, 23)),
        ({"hour_from": "23"}, _hours(world, 23, 23)),
        ({"hour_to": "2"}, _hours(world, 0, 2)),
        ({"hour_to": "1"}, _hours(world, 0, 1)),
        ({"hour_from": "12"}, _hours(world, 12, 23) | (set(e.values()) - {e["time_unknown"]})),
    ]  # fmt: skip
    api = api_as(mps_analyst)
    login_as(mps_analyst)
    for params, expected in cases:
        assert _api_ids(api, params) == expected, params
        page = client.get(reverse("incidents:explore"), params)
        assert page.status_code == 200, params
        assert page.context["total"] == len(expected), params
    # The fixture really does straddle the hour boundaries it claims to.
    assert len(_hours(world, 21, 23)) == 2 and len(_hours(world, 0, 2)) == 2
