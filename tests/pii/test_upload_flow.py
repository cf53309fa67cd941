"""Personal data in free text through a real upload: the pipeline, the loader, the report,
the audit log and the logs never keep a value.

Every value below is invented (NHS numbers in the 999 test range or CHI-style numbers
starting with 0, Ofcom drama phone numbers); the places are real.
"""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.models import Incident, SetAsideRow
from ingest import services
from ingest.pipeline.pii import HOME_ADDRESS, REDACTED
from tests.submissions.helpers import HEADER, upload

pytestmark = pytest.mark.django_db

# (description, method, method "other" text): rows 2.. of the file.
ROWS = [
    ("NHS no 0726240125", "Fist", ""),
    ("MRN 12345678", "Fist", ""),
    ("hosp no RJ1-4567890", "Knife", ""),
    ("pt home address 12 Acre Lane SW2 5SG", "Fist", ""),
    ("at home SE1 7EH", "Fist", ""),
    ("assaulted by her partner John Smith", "Fist", ""),
    ("pt's mum Sharon called 999", "Fist", ""),
    ("o/s Brixton stn, call 07700 900123", "Bottle", ""),
    ("outside Tesco Express Camberwell SE5 8TR", "Other", "hit with iron by Kevin Doyle"),
    ("d.o.b. 3/3/87 o/s 123 Walworth Road", "Fist", ""),
    ("King's Cross St Pancras", "Other", "dob 3rd March 1987, NI QQ 12 34 56 C"),
]
VALUES = [
    "0726240125",
    "12345678",
    "RJ1-4567890",
    "4567890",
    "12 Acre Lane",
    "SW2 5SG",
    "SE1 7EH",
    "John Smith",
    "Smith",
    "Sharon",
    "07700 900123",
    "900123",
    "Kevin Doyle",
    "Doyle",
    "3/3/87",
    "3rd March 1987",
    "QQ 12 34 56 C",
]
KEPT = [
    "outside Tesco Express Camberwell SE5 8TR",
    "o/s 123 Walworth Road",
    "King's Cross St Pancras",
]


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for i, (description, method, other) in enumerate(ROWS):
        day = f"{1 + i:02d}/05/2025"
        writer.writerow([day, "21:10", day, "21:00", method, other, "Street", description])
    return out.getvalue().encode()


def _assert_no_value(text: str, where: str) -> None:
    for value in VALUES:
        assert value not in text, f"{value!r} found in {where}"


def test_upload_stores_reports_and_logs_no_value(
    mapped_site: HospitalSite, liaison_a: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    submission = services.submission_receive(
        actor=liaison_a,
        site=mapped_site,
        period="2025-05",
        upload=upload(_csv()),
        set_aside_invalid=True,
        dry_run=False,
        enqueue=False,
    )
    done = services.submission_process(submission_id=submission.pk)
    assert done.status == Submission.Status.READY_FOR_REVIEW
    assert done.rows_accepted == len(ROWS)

    stored = list(
        Incident.objects.filter(submission=done)
        .order_by("source_row")
        .values_list("location_description", "method_other", "geo_matched", "geo_explanation")
    )
    assert len(stored) == len(ROWS)
    _assert_no_value(json.dumps(stored), "the stored incidents")
    descriptions = [row[0] for row in stored]
    for place in KEPT:
        assert any(place in d for d in descriptions), place
    assert descriptions[3] == f"pt home address {HOME_ADDRESS}"
    assert descriptions[5] == f"assaulted by her partner {REDACTED}"
    assert descriptions[6] == f"pt's mum {REDACTED} called 999"
    assert not SetAsideRow.objects.filter(submission=done).exclude(values={}).exists()

    # The report says which kinds were found in which rows, never the values.
    report = done.report
    _assert_no_value(json.dumps(report), "the report")
    by_kind = report["redactions_by_kind"]
    assert {
        "nhs_number",
        "hospital_number",
        "address",
        "person_name",
        "phone",
        "date_of_birth",
        "ni_number",
    } <= set(by_kind)
    rows = report["redacted_rows"]
    assert rows["nhs_number"] == [2]  # the header is row 1
    assert rows["address"] == [5, 6]
    assert 7 in rows["person_name"] and 8 in rows["person_name"]
    assert report["warnings_by_code"]["W005_PERSONAL_DATA_REDACTED"] == len(ROWS)

    # The audit log and every log line.
    details = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    _assert_no_value(details, "the audit log")
    logged = caplog.text + json.dumps([str(r.args) for r in caplog.records])
    _assert_no_value(logged, "the logs")
