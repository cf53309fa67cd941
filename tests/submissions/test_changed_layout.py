"""A hospital changes ED system: the file with different columns stops at "mapping needed"
with a proposal, the confirmed mapping becomes a new version, the same stored file
continues, and a later file in the old layout is read with the earlier version.
Through the services and through ``manage.py ingest --accept-suggested-mapping``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, MappingProfile, Submission
from incidents.models import Incident
from ingest import services
from tests.submissions.helpers import PROFILE_COLUMNS, RENAMED_COLUMNS, CsvSpec
from tests.submissions.helpers import changed_layout_csv as changed_layout

pytestmark = pytest.mark.django_db
Status = Submission.Status
JUNE = CsvSpec(period=date(2025, 6, 1))
JULY = CsvSpec(period=date(2025, 7, 1))


def _process(submission: Submission) -> Submission:
    return services.submission_process(submission_id=submission.pk)


def test_changed_layout_from_upload_through_confirmation_to_publish(
    receive: Callable[..., Submission], liaison_a: User, data_manager: User
) -> None:
    done = _process(receive(data=changed_layout()))
    assert done.status == Status.MAPPING_NEEDED
    assert (done.rows_read, done.rows_accepted) == (20, 0)
    assert not Incident.objects.exists()
    assert "confirmed mapping (version 1)" in done.error
    assert done.report["mapping_status"] == "schema_mismatch"
    assert done.report["errors_by_code"] == {"F031_SCHEMA_MISMATCH": 1}
    proposal = done.report["proposal"]
    assert proposal["based_on"] == 1 and proposal["missing_fields"] == []
    assert proposal["mapping"]["columns"] == {
        **{f: c for c, f in PROFILE_COLUMNS.items()},
        "assault_date": "Incident Dt",
        "method": "Weapon used",
        "location_type": "Col7",
        "location_description": "Where it happened",
    }
    assert set(done.report["drift"]["kept"]) == set(PROFILE_COLUMNS) - set(RENAMED_COLUMNS)
    processed = AuditEvent.objects.get(action="submission.processed", object_id=str(done.pk))
    assert processed.details["outcome"] == "mapping_needed"
    assert processed.details["mapping_version"] == 1

    confirmed = services.submission_confirm_mapping(
        actor=liaison_a, submission=done, columns=proposal["mapping"]["columns"]
    )
    assert confirmed.status == Status.RECEIVED
    assert confirmed.mapping is not None and confirmed.mapping.version == 2
    versions = list(MappingProfile.objects.filter(site=done.site).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].columns == PROFILE_COLUMNS  # the earlier version is kept as it was
    assert versions[1].source_columns == done.report["columns"]
    event = AuditEvent.objects.get(action="mapping.changed", object_id=str(versions[1].pk))
    assert event.actor == liaison_a
    assert {k: event.details[k] for k in ("version", "previous_version", "submission_id")} == {
        "version": 2,
        "previous_version": 1,
        "submission_id": done.pk,
    }
    assert event.details["previous_profile_id"] == versions[0].pk
    assert not any(column in json.dumps(event.details) for column in RENAMED_COLUMNS.values())

    loaded = _process(confirmed)  # the same stored file: nothing uploaded again
    assert loaded.status == Status.READY_FOR_REVIEW
    assert Submission.objects.count() == 1 and loaded.stored_name == done.stored_name
    assert Incident.objects.filter(submission=loaded).count() == 20
    assert loaded.mapping is not None and loaded.mapping.version == 2
    published = services.submission_publish(actor=data_manager, submission=loaded)
    assert published.status == Status.PUBLISHED
    assert Incident.objects.filter(submission__status=Status.PUBLISHED).count() == 20


def test_old_layout_after_a_change_is_read_with_the_earlier_version(
    receive: Callable[..., Submission], liaison_a: User
) -> None:
    first = _process(receive(data=changed_layout()))
    services.submission_confirm_mapping(
        actor=liaison_a, submission=first, columns=first.report["proposal"]["mapping"]["columns"]
    )
    assert _process(first).status == Status.READY_FOR_REVIEW

    old = _process(receive(JUNE, period="2025-06"))
    assert old.status == Status.READY_FOR_REVIEW  # no mapping asked for
    assert old.mapping is not None and old.mapping.version == 1
    assert old.report["mapping_version"] == 1 and old.report["mapping_status"] == "confirmed"
    assert Incident.objects.filter(submission=old).count() == 20
    new = _process(receive(data=changed_layout(JULY), period="2025-07"))
    assert new.status == Status.READY_FOR_REVIEW
    assert new.mapping is not None and new.mapping.version == 2
    assert MappingProfile.objects.filter(site=old.site).count() == 2  # nothing new saved


def test_confirmation_keeps_the_previous_versions_value_mappings(
    receive: Callable[..., Submission], liaison_a: User, mapped_site: HospitalSite
) -> None:
    MappingProfile.objects.filter(site=mapped_site).update(
        value_mappings={"method": {"Qwerty": "body_part"}}
    )
    data = changed_layout().replace(b"Kicked", b"Qwerty")
    done = _process(receive(data=data))
    assert done.report["unmapped_values"] == {}  # the carried value mapping knows "Qwerty"
    services.submission_confirm_mapping(
        actor=liaison_a,
        submission=done,
        columns=done.report["proposal"]["mapping"]["columns"],
        value_mappings={"location_type": {"Shop": "commercial"}},
    )
    current = MappingProfile.objects.filter(site=mapped_site).latest()
    assert current.value_mappings == {
        "method": {"Qwerty": "body_part"},
        "location_type": {"Shop": "commercial"},
    }
    loaded = _process(done)
    assert loaded.status == Status.READY_FOR_REVIEW
    assert set(
        Incident.objects.filter(submission=loaded, method_raw="Qwerty").values_list(
            "method_code", flat=True
        )
    ) == {"body_part"}


# --- manage.py ingest --------------------------------------------------------------------


def _ingest(path: Path, *args: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    code = 0
    try:
        call_command(
            "ingest",
            str(path),
            "--json",
            "--hospital",
            "RJ122",
            "--period",
            "2025-05",
            *args,
            stdout=out,
            skip_checks=True,
        )
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip())


def test_command_accepts_a_complete_proposal_for_a_changed_layout(
    tmp_path: Path, mapped_site: HospitalSite
) -> None:
    path = tmp_path / "may.csv"
    path.write_bytes(changed_layout())
    code, summary = _ingest(path, "--accept-suggested-mapping", "--set-aside")
    assert code == 0, summary
    assert summary["status"] == "ready_for_review" and summary["accepted"] == 20
    current = MappingProfile.objects.filter(site=mapped_site).latest()
    assert current.version == 2 and current.confirmed_by is None
    assert current.columns["Weapon used"] == "method"
    event = AuditEvent.objects.get(action="mapping.changed", object_id=str(current.pk))
    assert event.details["reason"] == "changed layout: suggested mapping accepted at upload"
    assert event.details["previous_version"] == 1
    assert event.details["submission_id"] == summary["submission_id"]
    submission = Submission.objects.get(pk=summary["submission_id"])
    assert submission.mapping == current and submission.report["mapping_version"] == 2


def test_command_stops_at_mapping_needed_for_an_incomplete_proposal(
    tmp_path: Path, mapped_site: HospitalSite
) -> None:
    path = tmp_path / "may.csv"
    path.write_bytes(changed_layout(drop=("Assault Method",)))
    code, summary = _ingest(path, "--accept-suggested-mapping")
    assert code == 1
    assert summary["status"] == "mapping_needed" and summary["accepted"] == 0
    error = str(summary["error"])
    assert "incomplete, so it was not accepted automatically" in error
    assert "No column could be found for: the assault method" in error
    mapping = summary["mapping"]
    assert isinstance(mapping, dict) and mapping["missing_fields"] == ["method"]
    assert MappingProfile.objects.filter(site=mapped_site).count() == 1
    assert not Incident.objects.exists()


def test_command_without_the_flag_asks_for_the_changed_mapping(
    tmp_path: Path, mapped_site: HospitalSite
) -> None:
    path = tmp_path / "may.csv"
    path.write_bytes(changed_layout())
    code, summary = _ingest(path)
    assert code == 1 and summary["status"] == "mapping_needed"
    assert "A new mapping is proposed" in str(summary["error"])
    assert MappingProfile.objects.filter(site=mapped_site).count() == 1
