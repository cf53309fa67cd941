"""/api/v1/exports/: rights, purpose, neutralisation, manifest, audit, throttling, headers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from openpyxl import load_workbook

from accounts.audit.models import Action, AuditEvent
from tests.workspace_api.conftest import COUNTS
from tests.workspace_api.factories import SOUTHWARK

pytestmark = pytest.mark.django_db
CSV = "/api/v1/exports/incidents.csv"
AGG_CSV = "/api/v1/exports/aggregates.csv"


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_csv_export_neutralises_and_is_audited(world, api_as, southwark_analyst) -> None:
    response = api_as(southwark_analyst).get(
        CSV, {"purpose": "Licensing review", "assault_date_from": "2000-01-01"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["X-Export-Row-Count"] == "3"
    assert 'filename="incidents.csv"' in response["Content-Disposition"]
    data = _body(response)
    rows = _csv_rows(data)
    assert len(rows) == COUNTS[SOUTHWARK]
    assert {r["borough"] for r in rows} == {SOUTHWARK}
    texts = {r["location_description"] for r in rows}
    assert '\'=HYPERLINK("http://x")' in texts  # formula neutralised, round-trips as text
    assert {r["precision"] for r in rows} <= {"snapped", "lsoa_centroid"}  # never exact

    events = list(AuditEvent.objects.filter(action=Action.DATA_DOWNLOADED).order_by("id"))
    assert [e.details["stage"] for e in events] == ["started", "completed"]
    done = events[-1]
    assert done.actor_id == southwark_analyst.pk
    assert done.organisation is not None
    assert done.details["rows"] == 3
    assert done.details["format"] == "csv"
    assert done.details["purpose"] == "Licensing review"
    assert done.details["sha256"] == hashlib.sha256(data).hexdigest()  # hash of the bytes sent
    assert done.details["filter"] == {"assault_date_from": ["2000-01-01"]}
    memberships = southwark_analyst.memberships.filter(is_active=True)
    assert done.details["organisations"] == sorted(m.organisation.name for m in memberships)
    assert done.occurred_at.utcoffset() == dt.timedelta(0)  # a UTC timestamp
    assert events[0].details["rows"] == 3


def test_purpose_is_required(world, api_as, mps_analyst) -> None:
    response = api_as(mps_analyst).get(CSV)
    assert response.status_code == 400
    assert "purpose" in response.json()
    assert not AuditEvent.objects.filter(action=Action.DATA_DOWNLOADED).exists()


def test_no_download_right_is_403(world, api_as, mopac_analyst) -> None:
    assert api_as(mopac_analyst).get(CSV, {"purpose": "x"}).status_code == 403
    assert api_as(mopac_analyst).get(AGG_CSV, {"group_by": "borough"}).status_code == 403


def test_aggregate_user_gets_aggregate_exports_only(world, api_as, aggregate_user) -> None:
    client = api_as(aggregate_user)
    refused = client.get(CSV, {"purpose": "x"})
    assert refused.status_code == 403
    assert "aggregates" in refused.json()["detail"]
    # One group: the small world is too sparse for a grid of every borough.
    response = client.get(AGG_CSV, {"group_by": "borough", "borough": SOUTHWARK, "package": "zip"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert archive.namelist() == ["aggregates.csv", "data-dictionary.csv", "manifest.json"]
    rows = _csv_rows(archive.read("aggregates.csv"))
    assert {r["count"] for r in rows} == {"*"}  # 3 in Southwark: suppressed
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["disclosure_control"]
    assert (
        manifest["data_file"]["sha256"]
        == hashlib.sha256(archive.read("aggregates.csv")).hexdigest()
    )
    assert manifest["query"]["group_by"] == ["borough"]


def test_free_text_column_absent_without_the_right(world, api_as, lambeth_analyst) -> None:
    rows = _csv_rows(_body(api_as(lambeth_analyst).get(CSV, {"purpose": "x"})))
    assert rows and "location_description" not in rows[0]


def test_xlsx_and_geojson(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    xlsx = client.get("/api/v1/exports/incidents.xlsx", {"purpose": "x", "borough": SOUTHWARK})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(_body(xlsx)), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 + COUNTS[SOUTHWARK]
    assert any(v == '\'=HYPERLINK("http://x")' for row in values for v in row)
    # Labels beside codes, as in the CSV: the site's name beside its code, and a ward
    # label only where there is a ward code.
    header = values[0]
    assert header.index("hospital_label") == header.index("hospital") + 1
    for row in map(dict, (zip(header, v, strict=True) for v in values[1:])):
        assert row["hospital_label"]
        if not row["ward"]:
            assert not row["ward_label"]
    geo = client.get("/api/v1/exports/incidents.geojson", {"purpose": "x"})
    features = json.loads(_body(geo))["features"]
    assert len(features) == sum(COUNTS.values())
    assert all("method_label" in f["properties"] for f in features)
    assert any(f["geometry"] is None for f in features)  # the unlocated Lambeth row


def test_zip_package_manifest(world, api_as, mps_analyst) -> None:
    response = api_as(mps_analyst).get(
        CSV, {"purpose": "Annual report", "package": "zip", "method": "knife"}
    )
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["purpose"] == "Annual report"
    assert manifest["query"] == {"method": ["knife"]}
    assert manifest["row_count"] == 6
    assert (
        manifest["data_file"]["sha256"] == hashlib.sha256(archive.read("incidents.csv")).hexdigest()
    )
    assert manifest["generated_for"]["email"] == "mps_analyst@personas.test"


def test_eleventh_export_in_a_minute_is_429(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    for _ in range(10):
        response = client.get(AGG_CSV, {"group_by": "borough"})
        assert response.status_code == 200
        _body(response)
    refused = client.get(AGG_CSV, {"group_by": "borough"})
    assert refused.status_code == 429  # per-user export rate
    assert refused["Cache-Control"] == "no-store"
    # The refused call is on the record too.
    throttled = AuditEvent.objects.filter(action="api.called", actor=mps_analyst).latest("id")
    assert throttled.details["status"] == 429
    assert throttled.details["endpoint"] == "api:export-aggregates"
    # Other API calls are not export-throttled.
    assert client.get("/api/v1/aggregates/", {"group_by": "borough"}).status_code == 200


def test_out_of_scope_filter_exports_nothing(world, api_as, southwark_analyst) -> None:
    response = api_as(southwark_analyst).get(CSV, {"purpose": "x", "borough": "E09000022"})
    assert response.status_code == 200
    assert _csv_rows(_body(response)) == []


@pytest.mark.parametrize("persona", ["mps_analyst", "southwark_analyst", "lambeth_analyst"])
def test_csv_export_is_written_by_postgresql_with_the_python_bytes(
    world, api_as, persona, request, monkeypatch
) -> None:
    """The CSV comes from COPY (incident_csv_export) and equals the Python masker's CSV."""
    from accounts.access import effective_access
    from incidents.api import views
    from incidents.exports import INCIDENT_FIELDS, CsvExport
    from incidents.exports.labels import with_labels
    from incidents.masking import RAW_FIELDS, Masker
    from incidents.selectors import Purpose, visible_to

    user = request.getfixturevalue(persona)
    calls = []
    real = views.incident_csv_export

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(views, "incident_csv_export", spy)
    body = _body(api_as(user).get(CSV, {"purpose": "x"}))
    zipped = zipfile.ZipFile(
        io.BytesIO(_body(api_as(user).get(CSV, {"purpose": "x", "package": "zip"})))
    )
    assert len(calls) == 2

    access = effective_access(user)
    masker = Masker.for_access(access)
    fields = [
        f for f in INCIDENT_FIELDS if f.name != "location_description" or masker.shows_free_text
    ]
    rows = (
        visible_to(user, purpose=Purpose.RECORDS, access=access)
        .filter(borough_code__in=sorted(access.record_boroughs & access.download_boroughs))
        .order_by("-assault_at", "-id")
        .values(*RAW_FIELDS)
    )
    expected = b"".join(CsvExport(with_labels(masker.mask_many(rows)), fields))
    assert body == expected == zipped.read("incidents.csv")
    assert b"\r\n" not in body
