"""Upload in the page, process with the real pipeline service, read the results pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hospitals.models import Submission
from incidents.models import Incident
from ingest import services
from tests.factories import login_verified
from tests.pipeline.helpers import GOOD_ROW, excel_unicode_text
from tests.submissions_ui.conftest import csv_bytes, csv_upload

pytestmark = pytest.mark.django_db
Status = Submission.Status


def test_upload_process_report_scorecard_publish(client, liaison_a, data_manager, mapped_site):
    login_verified(client, liaison_a)
    response = client.post(
        reverse("ingest:submission_upload"),
        {
            "site": mapped_site.pk,
            "period": "2025-05-01",
            "on_invalid": "set_aside",
            "file": csv_upload(csv_bytes(4, bad_dates=1)),
        },
    )
    assert response.status_code == 302
    submission = Submission.objects.get()

    services.submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Status.READY_FOR_REVIEW
    assert (submission.rows_accepted, submission.rows_set_aside) == (4, 1)

    progress = client.get(reverse("ingest:submission_progress", kwargs={"pk": submission.pk}))
    assert progress.json()["finished"] is True and progress.json()["progress"] == 100

    report = client.get(reverse("ingest:submission_report", kwargs={"pk": submission.pk}))
    body = report.content.decode()
    assert report.status_code == 200
    assert "V002_BAD_DATE" in body and "A date could not be read as a UK date." in body
    assert "Rows set aside" in body  # the SetAsideRow table from the real load

    scorecard = client.get(reverse("ingest:submission_scorecard", kwargs={"pk": submission.pk}))
    assert scorecard.status_code == 200
    assert "Completeness of each ISTV item" in scorecard.content.decode()

    login_verified(client, data_manager)
    client.post(
        reverse("ingest:submission_publish", kwargs={"pk": submission.pk}),
        {"reason": "Test file: the checks are expected to fail."},
    )
    submission.refresh_from_db()
    assert submission.status == Status.PUBLISHED


def test_excel_unicode_text_txt_is_uploaded_and_loaded(client, liaison_a, mapped_site):
    """Excel's "Save As > Unicode Text" (UTF-16 with a BOM, tab-separated, .txt) goes
    through the upload page and the real pipeline like any CSV."""
    rows = [
        [f"{day:02d}/05/2025", "22:40", f"{day:02d}/05/2025", "22:10", "Knife", "", "Street", text]
        for day, text in ((3, "o/s Brixton stn"), (4, "Café, Walworth Rd"), (5, "Mare St"))
    ]
    data = excel_unicode_text([GOOD_ROW, *rows])
    login_verified(client, liaison_a)
    response = client.post(
        reverse("ingest:submission_upload"),
        {
            "site": mapped_site.pk,
            "period": "2025-05-01",
            "on_invalid": "reject",
            "file": csv_upload(data, name="ED assaults May 2025.txt"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    submission = Submission.objects.get()
    assert submission.detected_format == "tsv"

    services.submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Status.READY_FOR_REVIEW, submission.report
    assert (submission.rows_read, submission.rows_accepted) == (4, 4)
    descriptions = set(
        Incident.objects.filter(submission=submission).values_list(
            "location_description", flat=True
        )
    )
    assert descriptions == {"o/s Brixton stn", "Café, Walworth Rd", "Mare St"}
