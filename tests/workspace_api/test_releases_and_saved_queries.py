"""Pinned releases, reference lists and saved queries (own, organisation-shared, others')."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import Membership
from hospitals.models import Submission
from incidents.models import Release
from incidents.services import saved_query_create
from tests.factories import MembershipFactory, UserFactory
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    SOUTHWARK,
    incident_row,
    incidents_create,
    release_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/v1/incidents/"
AGGREGATES = "/api/v1/aggregates/"
SAVED = "/api/v1/saved-queries/"


@pytest.fixture
def superseded(site_a):
    """Release 1 has v1 (3 Southwark rows); v2 (5 rows) supersedes it in release 2."""
    when = dt.datetime(2025, 3, 5, 12, tzinfo=LONDON)
    v1 = submission_create(site_a, period=dt.date(2025, 3, 1))
    incidents_create(v1, [incident_row(SOUTHWARK, when=when) for _ in range(3)])
    release_create(1, [v1])
    v2 = submission_create(site_a, period=dt.date(2025, 3, 1), version=2)
    incidents_create(v2, [incident_row(SOUTHWARK, when=when) for _ in range(5)])
    Submission.objects.filter(pk=v1.pk).update(
        status=Submission.Status.SUPERSEDED, superseded_by=v2
    )
    release_create(2, [v2])
    return v1, v2


def test_pinned_release_keeps_old_numbers(superseded, api_as, southwark_analyst) -> None:
    client = api_as(southwark_analyst)
    assert len(client.get(INCIDENTS).json()["results"]) == 5
    assert len(client.get(INCIDENTS, {"release": 1}).json()["results"]) == 3
    assert len(client.get(INCIDENTS, {"release": 2}).json()["results"]) == 5
    pinned = client.get(AGGREGATES, {"group_by": "month", "release": 1}).json()
    assert pinned["results"] == [{"month": "2025-03", "count": 3}]


def test_pinned_release_still_scoped(superseded, api_as, lambeth_analyst) -> None:
    assert api_as(lambeth_analyst).get(INCIDENTS, {"release": 1}).json()["results"] == []


def test_release_and_hospital_lists(superseded, api_as, southwark_analyst, liaison_a) -> None:
    client = api_as(southwark_analyst)
    releases = client.get("/api/v1/releases/").json()["results"]
    assert [r["number"] for r in releases] == [2, 1]
    assert releases[1]["submission_count"] == 1
    assert client.get("/api/v1/releases/1/").json()["label"] == "2025-01"
    assert client.get("/api/v1/releases/99/").status_code == 404
    sites = client.get("/api/v1/hospitals/").json()["results"]
    assert [s["site_code"] for s in sites] == ["RJ122"]
    assert api_as(liaison_a).get("/api/v1/hospitals/").status_code == 403


@pytest.fixture
def narrow_mps_member(org_mps, grant_mps):
    """A member of the MPS narrowed to Lambeth, without free text."""
    user = UserFactory(email="narrow@personas.test")
    MembershipFactory(
        user=user,
        organisation=org_mps,
        role=Membership.Role.ANALYST,
        narrowed_boroughs=[LAMBETH],
        narrowed_no_free_text=True,
    )
    return user


def test_shared_query_opens_with_the_viewers_own_access(
    world, api_as, mps_analyst, narrow_mps_member, southwark_analyst
) -> None:
    owner = api_as(mps_analyst)
    created = owner.post(
        SAVED,
        {"name": "Knife, all", "params": {"method": ["knife"]}, "shared_with_organisation": True},
        format="json",
    )
    assert created.status_code == 201, created.json()
    saved = created.json()
    assert saved["params"] == {"method": ["knife"]} and saved["owned"] is True
    owner_rows = owner.get(saved["incidents_url"]).json()["results"]
    assert {r["borough"] for r in owner_rows} == {SOUTHWARK, LAMBETH, "E09000030"}

    narrow = api_as(narrow_mps_member)
    listed = narrow.get(SAVED).json()["results"]
    assert [s["id"] for s in listed] == [saved["id"]] and listed[0]["owned"] is False
    opened = narrow.get(f"{SAVED}{saved['id']}/").json()
    rows = narrow.get(opened["incidents_url"]).json()["results"]
    assert rows and {r["borough"] for r in rows} == {LAMBETH}
    assert all("location_description" not in r for r in rows)
    # A member may open but not delete someone else's shared query.
    assert narrow.delete(f"{SAVED}{saved['id']}/").status_code == 404

    other_org = api_as(southwark_analyst)
    assert other_org.get(SAVED).json()["results"] == []
    assert other_org.get(f"{SAVED}{saved['id']}/").status_code == 404
    assert other_org.delete(f"{SAVED}{saved['id']}/").status_code == 404
    assert owner.delete(f"{SAVED}{saved['id']}/").status_code == 204
    assert owner.get(f"{SAVED}{saved['id']}/").status_code == 404


def test_private_query_is_not_shared(world, api_as, mps_analyst, narrow_mps_member) -> None:
    api_as(mps_analyst).post(SAVED, {"name": "Mine", "params": {}}, format="json")
    assert api_as(narrow_mps_member).get(SAVED).json()["results"] == []


def test_saved_query_params_are_validated(world, api_as, lambeth_analyst) -> None:
    client = api_as(lambeth_analyst)
    for params in ({"colour": ["red"]}, {"borough": ["nowhere"]}, {"q": ["pub"]}):
        response = client.post(SAVED, {"name": "x", "params": params}, format="json")
        assert response.status_code == 400, params


def test_saved_query_stores_the_release(superseded, api_as, southwark_analyst) -> None:
    client = api_as(southwark_analyst)
    saved = client.post(SAVED, {"name": "Then", "params": {}, "release": 1}, format="json").json()
    assert saved["release"] == 1
    assert len(client.get(saved["incidents_url"]).json()["results"]) == 3
    latest = client.post(SAVED, {"name": "Now", "params": {}}, format="json").json()
    assert latest["release"] == 2


def test_release_cannot_be_given_inside_params(superseded, api_as, southwark_analyst) -> None:
    response = api_as(southwark_analyst).post(
        SAVED, {"name": "x", "params": {"release": ["1"]}}, format="json"
    )
    assert response.status_code == 400


def test_links_carry_only_the_stored_release(
    superseded, api_as, southwark_analyst, client, login_as
) -> None:
    """Stored params that hold ``release`` (the save views never store one, but the
    service and the column allow it) must not put a second ``release`` in the links:
    the stored release is the one pinned, on the API links and the page alike."""
    saved = saved_query_create(
        actor=southwark_analyst,
        name="Old style",
        params={"method": ["knife"], "release": ["1"]},
        release=Release.objects.get(number=2),
        shared_with_organisation=False,
    )
    api = api_as(southwark_analyst)
    body = api.get(f"{SAVED}{saved.pk}/").json()
    for key in ("incidents_url", "aggregates_url"):
        query = parse_qs(urlsplit(body[key]).query)
        assert query == {"method": ["knife"], "release": ["2"]}, key
    assert len(api.get(body["incidents_url"]).json()["results"]) == 5  # release 2's rows

    login_as(southwark_analyst)
    opened = client.get(reverse("incidents:saved_query_open", args=[saved.pk]))
    assert opened.status_code == 302
    assert parse_qs(urlsplit(opened["Location"]).query) == {"method": ["knife"], "release": ["2"]}
