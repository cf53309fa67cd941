"""GET /api/v1/aggregates/: scope, disclosure control per grant, SECURITY 19 property test
(aggregates, map and export counts for random grants)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import AccessGrant, ApiToken
from accounts.services import api_token_create
from tests.factories import (
    AccessGrantFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    login_verified,
)
from tests.workspace_api.conftest import COUNTS
from tests.workspace_api.factories import (
    LONDON,
    SOUTHWARK,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/aggregates/"
CAMDEN = "E09000007"


def test_record_user_gets_exact_counts(world, api_as, mps_analyst) -> None:
    body = api_as(mps_analyst).get(URL, {"group_by": "borough"}).json()
    assert {r["borough"]: r["count"] for r in body["results"]} == COUNTS
    assert body["disclosure_control"]["applied"] is False
    assert body["total"] == sum(COUNTS.values())


def test_aggregate_user_gets_disclosure_control(world, api_as, aggregate_user, site_a) -> None:
    extra = submission_create(site_a, period=dt.date(2025, 2, 1))
    incidents_create(
        extra,
        [
            incident_row(SOUTHWARK, when=dt.datetime(2025, 2, 3, 12, tzinfo=LONDON))
            for _ in range(9)
        ],
    )
    response = api_as(aggregate_user).get(URL, {"group_by": "borough,month"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    counts = {(r["borough"], r["month"]): r["count"] for r in body["results"]}
    assert counts[(SOUTHWARK, "2025-02")] in (10, "*")  # 9 rounds to 10 unless a complement
    assert all(v == "*" or (isinstance(v, int) and (v == 0 or v % 5 == 0)) for v in counts.values())
    assert all(counts[k] == "*" for k in counts if k[1] == "2025-01")  # 2 or 3: suppressed
    control = body["disclosure_control"]
    assert control["applied"] is True and control["suppressed_up_to"] == 7
    assert "suppress" in control["note"].lower()


def test_group_by_is_validated(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    for value in ("", "colour", "borough,borough", "month,week,hour,borough"):
        assert client.get(URL, {"group_by": value}).status_code == 400


def test_every_dimension_works_in_one_query(
    world, api_as, mps_analyst, django_assert_max_num_queries
) -> None:
    client = api_as(mps_analyst)
    for dim in ("month", "week", "weekday", "hour", "borough", "ward", "lsoa", "hospital",
                "method", "location_type", "precision"):  # fmt: skip
        body = client.get(URL, {"group_by": dim}).json()
        assert sum(r["count"] for r in body["results"]) == sum(COUNTS.values()), dim
    with django_assert_max_num_queries(22):
        client.get(URL, {"group_by": "hospital,month"})


def test_tampered_borough_gives_nothing(world, api_as, southwark_analyst) -> None:
    body = (
        api_as(southwark_analyst).get(URL, {"group_by": "borough", "borough": "E09000022"}).json()
    )
    assert body["results"] == []


def test_liaison_and_outsider_refused(world, api_as, liaison_a, outsider) -> None:
    for user in (liaison_a, outsider):
        assert api_as(user).get(URL, {"group_by": "borough"}).status_code == 403


# --- SECURITY 19: counts equal the counts over permitted boroughs, for random grants -------

BOROUGH_POOL = sorted([*COUNTS, CAMDEN])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pan_london=st.booleans(),
    boroughs=st.sets(st.sampled_from(BOROUGH_POOL), min_size=1),
    level=st.sampled_from([AccessGrant.Level.RECORD, AccessGrant.Level.AGGREGATE]),
    second=st.one_of(st.none(), st.sets(st.sampled_from(BOROUGH_POOL), min_size=1)),
)
def test_counts_cover_permitted_boroughs_only(world, pan_london, boroughs, level, second) -> None:
    cache.clear()  # one export per example; keep the export throttle out of it
    organisation = OrganisationFactory()
    user = UserFactory()
    MembershipFactory(user=user, organisation=organisation)
    AccessGrantFactory(
        organisation=organisation, pan_london=pan_london, boroughs=sorted(boroughs), level=level
    )
    if second is not None:  # a second, aggregate-only grant elsewhere
        AccessGrantFactory(
            organisation=organisation,
            pan_london=False,
            boroughs=sorted(second),
            level=AccessGrant.Level.AGGREGATE,
        )
    permitted = set(COUNTS) if pan_london else set(boroughs) | (second or set())
    record = (
        set(COUNTS)
        if pan_london and level == "record"
        else (set(boroughs) if level == "record" else set())
    )
    expected = {b: n for b, n in COUNTS.items() if b in permitted}

    client = APIClient()
    token = api_token_create(actor=user, name="t", days=1).token
    client.force_authenticate(user=user, token=ApiToken.objects.get(pk=token.pk))

    body = client.get(URL, {"group_by": "borough"}).json()
    got = {r["borough"]: r["count"] for r in body["results"]}
    assert set(got) == set(expected)
    if body["disclosure_control"]["applied"]:
        # Counts of 1-7 hide as "*"; our world has only such counts.
        assert all(v == "*" for v in got.values())
    else:
        assert got == expected

    response = client.get("/api/v1/exports/incidents.csv", {"purpose": "property test"})
    exported: list[dict[str, str]] = []
    if not record:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        exported = list(csv.DictReader(io.StringIO(text)))
        assert len(exported) == sum(COUNTS[b] for b in record if b in COUNTS)
        assert {r["borough"] for r in exported} <= record

    # The map: choropleth over the same boroughs; its density grid holds exactly the
    # exported rows that have a location the user may see, and nothing when not record level.
    pages = Client()
    login_verified(pages, user)
    mapped = pages.get(reverse("incidents:map_data"), {"level": "borough"}).json()
    assert set(mapped["areas"]) == set(expected)
    if not record:
        assert mapped["grid"] is None
    else:
        assert sum(c["count"] for c in mapped["grid"]) == sum(1 for r in exported if r["lat"])
