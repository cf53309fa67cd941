"""What the submission services share: statuses, settings and the one way a submission's
fields are written, the durable commit of a load, and the uploader's e-mail."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from hospitals.models import Submission
from ingest.pipeline import ProcessResult

logger = logging.getLogger(__name__)

Status = Submission.Status
UPLOAD_PERMISSION = "hospitals.upload_submission"
# The name ``ingest.tasks.process_submission`` is registered under.
PROCESS_SUBMISSION_TASK = "ingest.tasks.process_submission"
# Statuses that count as "this file was already received" for duplicate detection.
DUPLICATE_STATUSES = (
    Status.RECEIVED,
    Status.CHECKING,
    Status.PROCESSING,
    Status.READY_FOR_REVIEW,
    Status.PUBLISHED,
)
RUNNING = (Status.RECEIVED, Status.CHECKING, Status.PROCESSING)
CHUNK_BYTES = 64 * 1024
# Rows sent to PostgreSQL per COPY batch while loading.
LOAD_BATCH_ROWS = 5000


class UploadRefused(Exception):
    """The file was refused at intake; ``message`` is safe to show the uploader."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def max_attempts() -> int:
    return int(settings.SUBMISSION_MAX_ATTEMPTS)


def submission_update(submission: Submission, **fields: Any) -> None:
    """Write fields of the submission and refresh its heartbeat. Outside a transaction
    it commits at once, so status pages see progress while we work."""
    fields.setdefault("heartbeat_at", timezone.now())
    for key, value in fields.items():
        setattr(submission, key, value)
    Submission.objects.filter(pk=submission.pk).update(**fields)


def durable_commit() -> None:
    """This transaction's commit waits for the disk, whatever the session says."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO ON")


def _version_text(submission: Submission) -> str:
    return "check only" if submission.dry_run else f"version {submission.version}"


def notify_uploader(submission: Submission) -> None:
    """Tell the uploader the file is done (after commit; never personal data)."""
    user = submission.uploaded_by
    if user is None or not user.email:
        return
    base = str(settings.PORTAL_BASE_URL).rstrip("/")
    body = (
        f"Your ISTV file for {submission.site.name} ({submission.site.site_code}), "
        f"{submission.period:%B %Y}, {_version_text(submission)}, has finished processing.\n\n"
        f"Status: {submission.get_status_display()}\n"
        f"Rows read: {submission.rows_read}; accepted: {submission.rows_accepted}; "
        f"set aside: {submission.rows_set_aside}.\n\n"
        f"See the report in the portal: {base}/submissions/{submission.pk}/\n"
    )
    prefix = str(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX)
    subject = f"{prefix}ISTV submission {submission.get_status_display().lower()}"
    email = user.email

    def _send() -> None:
        try:
            send_mail(subject, body, None, [email], fail_silently=False)
        except Exception:
            logger.warning("could not e-mail submission %s result", submission.pk, exc_info=True)

    transaction.on_commit(_send)


def row_counts(submission: Submission, result: ProcessResult) -> dict[str, int]:
    return {
        "rows_read": result.report.rows_read,
        "rows_accepted": len(result.rows) if result.status == "ok" else 0,
        "rows_set_aside": len(result.set_aside) if result.status == "ok" else 0,
    }


def supersede_previous(submission: Submission, *, statuses: tuple[str, ...]) -> list[int]:
    """Mark earlier versions of the same site+month superseded (their rows stay, for
    history and pinned releases; queries go by submission status)."""
    previous = Submission.objects.filter(
        site_id=submission.site_id,
        period=submission.period,
        status__in=statuses,
        version__lt=submission.version,
        dry_run=False,
    )
    ids = list(previous.values_list("pk", flat=True))
    if ids:
        Submission.objects.filter(pk__in=ids).update(
            status=Status.SUPERSEDED, superseded_by=submission
        )
    return ids
