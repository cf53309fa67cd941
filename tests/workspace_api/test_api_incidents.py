"""GET /api/v1/incidents/: scope per persona, fields per grant, paging, audit, headers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from tests.workspace_api.conftest import COUNTS
from tests.workspace_api.factories import (
    LAMBETH,
    SOUTHWARK,
    TOWER_HAMLETS,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"
ALL = set(COUNTS)

# persona -> boroughs whose records they receive (None: refused with 403)
RECORD_SCOPE = {
    "southwark_analyst": {SOUTHWARK},
    "org_lead": {SOUTHWARK},
    "lambeth_analyst": {LAMBETH},
    "mps_analyst": ALL,
    "mopac_analyst": ALL,
    "data_manager": ALL,
    "aggregate_user": None,
    "liaison_a": None,
    "liaison_b": None,
    "access_admin": None,
    "outsider": None,
}


@pytest.mark.parametrize("persona", sorted(RECORD_SCOPE))
def test_incidents_scope_per_persona(persona, world, api_as, request) -> None:
    user = request.getfixturevalue(persona)
    response = api_as(user).get(URL)
    expected = RECORD_SCOPE[persona]
    assert response["Cache-Control"] == "no-store"
    if expected is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["borough"] for r in rows} == expected
    assert len(rows) == sum(COUNTS[b] for b in expected)  # never the unpublished rows


def test_aggregate_user_is_pointed_to_aggregates(world, api_as, aggregate_user) -> None:
    response = api_as(aggregate_user).get(URL)
    assert response.status_code == 403
    assert "/api/v1/aggregates/" in response.json()["detail"]


def test_item_fields_and_free_text_by_grant(world, api_as, mps_analyst, lambeth_analyst) -> None:
    row = api_as(mps_analyst).get(URL, {"borough": SOUTHWARK}).json()["results"][0]
    for key in ("id", "hospital", "assault_datetime", "borough", "ward", "lsoa", "lat", "lon",
                "method", "location_type", "location_description"):  # fmt: skip
        assert key in row
    assert row["hospital"] == "RJ122"
    lam = api_as(lambeth_analyst).get(URL).json()["results"]
    assert lam and all("location_description" not in r for r in lam)


def test_tampered_borough_and_hospital_give_nothing(world, api_as, southwark_analyst) -> None:
    client = api_as(southwark_analyst)
    for params in ({"borough": LAMBETH}, {"borough": TOWER_HAMLETS}, {"hospital": "R1H12"}):
        response = client.get(URL, params)
        assert response.status_code == 200
        assert response.json()["results"] == []
    both = client.get(URL, {"borough": [SOUTHWARK, LAMBETH]}).json()["results"]
    assert {r["borough"] for r in both} == {SOUTHWARK}


def test_invalid_filters_are_400(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    for params in (
        {"borough": "E09999999"},
        {"assault_date_from": "2025-13-01"},
        {"assault_date_from": "2025-02-01", "assault_date_to": "2025-01-01"},
        {"hour_from": "25"},
        {"release": "999"},
        {"cursor": "not-a-cursor"},
        {"ward": "'; drop table"},
    ):
        response = client.get(URL, params)
        assert response.status_code == 400, params
        assert response["Cache-Control"] == "no-store"


def test_keyset_pages_are_complete_and_stable(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    seen: list[int] = []
    url: str | None = URL + "?page_size=2"
    pages = 0
    while url:
        body = client.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == sum(COUNTS.values())
    full = [r["id"] for r in client.get(URL).json()["results"]]
    assert seen == full  # newest first, same order


def test_filters_apply(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)

    def ids(**params):
        return len(client.get(URL, params).json()["results"])

    assert ids(assault_date_from="2025-01-07", assault_date_to="2025-01-09") == 3
    assert ids(method="body_part") == 1
    assert ids(location_type="licensed_premises") == 1
    assert ids(weekday="1") == 1  # 6 Jan 2025 was a Monday
    assert ids(hour_from="22", hour_to="2") == 3  # wraps past midnight: 23:15, 02:00, 01:00
    assert ids(q="red lion") == 1
    assert ids(hospital="RJ122") == 7
    assert ids(precision="venue") == 6


def test_q_refused_without_free_text(world, api_as, lambeth_analyst) -> None:
    response = api_as(lambeth_analyst).get(URL, {"q": "station"})
    assert response.status_code == 400
    assert "q" in response.json()


def test_every_call_is_audited(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    client.get(URL, {"borough": SOUTHWARK, "method": "knife"})
    event = AuditEvent.objects.filter(action=Action.API_CALLED).latest("id")
    assert event.actor_id == mps_analyst.pk
    assert event.details["endpoint"] == "incidents"
    assert event.details["filter"] == {"borough": [SOUTHWARK], "method": ["knife"]}
    assert event.details["rows"] == 2
    assert AuditEvent.objects.filter(action=Action.API_CALLED).count() == 1  # once, not twice

    # A refused filter is on the record as well, once.
    assert client.get(URL, {"assault_date_from": "not-a-date"}).status_code == 400
    refused = AuditEvent.objects.filter(action=Action.API_CALLED).latest("id")
    assert refused.pk != event.pk and refused.actor_id == mps_analyst.pk
    assert refused.details == {
        "endpoint": "api:incident-list", "method": "GET", "status": 400, "rows": None,
    }  # fmt: skip
    assert AuditEvent.objects.filter(action=Action.API_CALLED).count() == 2


def test_query_count_is_bounded(
    world, api_as, mps_analyst, site_a, django_assert_max_num_queries
) -> None:
    """Constant in the number of rows: token, access (2), throttle cache, one page query,
    geography version, audit append. No per-row queries."""
    client = api_as(mps_analyst)
    client.get(URL)  # warm the geography cache
    with django_assert_max_num_queries(22) as few:
        assert client.get(URL).status_code == 200
    more = submission_create(site_a, period=dt.date(2025, 2, 1))
    incidents_create(more, [incident_row(SOUTHWARK) for _ in range(40)])
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(URL).json()["results"]) == 47


def test_session_needs_mfa(world, client, mps_analyst, login_as) -> None:
    client.force_login(mps_analyst, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(URL).status_code in (302, 403)
    login_as(mps_analyst)
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_detail_in_and_out_of_scope(world, api_as, southwark_analyst) -> None:
    client = api_as(southwark_analyst)
    mine = next(i for i in world.incidents if i.borough_code == SOUTHWARK)
    other = next(i for i in world.incidents if i.borough_code == LAMBETH)
    assert client.get(reverse("api:incident-detail", args=[mine.pk])).status_code == 200
    response = client.get(reverse("api:incident-detail", args=[other.pk]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).exists()


def test_detail_audit_names_the_hospital_for_its_transparency_page(
    world, api_as, southwark_analyst
) -> None:
    mine = next(i for i in world.incidents if i.borough_code == SOUTHWARK)
    assert (
        api_as(southwark_analyst).get(reverse("api:incident-detail", args=[mine.pk])).status_code
        == 200
    )
    event = AuditEvent.objects.filter(actor=southwark_analyst).latest("id")
    assert event.details["filter"]["hospital"] == [mine.site.site_code]


def test_anonymous_is_refused(world, client) -> None:
    response = client.get(URL)
    assert response.status_code in (302, 401, 403)
