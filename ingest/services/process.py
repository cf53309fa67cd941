"""Processing a received file: the pipeline, geocoding and the scorecard under the
site-and-month lock, ending quarantined, unloaded or loaded."""

from __future__ import annotations

import logging
from typing import NotRequired, TypedDict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from hospitals.models import HospitalSite, MappingProfile, Submission
from ingest.enrichment import geocode_rows, site_history
from ingest.pipeline import (
    ColumnMapping,
    Field,
    Options,
    ProcessResult,
    ReportJSON,
    process_file,
)
from ingest.pipeline.types import MappingProposalJSON, MappingVersion
from ingest.reference_services import code_references_for_site, reference_and_alias_versions
from ingest.scorecard import Thresholds, build_scorecard
from ingest.services.common import (
    RUNNING,
    Status,
    durable_commit,
    max_attempts,
    notify_uploader,
    submission_update,
)
from ingest.services.load import load_version
from ingest.services.locks import processing_run
from istv_portal import private_storage as storage
from istv_portal.periods import Period

logger = logging.getLogger(__name__)


def _mapping_versions(site: HospitalSite) -> dict[int, tuple[MappingProfile, MappingVersion]]:
    """The site's confirmed mapping versions, newest (current) first."""
    versions: dict[int, tuple[MappingProfile, MappingVersion]] = {}
    for profile in MappingProfile.objects.filter(site=site).order_by("-version"):
        columns = {Field(f): c for c, f in profile.columns.items()}
        values = {Field(f): dict(v) for f, v in (profile.value_mappings or {}).items()}
        versions[profile.version] = (
            profile,
            MappingVersion(
                version=profile.version,
                mapping=ColumnMapping(columns=columns, values=values),
                source_columns=tuple(profile.source_columns or ()),
            ),
        )
    return versions


def submission_process(*, submission_id: int) -> Submission:
    """Run the whole pipeline for one submission. Idempotent and safe to redeliver.

    A per-site+month advisory try-lock makes a concurrent second delivery exit at once.
    A finished submission is returned unchanged. Errors other than bad input propagate
    (the task retries); after ``SUBMISSION_MAX_ATTEMPTS`` starts the submission fails.
    """
    # Read once, before the lock: only the fields that never change after receipt (site,
    # month, file, options) are used from it until _start has claimed the run.
    submission = Submission.objects.select_related("site__organisation", "uploaded_by").get(
        pk=submission_id
    )
    with processing_run(submission.site_id, submission.period) as acquired:
        if not acquired:
            logger.info("submission %s: another process holds the lock", submission_id)
            return submission
        if _start(submission):
            return _run(submission)
        submission.refresh_from_db()  # finished meanwhile, or out of attempts
        if submission.status not in RUNNING:
            return submission
        return _fail(submission, f"Processing failed after {submission.attempts} attempts.")


def _start(submission: Submission) -> bool:
    """Claim the run under the lock: one UPDATE that checks the latest committed status
    and attempts (an UPDATE reads the newest row version, so a run that finished just
    before the lock was taken is seen) and records the start. False: nothing to run."""
    now = timezone.now()
    table = connection.ops.quote_name(Submission._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET attempts = attempts + 1, status = %s, started_at = %s,"  # noqa: S608
            " step = %s, progress = 5, error = '', heartbeat_at = %s"
            " WHERE id = %s AND status = ANY(%s) AND attempts < %s RETURNING attempts",
            [
                Status.CHECKING,
                now,
                "Checking the file",
                now,
                submission.pk,
                [str(s) for s in RUNNING],
                max_attempts(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    submission.attempts, submission.status, submission.started_at = row[0], Status.CHECKING, now
    submission.step, submission.progress, submission.error = "Checking the file", 5, ""
    submission.heartbeat_at = now
    return True


@transaction.atomic
def _fail(submission: Submission, reason: str) -> Submission:
    durable_commit()
    Submission.objects.filter(pk=submission.pk).update(
        status=Status.FAILED, error=reason, finished_at=timezone.now(), step="Failed"
    )
    submission.refresh_from_db()
    audit_record(
        action=Action.SUBMISSION_PROCESSED,
        actor=None,
        organisation=submission.site.organisation,
        obj=submission,
        details={"outcome": Status.FAILED, "attempts": submission.attempts},
    )
    notify_uploader(submission)
    return submission


def _run(submission: Submission) -> Submission:
    site = submission.site
    period = Period(submission.period.year, submission.period.month)
    versions = _mapping_versions(site)
    # Checked once per file, in one read: the data managers' synonyms and active code
    # list, and the reviewers' learned aliases (a decision made a moment ago applies).
    reference_version, alias_version = reference_and_alias_versions()
    references = code_references_for_site(site.site_code, version=reference_version)
    result = process_file(
        storage.locate(submission.stored_name),
        filename=submission.original_name,
        site_code=site.site_code,
        period=period,
        options=Options(
            accept_proposed_mapping=submission.accept_suggested_mapping,
            reject_on_invalid_rows=not submission.set_aside_invalid,
            # The version whose columns the file has, else the current one.
            mapping_versions=[version for _, version in versions.values()],
            site_aliases=frozenset(site.aliases or ()),
            method_reference=references[Field.METHOD.value],
            location_reference=references[Field.LOCATION_TYPE.value],
        ),
    )
    report = result.report.to_json()
    if result.status == "quarantined":
        return _finish_quarantined(submission, result, report)
    if result.status in ("rejected", "mapping_needed"):
        return _finish_unloaded(submission, result, report)
    used = versions.get(result.report.mapping_version or 0)
    if used is not None and result.report.mapping_status == "confirmed":
        submission.mapping = used[0]  # the version the rows were read with

    # One progress write between the start and the load: "Loading" (geocoding and the
    # scorecard take well under a second per file once the geocoder is warm).
    geocodes = geocode_rows(result.rows, site.site_code, alias_version=alias_version)
    precisions = [g.precision_label for g in geocodes]
    scorecard = build_scorecard(
        rows=result.rows,
        precisions=precisions,
        rows_read=result.report.rows_read,
        set_aside=len(result.set_aside),
        errors_by_code=result.report.errors_by_code,
        period=period,
        uploaded=timezone.localdate(submission.created_at),
        history=site_history(site, submission.period, exclude_id=submission.pk),
        thresholds=Thresholds.from_settings(settings.SUBMISSION_AUTO_PUBLISH_THRESHOLDS),
    )
    report["geocoded_by_precision"] = scorecard.geocoded_by_precision
    submission_update(submission, status=Status.PROCESSING, step="Loading", progress=75)
    return load_version(submission, result, report, geocodes, scorecard.to_json(), scorecard.passes)


@transaction.atomic
def _finish_quarantined(
    submission: Submission, result: ProcessResult, report: ReportJSON
) -> Submission:
    durable_commit()
    storage.move_to_quarantine(submission.stored_name)
    submission_update(
        submission,
        status=Status.QUARANTINED,
        step="Quarantined: personal data found",
        progress=100,
        finished_at=timezone.now(),
        report=report,
        error="The file contains personal data. Nothing was stored.",
        rows_read=result.report.rows_read,
        rows_accepted=0,
        rows_set_aside=0,
    )
    audit_record(
        action=Action.SUBMISSION_QUARANTINED,
        actor=None,
        organisation=submission.site.organisation,
        obj=submission,
        # Kinds, columns and counts only: never the values.
        details={
            "findings_by_kind": dict(result.report.pii_findings_by_kind),
            "columns": sorted({f.column for f in result.report.pii_findings}),
        },
    )
    notify_uploader(submission)
    return submission


@transaction.atomic
def _finish_unloaded(
    submission: Submission, result: ProcessResult, report: ReportJSON
) -> Submission:
    durable_commit()
    needs_mapping = result.status == "mapping_needed"
    status = Status.MAPPING_NEEDED if needs_mapping else Status.REJECTED
    errors = [str(i["message"]) for i in report.get("file_errors", [])]
    if needs_mapping:
        # An unseen layout needs no explanation; a changed one says what changed and
        # what to do (F031).
        error = errors[0] if errors else ""
    else:
        error = errors[0] if errors else "Rows failed validation."
    submission_update(
        submission,
        status=status,
        step="Mapping needed" if needs_mapping else "Rejected",
        progress=100,
        finished_at=timezone.now(),
        report=report,
        error=error,
        rows_read=result.report.rows_read,
        rows_accepted=0,
        rows_set_aside=0,
    )
    audit_record(
        action=Action.SUBMISSION_PROCESSED if needs_mapping else Action.SUBMISSION_REJECTED,
        actor=None,
        organisation=submission.site.organisation,
        obj=submission,
        details={
            "outcome": str(status),
            "stage": "processing",
            "errors_by_code": dict(result.report.errors_by_code),
            "mapping_version": result.report.mapping_version,
        },
    )
    notify_uploader(submission)
    return submission


class ProcessSummary(TypedDict):
    """``summary()``: one submission's outcome, as ``manage.py ingest`` prints it."""

    submission_id: int
    site: str
    period: str  # YYYY-MM
    version: int
    status: str
    duplicate: bool
    rows_read: int
    accepted: int
    set_aside: int
    errors_by_code: dict[str, int]
    warnings_by_code: dict[str, int]
    pii_findings_by_kind: dict[str, int]
    geocoded_by_precision: dict[str, int]
    file_errors: list[str]
    error: str
    mapping: NotRequired[MappingProposalJSON | None]  # only when a mapping is needed
    scorecard_passes: NotRequired[bool | None]  # only once there is a scorecard


def summary(submission: Submission) -> ProcessSummary:
    """The JSON summary printed by ``manage.py ingest`` (and usable by the API)."""
    report = submission.report or {}
    out: ProcessSummary = {
        "submission_id": submission.pk,
        "site": submission.site.site_code,
        "period": f"{submission.period:%Y-%m}",
        "version": submission.version,
        "status": submission.status,
        "duplicate": bool(getattr(submission, "duplicate", False)),
        "rows_read": submission.rows_read,
        "accepted": submission.rows_accepted,
        "set_aside": submission.rows_set_aside,
        "errors_by_code": report.get("errors_by_code", {}),
        "warnings_by_code": report.get("warnings_by_code", {}),
        "pii_findings_by_kind": report.get("pii_findings_by_kind", {}),
        "geocoded_by_precision": report.get("geocoded_by_precision", {}),
        "file_errors": [i.get("message") for i in report.get("file_errors", [])],
        "error": submission.error,
    }
    if submission.status == Status.MAPPING_NEEDED:
        out["mapping"] = report.get("proposal")
    if submission.scorecard:
        out["scorecard_passes"] = submission.scorecard.get("passes")
    return out
