"""A changed layout on the pages and through the API: the mapping page shows the column
diff, the proposal built from the previous version and the mapping versions; the API
upload accepts a complete proposal when asked and stops at "mapping needed" otherwise."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import api_token_create
from hospitals.models import MappingProfile, Submission
from incidents.models import Incident
from ingest import services
from tests.factories import login_verified
from tests.submissions.helpers import changed_layout_csv
from tests.submissions_ui.conftest import csv_upload

pytestmark = pytest.mark.django_db
Status = Submission.Status
LIST = reverse("submissions_api:submission_list")
SECOND_CHANGE = {"Arrival Date": "ATTEND_DATE", "Assault Method": "Mechanism"}


def _mapping_needed(liaison: User, site, data: bytes | None = None) -> Submission:
    submission = services.submission_receive(
        actor=liaison,
        site=site,
        period="2025-05",
        upload=csv_upload(data or changed_layout_csv()),
        set_aside_invalid=False,
        dry_run=False,
    )
    done = services.submission_process(submission_id=submission.pk)
    assert done.status == Status.MAPPING_NEEDED
    return done


def _choices(submission: Submission) -> dict[str, str]:
    """The proposal as the form posts it (column_N → field)."""
    proposed = submission.report["proposal"]["mapping"]["columns"]
    field_for = {column: field for field, column in proposed.items()}
    return {
        f"column_{i}": field_for.get(column, "")
        for i, column in enumerate(submission.report["columns"])
    }


def test_mapping_page_shows_the_diff_the_proposal_and_the_versions(client, liaison_a, mapped_site):
    submission = _mapping_needed(liaison_a, mapped_site)
    login_verified(client, liaison_a)
    status_page = client.get(reverse("ingest:submission_detail", kwargs={"pk": submission.pk}))
    assert "Check the proposed new mapping" in status_page.content.decode()
    url = reverse("ingest:submission_mapping", kwargs={"pk": submission.pk})
    body = client.get(url).content.decode()
    assert "The file's columns have changed" in body
    assert "(version 1)" in body
    diff = body[body.index('id="layout-change"') : body.index("Proposed new mapping")]
    assert "Columns gone" in diff and "Columns new" in diff and "Columns kept" in diff
    assert "Assault Method" in diff and "(seems to be “Weapon used” now)" in diff
    assert "Col7" in diff and "(seems to replace “Location Type”)" in diff
    assert "Arrival Date" in diff  # kept
    # The proposal is preselected; hints say what each column's values look like.
    index = submission.report["columns"].index("Col7")
    select = body[body.index(f'name="column_{index}"') :]
    select = select[: select.index("</select>")]
    assert '<option value="location_type" selected>' in select
    assert "Seems to replace “Location Type”. Values look like: location types." in body
    versions = body[body.index('id="mapping-versions"') :]
    assert "Current" in versions and "Location type: “Location Type”" in versions

    response = client.post(url, _choices(submission))
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == Status.RECEIVED and submission.mapping.version == 2
    loaded = services.submission_process(submission_id=submission.pk)
    assert loaded.status == Status.READY_FOR_REVIEW
    assert client.get(url).status_code == 404  # no mapping needed any more

    # A second change: both versions are listed, the newest current.
    again = _mapping_needed(liaison_a, mapped_site, changed_layout_csv(renames=SECOND_CHANGE))
    assert again.report["proposal"]["based_on"] == 2  # built from the current version
    body = client.get(reverse("ingest:submission_mapping", kwargs={"pk": again.pk})).content
    versions = body.decode()[body.decode().index('id="mapping-versions"') :]
    assert versions.count("Current") == 1 and versions.count("Earlier") == 1
    assert versions.index(">2 <") < versions.index(">1 <")


def test_a_data_manager_confirms_a_changed_layout_too(client, liaison_a, data_manager, mapped_site):
    submission = _mapping_needed(liaison_a, mapped_site)
    login_verified(client, data_manager)
    url = reverse("ingest:submission_mapping", kwargs={"pk": submission.pk})
    assert client.post(url, _choices(submission)).status_code == 302
    profile = MappingProfile.objects.filter(site=mapped_site).latest()
    assert profile.version == 2 and profile.confirmed_by == data_manager


# --- the API -----------------------------------------------------------------------------


def _token_client(user: User) -> APIClient:
    key = api_token_create(actor=user, name="automation", days=5).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _api_upload(client: APIClient, data: bytes, **extra: str) -> Submission:
    response = client.post(
        LIST,
        {"site": "RJ122", "period": "2025-05", "file": csv_upload(data), **extra},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    # Stands in for the worker the upload was queued for.
    return services.submission_process(submission_id=response.json()["id"])


def test_api_upload_accepts_a_complete_proposal_for_a_changed_layout(liaison_a, mapped_site):
    client = _token_client(liaison_a)
    done = _api_upload(client, changed_layout_csv(), accept_suggested_mapping="true")
    assert done.status == Status.READY_FOR_REVIEW
    assert Incident.objects.filter(submission=done).count() == 20
    assert done.mapping is not None and done.mapping.version == 2
    detail = client.get(reverse("submissions_api:submission_detail", kwargs={"pk": done.pk}))
    assert detail.json()["report"]["mapping_status"] == "proposed_accepted"
    assert detail.json()["report"]["mapping_version"] == 2


def test_api_upload_stops_at_mapping_needed_for_an_incomplete_proposal(liaison_a, mapped_site):
    client = _token_client(liaison_a)
    data = changed_layout_csv(drop=("Assault Method",))
    done = _api_upload(client, data, accept_suggested_mapping="true")
    assert done.status == Status.MAPPING_NEEDED
    assert not Incident.objects.exists()
    assert MappingProfile.objects.filter(site=mapped_site).count() == 1
    detail = client.get(reverse("submissions_api:submission_detail", kwargs={"pk": done.pk}))
    body = detail.json()
    assert body["status"] == "mapping_needed"
    assert "incomplete, so it was not accepted automatically" in body["error"]
    assert "No column could be found for: the assault method" in body["error"]
    assert body["report"]["proposal"]["missing_fields"] == ["method"]


def test_api_upload_without_accepting_asks_for_the_mapping(liaison_a, mapped_site):
    done = _api_upload(_token_client(liaison_a), changed_layout_csv())
    assert done.status == Status.MAPPING_NEEDED
    assert "A new mapping is proposed" in done.error
    assert MappingProfile.objects.filter(site=mapped_site).count() == 1
