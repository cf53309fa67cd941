"""manage.py ingest: one JSON summary, the same services as the browser upload."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.models import Incident
from tests.submissions.helpers import CsvSpec, csv_bytes, unseen_layout_csv

pytestmark = pytest.mark.django_db
KEYS = {
    "submission_id",
    "status",
    "rows_read",
    "accepted",
    "set_aside",
    "errors_by_code",
    "pii_findings_by_kind",
    "geocoded_by_precision",
}


def _ingest(path: Path, *args: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    code = 0
    try:
        call_command("ingest", str(path), "--json", *args, stdout=out, skip_checks=True)
    except SystemExit as exc:
        code = int(exc.code or 0)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1  # one JSON summary
    return code, json.loads(lines[0])


def _file(tmp_path: Path, spec: CsvSpec, name: str = "may.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_bytes(spec))
    return path


def test_unseen_layout_stops_with_the_proposed_mapping(
    tmp_path: Path, site_b: HospitalSite
) -> None:
    path = tmp_path / "may.csv"
    path.write_bytes(unseen_layout_csv())
    code, summary = _ingest(path, "--hospital", "R1H12", "--period", "2025-05")
    assert code == 1
    assert set(summary) >= KEYS
    assert summary["status"] == "mapping_needed"
    mapping = summary["mapping"]
    assert isinstance(mapping, dict)
    assert mapping["mapping"]["columns"]["assault_date"] == "Assault Date"


def test_accept_suggested_mapping_and_publish(tmp_path: Path, site_b: HospitalSite) -> None:
    code, summary = _ingest(
        _file(tmp_path, CsvSpec(rows=25, bad_rows=1)),
        "--hospital",
        "R1H12",
        "--period",
        "2025-05",
        "--accept-suggested-mapping",
        "--set-aside",
        "--publish",
    )
    assert code == 0, summary
    assert summary["status"] == "published"
    assert (summary["rows_read"], summary["accepted"], summary["set_aside"]) == (25, 24, 1)
    assert summary["errors_by_code"] == {"V002_BAD_DATE": 1}
    assert summary["geocoded_by_precision"] == {"pending": 24}
    assert Incident.objects.filter(submission__status="published").count() == 24
    published = AuditEvent.objects.get(action="submission.published")
    assert published.actor is None  # the system, as the operator ran it without --as


def test_without_set_aside_any_invalid_row_rejects(
    tmp_path: Path, mapped_site: HospitalSite
) -> None:
    code, summary = _ingest(
        _file(tmp_path, CsvSpec(rows=10, bad_rows=2)), "--hospital", "RJ122", "--period", "2025-05"
    )
    assert code == 1
    assert summary["status"] == "rejected" and summary["errors_by_code"] == {"V002_BAD_DATE": 2}
    assert not Incident.objects.exists()


def test_dry_run_stores_nothing(tmp_path: Path, mapped_site: HospitalSite) -> None:
    code, summary = _ingest(
        _file(tmp_path, CsvSpec(rows=10)), "--hospital", "RJ122", "--period", "2025-05", "--dry-run"
    )
    assert code == 0 and summary["status"] == "checked" and summary["accepted"] == 10
    assert not Incident.objects.exists()


def test_personal_data_is_reported_by_kind_only(tmp_path: Path, mapped_site: HospitalSite) -> None:
    code, summary = _ingest(
        _file(tmp_path, CsvSpec(rows=5, nhs_column=True)),
        "--hospital",
        "RJ122",
        "--period",
        "2025-05",
    )
    assert code == 1
    assert summary["status"] == "quarantined"
    assert summary["pii_findings_by_kind"] == {"nhs_number": 5}


def test_refused_file_and_as_user(
    tmp_path: Path, mapped_site: HospitalSite, liaison_a: User
) -> None:
    bad = tmp_path / "x.exe.csv"
    bad.write_bytes(csv_bytes())
    code, summary = _ingest(bad, "--hospital", "RJ122", "--period", "2025-05")
    assert code == 1 and summary["status"] == "refused"
    assert summary["errors_by_code"] == {"F001_EXTENSION_NOT_ALLOWED": 1}
    code, summary = _ingest(
        _file(tmp_path, CsvSpec(rows=3)),
        "--hospital",
        "RJ122",
        "--period",
        "2025-05",
        "--as",
        liaison_a.email,
    )
    assert summary["status"] == "ready_for_review"
    submission = Submission.objects.get(pk=summary["submission_id"])
    assert submission.uploaded_by == liaison_a
