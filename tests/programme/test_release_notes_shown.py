"""Published release notes reach analysts where they work: the dashboard and the API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_token_create
from programme import services
from tests.factories import login_verified
from tests.workspace_api.factories import release_create, site_get, submission_create

pytestmark = pytest.mark.django_db

BODY = "Adds **Homerton** for October.\n\n<script>alert(1)</script>"


@pytest.fixture
def release():
    return release_create(7, [submission_create(site_get("RQXM1", "E09000012"))])


def _publish(data_manager, release):
    note = services.release_note_save(actor=data_manager, release=release, body=BODY)
    return services.release_note_publish(actor=data_manager, note=note)


def test_dashboard_shows_the_latest_published_notes_sanitised(
    client: Client, data_manager, mps_analyst, release
) -> None:
    login_verified(client, mps_analyst)
    before = client.get(reverse("incidents:dashboard"))
    assert before.status_code == 200 and b"release-notes" not in before.content

    _publish(data_manager, release)
    page = client.get(reverse("incidents:dashboard")).content.decode()
    assert "What changed in release 7" in page
    assert "<strong>Homerton</strong>" in page
    assert "<script>alert(1)</script>" not in page


def test_releases_api_carries_published_notes_only(data_manager, mps_analyst, release) -> None:
    client = APIClient()
    key = api_token_create(actor=mps_analyst, name="tests", days=5).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    url = reverse("api:release-detail", args=[release.number])
    assert client.get(url).json()["release_notes"] is None  # no note yet

    services.release_note_save(actor=data_manager, release=release, body=BODY)
    assert client.get(url).json()["release_notes"] is None  # a draft is not shown

    _publish(data_manager, release)
    assert client.get(url).json()["release_notes"] == BODY
    listed = client.get(reverse("api:release-list")).json()["results"]
    assert [r["release_notes"] for r in listed if r["number"] == 7] == [BODY]


def test_a_query_pinned_to_an_older_release_shows_what_changed_since(
    client: Client, mps_analyst, release
) -> None:
    old = release.submissions.get()
    correction = submission_create(old.site, period=old.period, version=2)
    new_month = submission_create(site_get("RJ122", "E09000022"))
    release_create(8, [correction, new_month])
    login_verified(client, mps_analyst)

    pinned = client.get(reverse("incidents:explore"), {"release": "7"}).content.decode()
    assert 'id="changes-since"' in pinned
    assert "pinned to release 7" in pinned and "release 8" in pinned
    assert f"({old.site.site_code}), {old.period:%B %Y}, corrected version 2" in pinned
    assert "(RJ122)" in pinned

    latest = client.get(reverse("incidents:explore"), {"release": "8"}).content.decode()
    assert 'id="changes-since"' not in latest
