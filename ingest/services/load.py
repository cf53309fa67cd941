"""Loading a processed file: everything that makes a version visible, in one transaction."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from hospitals.models import Submission
from ingest import loader
from ingest.enrichment import RowGeocode, incident_values, review_queue_feed
from ingest.pipeline import (
    ProcessResult,
    ReportJSON,
)
from ingest.scorecard import ScorecardJSON
from ingest.services.common import (
    LOAD_BATCH_ROWS,
    Status,
    durable_commit,
    notify_uploader,
    row_counts,
    submission_update,
    supersede_previous,
)
from ingest.services.mapping import profile_save
from ingest.services.publish import publish_version
from ingest.signals import load_progress

# --- load -------------------------------------------------------------------------------


def _on_batch(sent: int) -> None:
    load_progress.send(sender=Submission, stage="batch", rows=sent)


def load_version(
    submission: Submission,
    result: ProcessResult,
    report: ReportJSON,
    geocodes: list[RowGeocode],
    scorecard: ScorecardJSON,
    passes: bool,
) -> Submission:
    """Everything that makes a version visible happens in this one transaction."""
    accepted_mapping = result.report.mapping_status == "proposed_accepted"
    auto_publish = bool(settings.SUBMISSION_AUTO_PUBLISH) and passes
    final = (
        Status.CHECKED
        if submission.dry_run
        else (Status.PUBLISHED if auto_publish else Status.READY_FOR_REVIEW)
    )
    with transaction.atomic():
        durable_commit()  # the advisory lock already makes this the only run
        if accepted_mapping and result.report.mapping is not None:
            proposal = result.report.proposal
            changed = proposal is not None and proposal.based_on is not None
            profile = profile_save(
                site=submission.site,
                mapping=result.report.mapping,
                source_columns=result.report.columns,
                detected_format=submission.detected_format,
                actor=None,
                reason=(
                    "changed layout: suggested mapping accepted at upload"
                    if changed
                    else "suggested mapping accepted at upload"
                ),
                submission=submission,
            )
            submission.mapping = profile
            report["mapping_version"] = profile.version
        if not submission.dry_run:
            loader.incident_values_copy(
                incident_values(submission, result.rows, geocodes),
                on_batch=_on_batch,
                batch_rows=LOAD_BATCH_ROWS,
            )
            if result.set_aside:  # most files have none: no empty COPY round trip
                loader.set_aside_copy(
                    submission.pk,
                    (
                        (
                            s.source_row,
                            [
                                {"code": i.code, "message": i.message, "column": i.column}
                                for i in s.issues
                            ],
                        )
                        for s in result.set_aside
                    ),
                )
            load_progress.send(sender=Submission, stage="staged", rows=None)
            # The uncertain geocodes of the stored rows go to the data managers' review
            # queue with the rows (a rolled-back load queues nothing; a dry run stores
            # nothing, so it queues nothing either).
            review_queue_feed(geocodes, submission.site.site_code)
            supersede_previous(
                submission, statuses=(Status.READY_FOR_REVIEW, Status.MAPPING_NEEDED)
            )
        now = timezone.now()
        submission_update(
            submission,
            status=final,
            step="Done",
            progress=100,
            finished_at=now,
            report=report,
            scorecard=scorecard,
            mapping=submission.mapping,
            **row_counts(submission, result),
        )
        audit_record(
            action=Action.SUBMISSION_PROCESSED,
            actor=None,
            organisation=submission.site.organisation,
            obj=submission,
            details={
                "outcome": str(final),
                "rows_read": submission.rows_read,
                "accepted": submission.rows_accepted,
                "set_aside": submission.rows_set_aside,
                "errors_by_code": dict(result.report.errors_by_code),
                "mapping_version": submission.mapping.version if submission.mapping else None,
            },
        )
        if final == Status.PUBLISHED:
            publish_version(submission, actor=None, request=None, automatic=True)
        notify_uploader(submission)
    return submission
