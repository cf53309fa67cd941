"""submission_process: the pipeline end to end against the real database."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection

from accounts.audit.denials import OutOfScope
from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, MappingProfile, Submission
from incidents.models import Incident, Release, SetAsideRow
from ingest import services
from ingest.services import locks
from istv_portal import private_storage as storage
from tests.locks import advisory_lock_held_elsewhere
from tests.submissions.helpers import HEADER, CsvSpec, csv_bytes, unseen_layout_csv, upload

pytestmark = pytest.mark.django_db
Status = Submission.Status


def _process(submission: Submission) -> Submission:
    return services.submission_process(submission_id=submission.pk)


def test_clean_file_is_loaded_ready_for_review_and_uploader_told(
    receive: Callable[..., Submission],
    liaison_a: User,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    submission = receive(CsvSpec(rows=30))
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        done = _process(submission)
    assert done.status == Status.READY_FOR_REVIEW
    assert (done.rows_read, done.rows_accepted, done.rows_set_aside) == (30, 30, 0)
    assert done.attempts == 1 and done.progress == 100
    assert Incident.objects.filter(submission=done).count() == 30
    assert not Incident.objects.filter(
        submission__status="published"
    ).exists()  # not visible before publication
    incident = Incident.objects.filter(submission=done).order_by("source_row").first()
    assert incident is not None and incident.method_code == "body_part"
    # No gazetteer in the test database: pending, and never a default point.
    assert incident.geocode_status == "pending" and incident.lat is None
    card = done.scorecard
    assert set(card["completeness"]) >= {"assault_date", "method", "location_type"}
    assert card["geocoded_by_precision"] == {"pending": 30}
    assert card["timeliness"]["due"] == "2025-06-15"
    assert AuditEvent.objects.filter(action="submission.processed", object_id=str(done.pk)).exists()
    assert [m.to for m in mail.outbox] == [[liaison_a.email]]
    assert "Ready for review" in mail.outbox[0].body


def test_reject_all_stores_nothing_and_reports_every_problem(
    receive: Callable[..., Submission],
) -> None:
    done = _process(receive(CsvSpec(rows=40, bad_rows=3)))
    assert done.status == Status.REJECTED
    assert not Incident.objects.exists() and not SetAsideRow.objects.exists()
    issues = [i for i in done.report["issues"] if i["code"] == "V002_BAD_DATE"]
    assert {i["row"] for i in issues} == {2, 3, 4}  # header is row 1
    assert all(i["column"] == "Assault Date" and i["message"] for i in issues)
    assert done.report["errors_by_code"]["V002_BAD_DATE"] == 3
    assert AuditEvent.objects.filter(action="submission.rejected", object_id=str(done.pk)).exists()


def test_set_aside_loads_97_percent_and_keeps_3_percent_with_reasons(
    receive: Callable[..., Submission],
) -> None:
    """3 % invalid rows with accept-valid-and-set-aside."""
    done = _process(receive(CsvSpec(rows=100, bad_rows=3), set_aside=True))
    assert done.status == Status.READY_FOR_REVIEW
    assert Incident.objects.filter(submission=done).count() == 97
    aside = list(SetAsideRow.objects.filter(submission=done).order_by("source_row"))
    assert [r.source_row for r in aside] == [2, 3, 4]
    assert all(r.reasons[0]["code"] == "V002_BAD_DATE" for r in aside)
    assert (done.rows_accepted, done.rows_set_aside) == (97, 3)


def test_personal_data_quarantines_without_storing_or_reporting_values(
    receive: Callable[..., Submission], private_storage: Path
) -> None:
    data = csv_bytes(CsvSpec(rows=10, nhs_column=True))
    done = _process(receive(data=data))
    assert done.status == Status.QUARANTINED
    assert not Incident.objects.exists() and not SetAsideRow.objects.exists()
    assert not storage.path_for(done.stored_name).exists()
    assert storage.path_for(done.stored_name, quarantined=True).exists()
    finding = done.report["pii_findings"][0]
    assert finding["kind"] == "nhs_number" and finding["column"] == "NHS Number"
    assert finding["rows"][:2] == [2, 3]
    numbers = set(re.findall(rb"9\d\d ?\d{3} ?\d{4}", data))
    stored_text = str(done.report) + str(done.error)
    event = AuditEvent.objects.get(action="submission.quarantined", object_id=str(done.pk))
    for number in numbers:
        assert number.decode() not in stored_text and number.decode() not in str(event.details)


def test_unseen_layout_needs_mapping_then_confirmed_mapping_loads(
    liaison_b: User, site_b: HospitalSite
) -> None:
    submission = services.submission_receive(
        actor=liaison_b,
        site=site_b,
        period="2025-05",
        upload=upload(unseen_layout_csv()),
        set_aside_invalid=False,
        dry_run=False,
    )
    done = _process(submission)
    assert done.status == Status.MAPPING_NEEDED
    proposal = done.report["proposal"]["mapping"]["columns"]
    assert proposal["location_description"] == "Location Description"
    confirmed = services.submission_confirm_mapping(
        actor=liaison_b, submission=done, columns=proposal, value_mappings={}
    )
    assert confirmed.status == Status.RECEIVED and confirmed.attempts == 0
    profile = MappingProfile.objects.get(site=site_b)
    assert profile.columns["Weapon"] == "method"
    assert AuditEvent.objects.filter(action="mapping.changed", actor=liaison_b).exists()
    assert _process(confirmed).status == Status.READY_FOR_REVIEW


def test_confirm_mapping_by_another_sites_liaison_is_404(
    liaison_a: User, liaison_b: User, site_b: HospitalSite
) -> None:
    submission = services.submission_receive(
        actor=liaison_b,
        site=site_b,
        period="2025-05",
        upload=upload(csv_bytes()),
        set_aside_invalid=False,
        dry_run=False,
    )
    done = _process(submission)
    with pytest.raises(OutOfScope):
        services.submission_confirm_mapping(
            actor=liaison_a, submission=done, columns={"Assault Date": "assault_date"}
        )


def test_schema_mismatch_loads_zero_rows(receive: Callable[..., Submission]) -> None:
    """A file whose columns differ from the stored mapping loads nothing: it stops at
    mapping needed (a changed layout is carried through, not rejected)."""
    text = csv_bytes(CsvSpec(rows=10)).decode().replace("Assault Method", "Weapon")
    done = _process(receive(data=text.encode(), set_aside=True))
    assert done.status == Status.MAPPING_NEEDED
    assert done.report["errors_by_code"] == {"F031_SCHEMA_MISMATCH": 1}
    assert not Incident.objects.exists() and not SetAsideRow.objects.exists()


def test_xxe_xml_is_rejected_at_processing_with_a_reason(
    receive: Callable[..., Submission],
) -> None:
    from tests.submissions.helpers import XXE_XML

    done = _process(receive(data=XXE_XML, name="may.xml"))
    assert done.status == Status.REJECTED
    assert "F020_XML_FORBIDDEN_CONSTRUCT" in done.report["errors_by_code"]
    assert done.error and not Incident.objects.exists()


def test_dry_run_checks_everything_and_stores_no_incidents(
    receive: Callable[..., Submission],
) -> None:
    done = _process(receive(CsvSpec(rows=12, bad_rows=1), set_aside=True, dry_run=True))
    assert done.status == Status.CHECKED
    assert done.rows_accepted == 11 and done.rows_set_aside == 1
    assert done.scorecard["accepted"] == 11
    assert not Incident.objects.exists() and not SetAsideRow.objects.exists()


def test_a_dry_run_uses_up_no_version_number(receive: Callable[..., Submission]) -> None:
    """Check-only runs before, between and after real uploads leave the real versions
    numbered 1, 2 with no gap, and two check-only runs of a month can coexist."""
    first_check = _process(receive(CsvSpec(rows=4), dry_run=True))
    assert first_check.status == Status.CHECKED
    real = _process(receive(CsvSpec(rows=4, seed=1)))
    second_check = _process(receive(CsvSpec(rows=4, seed=2), dry_run=True))
    corrected = receive(CsvSpec(rows=4, seed=3))
    assert (real.version, corrected.version) == (1, 2)
    real_versions = Submission.objects.filter(dry_run=False).values_list("version", flat=True)
    assert sorted(real_versions) == [1, 2]
    assert first_check.version == second_check.version != real.version


def test_processing_twice_does_not_double_rows(receive: Callable[..., Submission]) -> None:
    submission = receive(CsvSpec(rows=15))
    _process(submission)
    again = _process(submission)
    assert again.status == Status.READY_FOR_REVIEW and again.attempts == 1
    assert Incident.objects.count() == 15


def test_lock_held_elsewhere_makes_processing_exit(receive: Callable[..., Submission]) -> None:
    """Concurrent runs, at service level: a second process holding the site+month lock."""
    submission = receive(CsvSpec(rows=5))
    key = locks.lock_key(submission.site_id, submission.period)
    with advisory_lock_held_elsewhere(locks.LOCK_PROCESS, key):
        result = _process(submission)
        assert result.status == Status.RECEIVED and result.attempts == 0
    assert _process(submission).status == Status.READY_FOR_REVIEW


def test_max_attempts_marks_failed_and_audits(
    receive: Callable[..., Submission], settings: object
) -> None:
    submission = receive(CsvSpec(rows=5))
    Submission.objects.filter(pk=submission.pk).update(attempts=3, status=Status.PROCESSING)
    done = _process(submission)
    assert done.status == Status.FAILED and "3 attempts" in done.error
    event = AuditEvent.objects.get(action="submission.processed", object_id=str(done.pk))
    assert event.details["outcome"] == "failed"


def test_geocoder_failure_loads_rows_pending_without_coordinates(
    receive: Callable[..., Submission], monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidents.geocoding import service

    def unavailable(**kwargs: object) -> object:
        raise TimeoutError("geocoder timed out")

    monkeypatch.setattr(service, "get_geocoder", unavailable)
    done = _process(receive(CsvSpec(rows=8)))
    assert done.status == Status.READY_FOR_REVIEW
    rows = Incident.objects.filter(submission=done)
    assert rows.count() == 8
    assert set(rows.values_list("geocode_status", flat=True)) == {"pending"}
    assert not rows.filter(lat__isnull=False).exists()


def _published_ids() -> set[int]:
    return set(
        Incident.objects.filter(submission__status="published").values_list(
            "submission_id", flat=True
        )
    )


def test_v2_supersedes_v1_only_when_published(
    receive: Callable[..., Submission], data_manager: User
) -> None:
    """Queries see only v2 after it is published; v1 superseded; both audited."""
    v1 = _process(receive(CsvSpec(rows=10)))
    v1 = services.submission_publish(actor=data_manager, submission=v1)
    assert _published_ids() == {v1.pk}
    v2 = _process(receive(CsvSpec(rows=12, seed=1)))
    assert v2.status == Status.READY_FOR_REVIEW
    assert _published_ids() == {v1.pk}  # v1 stays visible while v2 waits for review
    services.submission_publish(actor=data_manager, submission=v2)
    v1.refresh_from_db()
    assert v1.status == Status.SUPERSEDED and v1.superseded_by_id == v2.pk
    assert _published_ids() == {v2.pk}
    assert Incident.objects.filter(submission__status="published").count() == 12
    assert Incident.objects.filter(submission=v1).count() == 10  # kept for history
    release = Release.objects.latest()
    assert set(release.submissions.values_list("pk", flat=True)) == {v2.pk}
    first_release = Release.objects.get(number=release.number - 1)
    assert set(first_release.submissions.values_list("pk", flat=True)) == {v1.pk}
    uploads = AuditEvent.objects.filter(action="submission.uploaded")
    assert set(uploads.values_list("object_id", flat=True)) == {str(v1.pk), str(v2.pk)}
    assert AuditEvent.objects.filter(action="submission.published").count() == 2


def test_only_data_managers_publish(receive: Callable[..., Submission], liaison_a: User) -> None:
    done = _process(receive(CsvSpec(rows=5)))
    with pytest.raises(OutOfScope):
        services.submission_publish(actor=liaison_a, submission=done)
    rejected = _process(receive(CsvSpec(rows=5, bad_rows=1, seed=2)))
    with pytest.raises(ValidationError):
        services.submission_publish(actor=None, submission=rejected, system=True)


def test_auto_publish_when_scorecard_passes(
    receive: Callable[..., Submission], settings: object
) -> None:
    settings.SUBMISSION_AUTO_PUBLISH = True  # type: ignore[attr-defined]
    settings.SUBMISSION_AUTO_PUBLISH_THRESHOLDS = {"min_geocoded_share": 0.0}  # type: ignore[attr-defined]
    done = _process(receive(CsvSpec(rows=10)))
    assert done.status == Status.PUBLISHED
    assert Incident.objects.filter(submission__status="published").count() == 10
    settings.SUBMISSION_AUTO_PUBLISH_THRESHOLDS = {"min_geocoded_share": 0.9}  # type: ignore[attr-defined]
    not_auto = _process(receive(CsvSpec(rows=10, seed=3)))
    assert not_auto.status == Status.READY_FOR_REVIEW
    assert "geocoded_share" in not_auto.scorecard["failed_checks"]


def test_database_error_mid_load_leaves_previous_version_intact(
    receive: Callable[..., Submission], data_manager: User
) -> None:
    """A real PostgreSQL error half-way through COPY (a trigger) rolls the whole load
    back: the published v1 and its rows are untouched and v2 has no rows."""
    v1 = services.submission_publish(
        actor=data_manager, submission=_process(receive(CsvSpec(rows=10)))
    )
    v2 = receive(CsvSpec(rows=30, seed=4))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION test_fail_mid_load() RETURNS trigger AS $$
            BEGIN
              IF NEW.source_row = 20 THEN RAISE EXCEPTION 'injected failure'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail_mid_load BEFORE INSERT ON incidents_incident
              FOR EACH ROW EXECUTE FUNCTION test_fail_mid_load();
            """
        )
    with pytest.raises(DatabaseError):
        _process(v2)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == Status.PUBLISHED
    assert Incident.objects.filter(submission=v1).count() == 10
    assert not Incident.objects.filter(submission=v2).exists()
    assert v2.status == Status.PROCESSING and v2.attempts == 1  # the task retries
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_fail_mid_load ON incidents_incident")
    assert _process(v2).status == Status.READY_FOR_REVIEW
    assert Incident.objects.filter(submission=v2).count() == 30
    assert HEADER  # the layout the mapping was made for
