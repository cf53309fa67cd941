"""The ISTV template on the upload page: both downloads hold exactly the pipeline's
column list and nothing else, the page describes every column, and a template filled in
with one row goes through the real pipeline without any mapping being asked for."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from accounts.models import User
from hospitals.models import HospitalSite, MappingProfile, Submission
from incidents.models import Incident
from ingest import services
from ingest.pipeline.template import ISTV_TEMPLATE, template_mapping
from tests.factories import login_verified
from tests.submissions_ui.conftest import csv_upload

pytestmark = pytest.mark.django_db
UPLOAD = reverse("ingest:submission_upload")
PIPELINE_COLUMNS = [c.header for c in ISTV_TEMPLATE]
# One valid May 2025 row, keyed by the item it belongs to (never a real person).
ROW = {
    "arrival_date": "03/05/2025",
    "arrival_time": "23:40",
    "assault_date": "03/05/2025",
    "assault_time": "23:10",
    "method": "Fist",
    "method_other": "",
    "location_type": "Street",
    "location_description": "o/s Brixton stn",
}


def _url(extension: str) -> str:
    return reverse("ingest:submission_template", kwargs={"extension": extension})


def _download(client: Client, user: User, extension: str) -> bytes:
    login_verified(client, user)
    response = client.get(_url(extension))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f'filename="istv-template.{extension}"' in response["Content-Disposition"]
    return response.content


def _row_for(header: list[str]) -> list[str]:
    fields = {c.header: c.field.value for c in ISTV_TEMPLATE}
    return [ROW[fields[name]] for name in header]


def test_csv_template_is_the_pipelines_header_and_nothing_else(
    client: Client, liaison_a: User
) -> None:
    login_verified(client, liaison_a)
    response = client.get(_url("csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(_download(client, liaison_a, "csv").decode("utf-8"))))
    assert rows == [PIPELINE_COLUMNS]
    assert template_mapping(rows[0]) is not None


def test_xlsx_template_is_the_pipelines_header_with_notes(client: Client, liaison_a: User) -> None:
    login_verified(client, liaison_a)
    response = client.get(_url("xlsx"))
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = load_workbook(io.BytesIO(_download(client, liaison_a, "xlsx")))
    first, notes = workbook.worksheets
    assert [list(r) for r in first.iter_rows(values_only=True)] == [PIPELINE_COLUMNS]
    described = {r[0]: r[1] for r in notes.iter_rows(min_row=2, values_only=True)}
    assert described == {c.header: "Required" if c.required else "Optional" for c in ISTV_TEMPLATE}


def test_upload_page_lists_every_column_and_links_both_templates(
    client: Client, liaison_a: User
) -> None:
    login_verified(client, liaison_a)
    body = client.get(UPLOAD).content.decode()
    assert _url("csv") in body and _url("xlsx") in body
    for column in ISTV_TEMPLATE:
        assert column.header in body
        assert column.description.replace("'", "&#x27;") in body
    assert body.count(">Required<") == sum(c.required for c in ISTV_TEMPLATE)
    assert body.count(">Optional<") == sum(not c.required for c in ISTV_TEMPLATE)


def test_templates_are_for_submission_users_only(client: Client, outsider: User) -> None:
    login_verified(client, outsider)
    assert client.get(_url("csv")).status_code == 404


def test_unknown_template_kind_is_404(client: Client, liaison_a: User) -> None:
    login_verified(client, liaison_a)
    assert client.get(_url("docx")).status_code == 404


def _upload_and_process(client: Client, site: HospitalSite, data: bytes, name: str) -> Submission:
    response = client.post(
        UPLOAD,
        {
            "site": site.pk,
            "period": "2025-05-01",
            "on_invalid": "reject",
            "file": csv_upload(data, name),
        },
    )
    assert response.status_code == 302
    return services.submission_process(submission_id=Submission.objects.get().pk)


def test_filled_csv_template_is_accepted_without_a_mapping(
    client: Client, liaison_a: User, site_a: HospitalSite
) -> None:
    assert not MappingProfile.objects.filter(site=site_a).exists()
    header = next(csv.reader(io.StringIO(_download(client, liaison_a, "csv").decode())))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, _row_for(header)])
    done = _upload_and_process(client, site_a, out.getvalue().encode(), "may.csv")
    assert done.status == Submission.Status.READY_FOR_REVIEW
    assert (done.rows_read, done.rows_accepted, done.rows_set_aside) == (1, 1, 0)
    incident = Incident.objects.get(submission=done)
    assert (incident.method_code, incident.location_type_code) == ("body_part", "street")


def test_filled_xlsx_template_is_accepted_without_a_mapping(
    client: Client, liaison_a: User, site_a: HospitalSite
) -> None:
    workbook: Workbook = load_workbook(io.BytesIO(_download(client, liaison_a, "xlsx")))
    sheet = workbook.worksheets[0]
    header = [str(c.value) for c in sheet[1]]
    sheet.append(_row_for(header))
    out = io.BytesIO()
    workbook.save(out)
    done = _upload_and_process(client, site_a, out.getvalue(), "may.xlsx")
    assert done.status == Submission.Status.READY_FOR_REVIEW
    assert (done.rows_read, done.rows_accepted) == (1, 1)
