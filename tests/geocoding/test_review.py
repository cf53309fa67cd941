"""Review queue: who may see it, and what a decision does."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import Membership
from incidents.geocoding.geocoder import Geocoder
from incidents.geocoding.models import LearnedAlias, ReviewItem
from incidents.geocoding.service import get_geocoder, reset_geocoder
from incidents.geocoding.services import needs_review, review_items_record
from tests.factories import MembershipFactory, login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(mini_geocoder: Geocoder) -> ReviewItem:
    result = mini_geocoder.geocode("Albert Road", "RJZ01")
    assert needs_review(result)  # contested: the other Albert Road is an alternative
    assert review_items_record(results=[(result, "RJZ01"), (result, "RJZ01")]) == 2
    item = ReviewItem.objects.get()
    assert item.occurrences == 2
    return item


def _client(role: str) -> Client:
    client = Client()
    login_verified(client, MembershipFactory(role=role).user)
    return client


@pytest.mark.parametrize(
    "role", [Membership.Role.ANALYST, Membership.Role.LIAISON, Membership.Role.ACCESS_ADMIN]
)
def test_others_get_404(queued: ReviewItem, role: str) -> None:
    client = _client(role)
    for url in (
        reverse("geocoding:review_list"),
        reverse("geocoding:review_detail", args=[queued.pk]),
        reverse("geocoding:boroughs_geojson"),
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("geocoding:review_detail", args=[queued.pk]), {"decision": "home"}
        ).status_code
        == 404
    )
    queued.refresh_from_db()
    assert queued.status == ReviewItem.Status.OPEN


def test_anonymous_is_sent_to_sign_in(queued: ReviewItem) -> None:
    response = Client().get(reverse("geocoding:review_list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_data_manager_sees_queue_map_and_boundaries(queued: ReviewItem) -> None:
    client = _client(Membership.Role.DATA_MANAGER)
    listing = client.get(reverse("geocoding:review_list"))
    assert listing.status_code == 200 and b"Albert Road" in listing.content
    detail = client.get(reverse("geocoding:review_detail", args=[queued.pk]))
    assert detail.status_code == 200
    assert b"leaflet/leaflet.js" in detail.content and b"review-map-data" in detail.content
    assert b'name="lat"' in detail.content  # the no-JS way to place a point
    geo = client.get(reverse("geocoding:boroughs_geojson")).json()
    assert {f["properties"]["code"] for f in geo["features"]} == {
        "E09000022",
        "E09000028",
        "E09000012",
    }


def test_accepting_a_candidate_audits_and_learns(queued: ReviewItem) -> None:
    client = _client(Membership.Role.DATA_MANAGER)
    alternative = queued.result["alternatives"][0]
    response = client.post(
        reverse("geocoding:review_detail", args=[queued.pk]),
        {"decision": "accept", "candidate": "1"},
    )
    assert response.status_code == 302
    queued.refresh_from_db()
    assert queued.status == ReviewItem.Status.DECIDED and queued.alias is not None
    alias = LearnedAlias.objects.get(phrase=queued.phrase, hospital="RJZ01")
    assert (alias.lat, alias.lon) == (alternative["lat"], alternative["lon"])
    event = AuditEvent.objects.get(action="geocode.corrected")
    assert event.details["decision"] == "accept" and event.details["incidents_updated"] == 0
    assert "Albert" not in str(event.details)  # no free text in the audit log
    reset_geocoder()
    again = get_geocoder().geocode("albert rd", "RJZ01")
    assert again.method == "learned_alias" and again.lat == alternative["lat"]
    assert get_geocoder().geocode("albert rd", "RQXM1").method != "learned_alias"
    reset_geocoder()


def test_placing_a_point_without_javascript(queued: ReviewItem) -> None:
    client = _client(Membership.Role.DATA_MANAGER)
    url = reverse("geocoding:review_detail", args=[queued.pk])
    assert client.post(url, {"decision": "point", "lat": "51.47"}).status_code == 400
    assert client.post(url, {"decision": "point", "lat": "40.0", "lon": "3"}).status_code == 400
    assert (
        client.post(url, {"decision": "point", "lat": "51.471", "lon": "-0.069"}).status_code == 302
    )
    alias = LearnedAlias.objects.get()
    assert alias.result_class == "place" and (alias.lat, alias.lon) == (51.471, -0.069)


def test_marking_home_is_learned_and_never_placed(queued: ReviewItem, mini_dir: Path) -> None:
    client = _client(Membership.Role.DATA_MANAGER)
    response = client.post(
        reverse("geocoding:review_detail", args=[queued.pk]), {"decision": "home"}
    )
    assert response.status_code == 302
    alias = LearnedAlias.objects.get()
    assert alias.result_class == "home" and alias.lat is None
    reset_geocoder()
    result = get_geocoder().geocode("Albert Road", "RJZ01")
    assert result.result_class == "home" and not result.placed
    reset_geocoder()


def test_other_processes_pick_up_new_aliases(
    mini_geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidents.geocoding import service

    reset_geocoder()
    live = get_geocoder()
    assert live.geocode("the chicken shop", "RJZ01").method != "learned_alias"
    LearnedAlias.objects.create(  # as if decided in another process
        phrase="the chicken shop", hospital="RJZ01", result_class="vague", label="vague"
    )
    monkeypatch.setattr(service, "ALIAS_RECHECK_SECONDS", 0.0)
    assert get_geocoder().geocode("the chicken shop", "RJZ01").result_class == "vague"
    reset_geocoder()


def test_a_decision_updates_the_incidents_that_used_the_phrase(queued: ReviewItem) -> None:
    from incidents.models import Incident
    from tests.workspace_api.factories import (
        incident_row,
        incidents_create,
        site_get,
        submission_create,
    )

    site = site_get("RJZ01", "E09000022")
    submission = submission_create(site)
    same, other = incidents_create(
        submission,
        [
            incident_row("E09000022", description="Albert Rd", located=False),
            incident_row("E09000022", description="Somewhere else", located=False),
        ],
    )
    alternative = queued.result["alternatives"][0]
    response = _client(Membership.Role.DATA_MANAGER).post(
        reverse("geocoding:review_detail", args=[queued.pk]),
        {"decision": "accept", "candidate": "1"},
    )
    assert response.status_code == 302
    same = Incident.objects.get(pk=same.pk)
    assert (same.lat, same.lon) == (alternative["lat"], alternative["lon"])
    assert same.geo_method == "learned_alias" and same.geocode_status == "done"
    assert Incident.objects.get(pk=other.pk).lat is None
    event = AuditEvent.objects.get(action="geocode.corrected")
    assert event.details["incidents_updated"] == 1
    reset_geocoder()
