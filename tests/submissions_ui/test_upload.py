"""The upload page: form validation, refusals in plain English, duplicates, the size
limit before the body is read, CSRF and the per-user rate."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from hospitals.models import Submission
from tests.factories import login_verified
from tests.submissions_ui.conftest import csv_bytes, csv_upload

pytestmark = pytest.mark.django_db
URL = reverse("ingest:submission_upload")


def _form(site, **overrides):
    data = {
        "site": site.pk,
        "period": "2025-05-01",
        "on_invalid": "set_aside",
        "file": csv_upload(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_upload_page_offers_only_the_persons_sites(client, liaison_a, site_b):
    login_verified(client, liaison_a)
    response = client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "St Thomas" in body and "Royal London" not in body
    assert 'accept=".csv,.tsv,.txt,.xlsx,.xml"' in body
    # The formats as a person knows them, not only as extensions.
    for known in ("CSV", "Excel workbook", "Excel Unicode text", "ISTV XML"):
        assert known in body
    assert "Reject the whole file" in body and "set the others aside" in body
    assert "Check only (don&#x27;t store anything)" in body
    assert 'enctype="multipart/form-data"' in body


def test_a_valid_upload_is_received_and_shows_its_status(client, liaison_a, mapped_site):
    login_verified(client, liaison_a)
    response = client.post(URL, _form(mapped_site, dry_run="on"))
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ingest:submission_detail", kwargs={"pk": submission.pk})
    assert submission.status == Submission.Status.RECEIVED
    assert submission.set_aside_invalid is True and submission.dry_run is True
    assert submission.uploaded_by == liaison_a
    assert AuditEvent.objects.filter(action=Action.SUBMISSION_UPLOADED).exists()


def test_missing_choices_are_reported_in_a_govuk_error_summary(client, liaison_a, site_a):
    login_verified(client, liaison_a)
    response = client.post(URL, {"site": site_a.pk, "period": "1999-01-01"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "govuk-error-summary" in body
    assert "Choose a file to upload." in body
    assert "Select a reporting month from the list." in body
    assert "Choose what to do if some rows are invalid." in body
    assert not Submission.objects.exists()


def test_another_hospitals_site_cannot_be_chosen(client, liaison_a, site_b):
    login_verified(client, liaison_a)
    response = client.post(URL, _form(site_b))
    assert response.status_code == 400
    assert "Select one of your hospital sites." in response.content.decode()
    assert not Submission.objects.exists()


def test_a_refused_file_reaches_the_person_in_plain_english(client, liaison_a, site_a):
    login_verified(client, liaison_a)
    fake = csv_upload(b"MZ\x90\x00\x03\x00\x00\x00binary", name="report.csv.exe")
    response = client.post(URL, _form(site_a, file=fake))
    body = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in body
    assert 'href="#id_file"' in body
    assert not Submission.objects.exists()
    refusal = AuditEvent.objects.get(action=Action.SUBMISSION_REJECTED)
    assert refusal.details["code"] in body or refusal.details["code"].startswith("F00")


def test_a_file_that_is_not_text_is_refused_by_content(client, liaison_a, site_a):
    login_verified(client, liaison_a)
    response = client.post(URL, _form(site_a, file=csv_upload(b"\x00\x01\x02" * 50)))
    assert response.status_code == 400
    assert "govuk-error-message" in response.content.decode()
    assert not Submission.objects.exists()


def test_the_same_file_twice_is_recognised(client, liaison_a, mapped_site):
    login_verified(client, liaison_a)
    data = csv_bytes(3)
    assert client.post(URL, _form(mapped_site, file=csv_upload(data))).status_code == 302
    response = client.post(URL, _form(mapped_site, file=csv_upload(data)))
    body = response.content.decode()
    assert response.status_code == 400
    assert "This file was already uploaded on" in body and "(version 1)" in body
    assert Submission.objects.count() == 1


def test_over_the_limit_by_content_length_is_refused_before_reading(
    client, liaison_a, site_a, settings, private_storage: Path
):
    settings.UPLOAD_MAX_BYTES = 1024
    login_verified(client, liaison_a)
    big = csv_upload(b"a,b\r\n" + b"1,2\r\n" * 30_000)  # ~150 KB: over limit + slack
    response = client.post(URL, _form(site_a, file=big))
    assert response.status_code == 413
    assert "The file is larger than the 1 KB limit." in response.content.decode()
    assert not Submission.objects.exists()
    assert not any((private_storage / "private").glob("*"))


def test_over_the_limit_inside_the_slack_is_stopped_mid_stream(
    client, liaison_a, site_a, settings, private_storage: Path
):
    settings.UPLOAD_MAX_BYTES = 4096
    login_verified(client, liaison_a)
    big = csv_upload(b"a,b\r\n" + b"1,2\r\n" * 2_000)  # ~10 KB: under limit + slack
    response = client.post(URL, _form(site_a, file=big))
    assert response.status_code == 413
    assert "The file is larger than the 4 KB limit." in response.content.decode()
    assert not Submission.objects.exists()


def test_upload_without_a_csrf_token_is_refused(liaison_a, site_a):
    client = Client(enforce_csrf_checks=True)
    login_verified(client, liaison_a)
    response = client.post(URL, _form(site_a))
    assert response.status_code == 403
    assert not Submission.objects.exists()


def test_the_eleventh_upload_in_a_minute_gets_429(client, liaison_a, site_a):
    login_verified(client, liaison_a)
    statuses = [client.post(URL, {"site": site_a.pk}).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10  # invalid forms still count as attempts
    assert statuses[10] == 429
    response = client.post(URL, {"site": site_a.pk})
    assert response.status_code == 429
    assert "Too many uploads" in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_people_without_an_upload_right_get_404_on_the_page(client, data_manager, liaison_a):
    login_verified(client, data_manager)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {}).status_code == 403
