"""``manage.py rescan_personal_data``: stored free text redacted in place with the current
guard; a dry run changes nothing; one audit event per run, with counts only.

The "old" rows are made by loading a clean file and then writing into it what an older
guard let through (invented values, real places).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.geocoding.loaders import gazetteer_load
from incidents.geocoding.service import reset_geocoder
from incidents.models import Incident
from ingest import services
from ingest.pipeline.pii import HOME_ADDRESS, REDACTED
from tests.geocoding.conftest import write_mini_gazetteer
from tests.submissions.helpers import HEADER, upload

pytestmark = pytest.mark.django_db
ACTION = "data.personal_data_rescanned"

# What an older guard stored verbatim: (location description, method "other" text).
LEAKED = [
    ("NHS no 0726240125", ""),
    ("pt lives at 12 Acre Lane SW2 5SG", ""),
    ("assaulted by her partner John Smith", ""),
    ("o/s Brixton stn", "hit by Kevin Doyle, MRN 12345678"),
]
VALUES = ["0726240125", "12 Acre Lane", "SW2 5SG", "John", "Smith", "Kevin", "Doyle", "12345678"]
CLEAN = ["o/s Brixton stn", "Rye Lane", "junction of Mare St and Well St", "pt's home"]


@pytest.fixture
def gazetteer(tmp_path: Path) -> Iterator[None]:
    directory = tmp_path / "geo"
    directory.mkdir()
    gazetteer_load(directory=write_mini_gazetteer(directory))
    reset_geocoder()
    yield
    reset_geocoder()


@pytest.fixture
def stored(gazetteer: None, mapped_site: HospitalSite, liaison_a: User) -> list[int]:
    """Eight stored rows: four clean, then four given the leaked text of an older guard
    (the home address one placed on the map, as it would have been)."""
    lines = [",".join(HEADER)]
    for i, text in enumerate(CLEAN * 2):
        day = f"{1 + i:02d}/05/2025"
        lines.append(",".join([day, "21:10", day, "21:00", "Fist", "", "Street", text]))
    submission = services.submission_receive(
        actor=liaison_a,
        site=mapped_site,
        period="2025-05",
        upload=upload(("\r\n".join(lines) + "\r\n").encode()),
        set_aside_invalid=False,
        dry_run=False,
        enqueue=False,
    )
    done = services.submission_process(submission_id=submission.pk)
    assert done.status == Submission.Status.READY_FOR_REVIEW
    ids = list(Incident.objects.filter(submission=done).order_by("pk").values_list("pk", flat=True))
    for pk, (description, other) in zip(ids[4:], LEAKED, strict=True):
        Incident.objects.filter(pk=pk).update(
            location_description=description,
            method_other=other,
            geocode_status="done",
            lat=51.4612,
            lon=-0.1156,
            geo_precision="street",
            geo_matched="street: Acre Lane",
        )
    return ids


def _snapshot() -> list[tuple[Any, ...]]:
    return list(
        Incident.objects.order_by("pk").values_list(
            "location_description", "method_other", "rules", "warnings", "geocode_status", "lat"
        )
    )


def _run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("rescan_personal_data", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_dry_run_changes_nothing_and_reports_counts(stored: list[int]) -> None:
    before = _snapshot()
    counts = _run("--dry-run")
    assert _snapshot() == before
    assert counts == {
        "dry_run": True,
        "rows_scanned": 8,
        "rows_changed": 4,
        "rows_by_kind": {
            "address": 1,
            "hospital_number": 1,
            "nhs_number": 1,
            "person_name": 2,
        },
        "rows_requeued_for_geocoding": 1,
    }
    assert not AuditEvent.objects.filter(action=ACTION).exists()


def test_real_run_redacts_audits_counts_only_and_is_idempotent(stored: list[int]) -> None:
    counts = _run("--batch-rows", "3")  # several batches
    assert (counts["rows_scanned"], counts["rows_changed"]) == (8, 4)
    rows = {
        pk: (d, m, w)
        for pk, d, m, w in Incident.objects.values_list(
            "pk", "location_description", "method_other", "warnings"
        )
    }
    text = json.dumps(list(rows.values()))
    for value in VALUES:
        assert value not in text
    assert rows[stored[4]][0] == f"NHS no {REDACTED}"
    assert rows[stored[5]][0] == f"pt lives at {HOME_ADDRESS}"
    assert rows[stored[6]][0] == f"assaulted by her partner {REDACTED}"
    assert rows[stored[7]][:2] == ("o/s Brixton stn", f"hit by {REDACTED}, MRN {REDACTED}")
    assert all("W005_PERSONAL_DATA_REDACTED" in rows[pk][2] for pk in stored[4:])
    assert all("W005_PERSONAL_DATA_REDACTED" not in rows[pk][2] for pk in stored[:4])
    # Clean rows are untouched.
    assert [rows[pk][0] for pk in stored[:4]] == CLEAN

    # The home address row was placed by the older guard; it is geocoded again (the
    # command runs the pending-geocode retry) and now classed home, with no point.
    home = Incident.objects.get(pk=stored[5])
    assert home.geocode_status == "done" and home.lat is None and home.geo_class == "home"
    assert "Acre" not in home.geo_matched

    (event,) = AuditEvent.objects.filter(action=ACTION)
    assert event.details == {**counts, "dry_run": False}
    for value in VALUES:
        assert value not in json.dumps(event.details)

    again = _run()
    assert again["rows_changed"] == 0 and again["rows_scanned"] == 8
    assert again["rows_by_kind"] == {}
    assert AuditEvent.objects.filter(action=ACTION).count() == 2
