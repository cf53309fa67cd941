"""The submission pages render for the right people, from stored reports and scorecards,
and refuse everyone else with a 404 (audited)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from hospitals.models import Submission
from tests.factories import login_verified
from tests.submissions_ui.conftest import MAPPING_REPORT, QUARANTINE_REPORT

pytestmark = pytest.mark.django_db
Status = Submission.Status


def _get(client, user, name, **kwargs):
    login_verified(client, user)
    return client.get(reverse(name, kwargs=kwargs or None))


def test_home_lists_a_liaisons_sites_months_due_and_recent_submissions(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_list")
    assert response.status_code == 200
    body = response.content.decode()
    assert "St Thomas&#x27; Hospital (RJ122)" in body
    assert "Months still to send" in body and "Overdue" in body
    assert reverse("ingest:submission_detail", kwargs={"pk": ready_a.pk}) in body
    assert "govuk-tag--purple" in body  # ready for review
    assert "no-store" in response["Cache-Control"]


def test_home_for_a_data_manager_links_the_review_queue(client, data_manager, ready_a):
    response = _get(client, data_manager, "ingest:submission_list")
    assert response.status_code == 200
    assert "1 submission ready for review" in response.content.decode()


@pytest.mark.parametrize("persona", ["southwark_analyst", "mps_analyst", "outsider"])
def test_people_without_a_submission_role_get_404(client, request, persona):
    response = _get(client, request.getfixturevalue(persona), "ingest:submission_list")
    assert response.status_code == 404


def test_status_page_shows_steps_and_an_accessible_progress_bar(
    client, liaison_a, make_submission, site_a
):
    submission = make_submission(site_a, Status.PROCESSING, progress=42, step="Geocoding locations")
    response = _get(client, liaison_a, "ingest:submission_detail", pk=submission.pk)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'role="progressbar"' in body
    assert 'aria-valuenow="42"' in body and 'aria-valuemin="0"' in body
    assert 'aria-valuemax="100"' in body
    assert "portal-progress__bar--40" in body
    assert 'aria-live="polite"' in body
    progress_url = reverse("ingest:submission_progress", kwargs={"pk": submission.pk})
    assert f'data-progress-url="{progress_url}"' in body
    assert "Refresh to see the latest progress" in body  # works without JavaScript
    assert "submissions/progress.js" in body and "<script>" not in body
    assert "Geocoding locations" in body
    # received and checking are done, processing is in progress, the rest waits
    assert body.count("Completed") == 2 and "In progress" in body
    assert "Not yet started" in body


def test_finished_status_page_links_report_scorecard_and_original(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_detail", pk=ready_a.pk)
    body = response.content.decode()
    assert reverse("ingest:submission_report", kwargs={"pk": ready_a.pk}) in body
    assert reverse("ingest:submission_scorecard", kwargs={"pk": ready_a.pk}) in body
    assert reverse("ingest:submission_original", kwargs={"pk": ready_a.pk}) in body
    assert "data-progress-url" not in body  # nothing left to poll
    assert "Publish this submission" not in body  # liaisons do not publish


def test_progress_json_is_never_cached(client, liaison_a, make_submission, site_a):
    submission = make_submission(site_a, Status.CHECKING, progress=10, step="Reading the file")
    response = _get(client, liaison_a, "ingest:submission_progress", pk=submission.pk)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {
        "id": submission.pk,
        "status": "checking",
        "status_label": "Checking",
        "progress": 10,
        "step": "Reading the file",
        "finished": False,
        "failed": False,
    }


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (Status.REJECTED, "Rejected \u2013 see the report"),
        (Status.FAILED, "Failed \u2013 processing stopped"),
    ],
)
def test_a_rejected_or_failed_file_shows_the_error_state_not_a_full_blue_bar(
    client, liaison_a, make_submission, site_a, status, text
):
    submission = make_submission(
        site_a, status, report=QUARANTINE_REPORT, step="Rejected", progress=100
    )
    body = _get(client, liaison_a, "ingest:submission_detail", pk=submission.pk).content.decode()
    bar = re.search(r'<div class="portal-progress[^"]*" role="progressbar"[^>]*>', body)
    assert bar is not None
    assert "portal-progress--error" in bar.group(0)
    assert f'aria-valuetext="{text}"' in bar.group(0)  # not "100% - ..."
    assert 'aria-valuemin="0"' in bar.group(0) and 'aria-valuemax="100"' in bar.group(0)
    assert "portal-progress__bar--error" in body and text in body
    assert "data-progress-percent" not in body  # no "100%" beside a failure
    payload = _get(client, liaison_a, "ingest:submission_progress", pk=submission.pk).json()
    assert payload["failed"] is True and payload["step"] == text


def test_a_finished_good_file_keeps_the_plain_bar(client, liaison_a, ready_a):
    body = _get(client, liaison_a, "ingest:submission_detail", pk=ready_a.pk).content.decode()
    assert "portal-progress--error" not in body and "portal-progress__bar--error" not in body
    assert 'aria-valuetext="100% \u2013 Ready for review"' in body


def test_another_hospitals_submission_is_an_audited_404(client, liaison_b, ready_a):
    for name in (
        "ingest:submission_detail",
        "ingest:submission_progress",
        "ingest:submission_report",
        "ingest:submission_original",
    ):
        assert _get(client, liaison_b, name, pk=ready_a.pk).status_code == 404
    denials = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=liaison_b)
    assert denials.count() == 4
    assert {e.object_id for e in denials} == {str(ready_a.pk)}


def test_report_page_renders_counts_problems_and_drift(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_report", pk=ready_a.pk)
    body = response.content.decode()
    assert response.status_code == 200
    assert "A date could not be read as a UK date." in body  # plain-English code text
    assert "V002_BAD_DATE" in body and "W001_TIME_NOT_KNOWN" in body
    assert "Assault date is not a UK date (dd/mm/yyyy)." in body
    assert "=HYPERLINK(1)" in body  # a value the report marked safe to show
    assert "New columns" in body and "Ward" in body


def test_quarantine_report_names_kinds_columns_and_rows_never_values(
    client, liaison_a, make_submission, site_a
):
    submission = make_submission(site_a, Status.QUARANTINED, report=QUARANTINE_REPORT)
    response = _get(client, liaison_a, "ingest:submission_report", pk=submission.pk)
    body = response.content.decode()
    assert "Personal data found" in body
    assert "NHS numbers" in body and "NHS Number" in body and "2, 3" in body
    status = _get(client, liaison_a, "ingest:submission_detail", pk=submission.pk)
    assert "appears to contain personal data" in status.content.decode()
    assert "Download the original file" not in status.content.decode()


def test_report_csv_neutralises_formula_cells(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_report_csv", pk=ready_a.pk)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["row", "column", "code", "severity", "message", "value"]
    assert rows[1][:3] == ["4", "Assault Date", "V002_BAD_DATE"]
    assert rows[1][5] == "'=HYPERLINK(1)"


def test_scorecard_page_explains_flags_in_words(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_scorecard", pk=ready_a.pk)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Too many rows were set aside." in body
    assert "Much lower than usual for this hospital" in body
    assert "Share of London's records" in body  # now from published files: test_scorecard_truth
    assert "Uploaded 4 days late" in body
    assert "Assault time" in body and "50.0%" in body  # completeness
    assert "Postcode unit" in body  # geocoded by precision
    assert '<th scope="row" class="govuk-table__header">Arrival date</th>' in body


def test_pages_without_a_report_yet_are_404(client, liaison_a, make_submission, site_a):
    submission = make_submission(site_a, Status.RECEIVED)
    for name in ("ingest:submission_report", "ingest:submission_scorecard"):
        assert _get(client, liaison_a, name, pk=submission.pk).status_code == 404


def test_original_download_is_an_attachment_with_a_safe_name(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_original", pk=ready_a.pk)
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition == 'attachment; filename="RJ122-2025-05-v1-original.csv"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content).startswith(b"Assault Date")
    event = AuditEvent.objects.get(action=Action.DATA_DOWNLOADED, actor=liaison_a)
    assert event.details["filter"]["submission"] == ready_a.pk


def test_a_quarantined_original_is_never_downloadable(
    client, data_manager, make_submission, site_a
):
    submission = make_submission(site_a, Status.QUARANTINED, report=QUARANTINE_REPORT)
    response = _get(client, data_manager, "ingest:submission_original", pk=submission.pk)
    assert response.status_code == 404


def test_mapping_page_proposes_and_confirms_through_the_service(
    client, liaison_a, make_submission, site_a
):
    submission = make_submission(site_a, Status.MAPPING_NEEDED, report=MAPPING_REPORT)
    response = _get(client, liaison_a, "ingest:submission_mapping", pk=submission.pk)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Suggested with high confidence (90%)" in body
    assert "Suggested with low confidence (40%): please check" in body
    assert '<option value="method" selected>' in body
    url = reverse("ingest:submission_mapping", kwargs={"pk": submission.pk})
    choice = {
        "column_0": "arrival_at",
        "column_1": "assault_date",
        "column_2": "method",
        "column_3": "location_type",
        "column_4": "location_description",
    }
    response = client.post(url, choice)
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == Status.RECEIVED
    assert submission.mapping is not None
    assert submission.mapping.columns["Where"] == "location_description"


def test_mapping_form_refuses_a_field_chosen_twice_or_a_missing_mandatory_one(
    client, liaison_a, make_submission, site_a
):
    submission = make_submission(site_a, Status.MAPPING_NEEDED, report=MAPPING_REPORT)
    login_verified(client, liaison_a)
    url = reverse("ingest:submission_mapping", kwargs={"pk": submission.pk})
    response = client.post(url, {"column_1": "assault_date", "column_2": "assault_date"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in body
    assert "is already chosen for column" in body
    assert "Choose a column for the assault method, the location type." in body
    submission.refresh_from_db()
    assert submission.status == Status.MAPPING_NEEDED


def test_mapping_page_is_404_when_no_mapping_is_needed(client, liaison_a, ready_a):
    response = _get(client, liaison_a, "ingest:submission_mapping", pk=ready_a.pk)
    assert response.status_code == 404


def test_review_queue_and_publish_through_the_service(client, data_manager, ready_a):
    response = _get(client, data_manager, "ingest:review_queue")
    assert response.status_code == 200
    assert "St Thomas" in response.content.decode()
    url = reverse("ingest:submission_publish", kwargs={"pk": ready_a.pk})
    response = client.post(url, {"reason": "The hospital confirmed the low count."})
    assert response.status_code == 302
    ready_a.refresh_from_db()
    assert ready_a.status == Status.PUBLISHED
    assert ready_a.published_by == data_manager
    assert ready_a.releases.exists()
    assert AuditEvent.objects.filter(
        action=Action.SUBMISSION_PUBLISHED, actor=data_manager
    ).exists()


def test_publishing_twice_or_a_not_ready_submission_says_why(
    client, data_manager, make_submission, site_a
):
    submission = make_submission(site_a, Status.REJECTED, report=QUARANTINE_REPORT)
    login_verified(client, data_manager)
    url = reverse("ingest:submission_publish", kwargs={"pk": submission.pk})
    response = client.post(url, follow=True)
    assert "Only a submission that is ready for review can be published." in (
        response.content.decode()
    )
    submission.refresh_from_db()
    assert submission.status == Status.REJECTED


def test_liaisons_cannot_publish(client, liaison_a, liaison_b, ready_a):
    url = reverse("ingest:submission_publish", kwargs={"pk": ready_a.pk})
    login_verified(client, liaison_a)
    assert client.post(url).status_code == 403
    login_verified(client, liaison_b)
    assert client.post(url).status_code == 404
    ready_a.refresh_from_db()
    assert ready_a.status == Status.READY_FOR_REVIEW


def test_review_queue_is_for_data_managers_only(client, liaison_a):
    assert _get(client, liaison_a, "ingest:review_queue").status_code == 404


def test_tracker_shows_all_sites_to_data_managers_and_own_sites_to_liaisons(
    client, data_manager, liaison_a, site_b, ready_a
):
    body = _get(client, data_manager, "ingest:tracker").content.decode()
    assert "St Thomas" in body and "The Royal London Hospital" in body
    assert "Missing" in body
    body = _get(client, liaison_a, "ingest:tracker").content.decode()
    assert "St Thomas" in body and "The Royal London Hospital" not in body


def test_progress_step_reads_as_plain_english(client, liaison_a, make_submission, site_a):
    queued = make_submission(site_a, Status.RECEIVED, step="queued")
    done = make_submission(site_a, Status.READY_FOR_REVIEW, step="Done", progress=100)
    login_verified(client, liaison_a)
    for submission, expected in ((queued, "Queued: waiting to start"), (done, "Ready for review")):
        url = reverse("ingest:submission_progress", kwargs={"pk": submission.pk})
        assert client.get(url).json()["step"] == expected


def test_data_managers_can_publish_from_the_status_page(client, data_manager, ready_a):
    response = _get(client, data_manager, "ingest:submission_detail", pk=ready_a.pk)
    check_url = reverse("ingest:submission_publish_check", kwargs={"pk": ready_a.pk})
    assert "Publish this submission" in response.content.decode()
    assert f'href="{check_url}"' in response.content.decode()  # confirmed on its own page
    url = reverse("ingest:submission_publish", kwargs={"pk": ready_a.pk})
    response = client.post(url, {"reason": "Checked with the hospital."})
    assert response["Location"] == reverse("ingest:submission_detail", kwargs={"pk": ready_a.pk})


def test_list_pages_keep_a_fixed_number_of_queries(
    client,
    data_manager,
    liaison_a,
    make_submission,
    site_a,
    site_b,
    django_assert_max_num_queries,
):
    for index in range(12):
        make_submission(
            site_a if index % 2 else site_b,
            Status.READY_FOR_REVIEW,
            uploaded_by=liaison_a,
            period=date(2025, 1 + index % 6, 1),
            version=index + 1,
        )
    login_verified(client, data_manager)
    for name in ("ingest:submission_list", "ingest:review_queue", "ingest:tracker"):
        with django_assert_max_num_queries(20):
            assert client.get(reverse(name)).status_code == 200


def test_a_queued_file_shows_as_received_and_waiting_for_the_check(
    client, liaison_a, make_submission, site_a
):
    submission = make_submission(site_a, Status.RECEIVED, step="queued")
    body = _get(client, liaison_a, "ingest:submission_detail", pk=submission.pk)
    text = body.content.decode()
    assert text.count("Completed") == 1 and "Queued" in text
    assert "Queued: waiting to start" in text
