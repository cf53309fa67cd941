"""The submissions API: token uploads answer 202 with the new submission, lists and
details are scoped, over-large bodies are 413 before parsing, uploads are rate-limited."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from accounts.services import api_token_create
from hospitals.models import Submission
from tests.factories import login_verified
from tests.submissions_ui.conftest import csv_bytes, csv_upload

pytestmark = pytest.mark.django_db
LIST = reverse("submissions_api:submission_list")


def _token_client(user: User) -> APIClient:
    key = api_token_create(actor=user, name="automation", days=5).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _upload(site_code: str = "RJ122", **extra):
    return {"site": site_code, "period": "2025-05", "file": csv_upload(), **extra}


def test_token_upload_answers_202_with_the_received_submission(liaison_a, mapped_site):
    response = _token_client(liaison_a).post(
        LIST, _upload(set_aside_invalid="true"), format="multipart"
    )
    assert response.status_code == 202, response.content
    submission = Submission.objects.get()
    body = response.json()
    assert body["id"] == submission.pk
    assert body["status"] == "received"
    assert body["duplicate"] is False and body["version"] == 1
    assert response["Location"] == reverse(
        "submissions_api:submission_detail", kwargs={"pk": submission.pk}
    )
    assert response["Cache-Control"] == "no-store"
    assert submission.set_aside_invalid is True and submission.uploaded_by == liaison_a


def test_the_same_file_again_is_a_duplicate(liaison_a, mapped_site):
    client = _token_client(liaison_a)
    data = csv_bytes(4)
    first = client.post(LIST, _upload(file=csv_upload(data)), format="multipart")
    second = client.post(LIST, _upload(file=csv_upload(data)), format="multipart")
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["duplicate"] is True and second.json()["id"] == first.json()["id"]


def test_upload_for_another_hospital_is_an_audited_404(liaison_a, site_b):
    response = _token_client(liaison_a).post(LIST, _upload("R1H12"), format="multipart")
    assert response.status_code == 404
    assert not Submission.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=liaison_a).exists()


def test_refused_file_gives_its_code_and_plain_message(liaison_a, site_a):
    bad = csv_upload(b"<html><script>x</script></html>", name="page.html")
    response = _token_client(liaison_a).post(LIST, _upload(file=bad), format="multipart")
    assert response.status_code == 400
    assert response.json()["code"].startswith("F00")
    assert response.json()["detail"]
    assert not Submission.objects.exists()


def test_bad_period_is_a_field_error(liaison_a, site_a):
    response = _token_client(liaison_a).post(LIST, _upload(period="May 2025"), format="multipart")
    assert response.status_code == 400
    assert response.json()["period"] == ["Enter the reporting month as YYYY-MM."]


def test_over_the_limit_is_413_before_parsing(liaison_a, site_a, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    big = csv_upload(b"a,b\r\n" + b"1,2\r\n" * 30_000)
    response = _token_client(liaison_a).post(LIST, _upload(file=big), format="multipart")
    assert response.status_code == 413
    assert "1 KB" in response.json()["detail"]
    small_slack = csv_upload(b"a,b\r\n" + b"1,2\r\n" * 1_000)  # ~5 KB: inside the slack
    response = _token_client(liaison_a).post(LIST, _upload(file=small_slack), format="multipart")
    assert response.status_code == 413
    assert not Submission.objects.exists()


def test_the_eleventh_upload_in_a_minute_is_429(liaison_a, site_a):
    client = _token_client(liaison_a)
    statuses = [client.post(LIST, {"site": "RJ122"}).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429
    assert client.get(LIST).status_code == 200  # reads are not limited by the upload rate


def test_list_is_scoped_to_the_callers_sites(liaison_a, liaison_b, ready_a, submission_b):
    body = _token_client(liaison_b).get(LIST).json()
    assert [item["id"] for item in body["results"]] == [submission_b.pk]
    assert body["results"][0]["site"] == "R1H12"
    assert body["results"][0]["period"] == "2025-05"


def test_data_managers_list_every_site(data_manager, ready_a, submission_b):
    body = _token_client(data_manager).get(LIST).json()
    assert {item["id"] for item in body["results"]} == {ready_a.pk, submission_b.pk}


def test_detail_includes_report_and_scorecard_and_404s_out_of_scope(liaison_a, liaison_b, ready_a):
    url = reverse("submissions_api:submission_detail", kwargs={"pk": ready_a.pk})
    body = _token_client(liaison_a).get(url).json()
    assert body["status"] == "ready_for_review"
    assert body["report"]["errors_by_code"] == {"V002_BAD_DATE": 1}
    assert body["scorecard"]["passes"] is False
    assert _token_client(liaison_b).get(url).status_code == 404


def test_analysts_and_anonymous_callers_are_refused(southwark_analyst, ready_a):
    assert _token_client(southwark_analyst).get(LIST).status_code == 403
    url = reverse("submissions_api:submission_detail", kwargs={"pk": ready_a.pk})
    assert _token_client(southwark_analyst).get(url).status_code == 403
    assert APIClient().get(LIST).status_code in (401, 403)


def test_session_upload_needs_csrf(liaison_a, site_a):
    client = APIClient(enforce_csrf_checks=True)
    login_verified(client, liaison_a)
    response = client.post(LIST, _upload(), format="multipart")
    assert response.status_code == 403
    assert not Submission.objects.exists()


def test_listing_and_opening_submissions_is_audited(liaison_a, ready_a):
    """Every API call is on the record: these handlers write nothing themselves, so the
    API's catch-all writes one ``api.called`` each."""
    client = _token_client(liaison_a)
    before = AuditEvent.objects.filter(action=Action.API_CALLED).count()
    assert client.get(LIST).status_code == 200
    detail = reverse("submissions_api:submission_detail", kwargs={"pk": ready_a.pk})
    assert client.get(detail).status_code == 200
    events = list(
        AuditEvent.objects.filter(action=Action.API_CALLED, actor=liaison_a).order_by("id")
    )
    assert len(events) == before + 2
    listed, opened = events[-2:]
    assert listed.details == {
        "endpoint": "submissions_api:submission_list", "method": "GET", "status": 200, "rows": 1,
    }  # fmt: skip
    assert opened.details["endpoint"] == "submissions_api:submission_detail"
    assert opened.details["status"] == 200
