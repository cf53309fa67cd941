"""Receiving a file: intake checks, streaming to private storage while hashing, the
duplicate check, the new version, and queueing it for processing on commit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.denials import OutOfScope
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from hospitals.selectors import site_can_submit
from ingest.pipeline import (
    PipelineFileError,
)
from ingest.pipeline.intake import accept_upload, check_filename, sanitise_filename
from ingest.pipeline.limits import Limits
from ingest.services.common import (
    CHUNK_BYTES,
    DUPLICATE_STATUSES,
    PROCESS_SUBMISSION_TASK,
    UPLOAD_PERMISSION,
    Status,
    UploadRefused,
)
from ingest.services.locks import LOCK_RECEIVE, xact_lock
from istv_portal import private_storage as storage
from istv_portal.periods import Period
from istv_portal.queue import send_by_name

logger = logging.getLogger(__name__)
# The version of a check-only (dry) run: it has none, and never takes a real one.
NO_VERSION = 0

# --- permissions ------------------------------------------------------------------------


def can_upload(user: User | None, site: HospitalSite) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(UPLOAD_PERMISSION, site))


# --- receive ----------------------------------------------------------------------------


def _chunks(upload: Any) -> Iterator[bytes]:
    if hasattr(upload, "chunks"):
        yield from upload.chunks(CHUNK_BYTES)
        return
    while chunk := upload.read(CHUNK_BYTES):
        yield chunk


def _period_start(period: date | Period | str) -> date:
    if isinstance(period, str):
        period = Period.parse(period)
    if isinstance(period, Period):
        return period.start
    return period.replace(day=1)


def _refuse(
    *,
    actor: User | None,
    site: HospitalSite,
    period: date,
    code: str,
    message: str,
    name: str,
    request: HttpRequest | None,
) -> UploadRefused:
    # Its own transaction: the audit row must outlive the refusal (nothing else is kept).
    with transaction.atomic():
        audit_record(
            action=Action.SUBMISSION_REJECTED,
            actor=actor,
            organisation=site.organisation,
            obj=site,
            details={
                "stage": "intake",
                "code": code,
                "site_code": site.site_code,
                "period": f"{period:%Y-%m}",
                "file_name": name,
            },
            request=request,
        )
    return UploadRefused(code, message)


def submission_receive(
    *,
    actor: User | None,
    site: HospitalSite,
    period: date | Period | str,
    upload: Any,
    set_aside_invalid: bool,
    dry_run: bool,
    request: HttpRequest | None = None,
    accept_suggested_mapping: bool = False,
    system: bool = False,
    enqueue: bool = True,
) -> Submission:
    """Check, store and register one uploaded file; processing is queued after commit.

    ``upload`` is a Django ``UploadedFile`` (or any object with ``name`` and ``read``).
    Raises :class:`UploadRefused` when intake refuses the file (audited, nothing
    stored) and ``OutOfScope`` (404) when ``actor`` may not upload for ``site``.
    ``system=True`` is for ``manage.py ingest`` (an operator; the upload right is not
    checked) and ``enqueue=False`` for callers that process synchronously.

    The same bytes for the same site and month, already received or published, return
    the existing submission with ``duplicate = True`` (concurrent uploads serialise on an
    advisory lock per site+month, so exactly one wins).
    """
    if not system and not can_upload(actor, site):
        raise OutOfScope(object_type="hospitals.hospitalsite", object_id=site.pk)
    month = _period_start(period)
    raw_name = str(getattr(upload, "name", "") or "upload")
    name = sanitise_filename(raw_name)
    # A trust whose data-sharing agreement as a provider has lapsed cannot submit until it
    # is renewed.
    allowed, reason = site_can_submit(site)
    if not allowed:
        raise _refuse(
            actor=actor,
            site=site,
            period=month,
            code="AGREEMENT_LAPSED",
            message=reason,
            name=name,
            request=request,
        )
    limits = Limits.from_settings()
    try:
        check_filename(raw_name)
        declared = getattr(upload, "size", None)
        if declared is not None and declared > limits.max_bytes:
            raise PipelineFileError(
                "F003_TOO_LARGE",  # type: ignore[arg-type]
                f"The file is larger than the {limits.max_bytes / (1024 * 1024):g} MB limit.",
            )
        try:
            stored = storage.store_stream(_chunks(upload), max_bytes=limits.max_bytes)
        except storage.StoredFileTooLarge:
            raise PipelineFileError(
                "F003_TOO_LARGE",  # type: ignore[arg-type]
                f"The file is larger than the {limits.max_bytes / (1024 * 1024):g} MB limit.",
            ) from None
        try:
            info = accept_upload(
                storage.path_for(stored.name), filename=raw_name, limits=limits
            ).info
        except BaseException:
            storage.delete(stored.name)
            raise
    except PipelineFileError as exc:
        raise _refuse(
            actor=actor,
            site=site,
            period=month,
            code=str(exc.code),
            message=exc.message,
            name=name,
            request=request,
        ) from None

    try:
        return _register(
            actor=actor,
            site=site,
            month=month,
            stored=stored,
            name=name,
            detected_format=str(info.format),
            set_aside_invalid=set_aside_invalid,
            dry_run=dry_run,
            accept_suggested_mapping=accept_suggested_mapping,
            request=request,
            enqueue=enqueue,
        )
    except BaseException:
        storage.delete(stored.name)
        raise


@transaction.atomic
def _register(
    *,
    actor: User | None,
    site: HospitalSite,
    month: date,
    stored: storage.StoredFile,
    name: str,
    detected_format: str,
    set_aside_invalid: bool,
    dry_run: bool,
    accept_suggested_mapping: bool,
    request: HttpRequest | None,
    enqueue: bool,
) -> Submission:
    xact_lock(LOCK_RECEIVE, site.pk, month)
    same = Submission.objects.filter(site=site, period=month)
    latest = 0
    if not dry_run:
        # One read under the lock: the last real version, and the last one holding these
        # same bytes that still counts as received (fetched only when there is one).
        versions = same.filter(dry_run=False).aggregate(
            latest=Max("version"),
            duplicate=Max("version", filter=Q(sha256=stored.sha256, status__in=DUPLICATE_STATUSES)),
        )
        latest = versions["latest"] or 0
        if versions["duplicate"] is not None:
            existing = same.get(dry_run=False, version=versions["duplicate"])
            storage.delete(stored.name)  # no row refers to it
            audit_record(
                action=Action.SUBMISSION_UPLOADED,
                actor=actor,
                organisation=site.organisation,
                obj=existing,
                details={
                    "duplicate": True,
                    "site_code": site.site_code,
                    "period": f"{month:%Y-%m}",
                    "version": existing.version,
                },
                request=request,
            )
            existing.duplicate = True  # type: ignore[attr-defined]
            return existing
    # A check-only run uses up no version number: real versions count real uploads only,
    # so the next real upload follows the last real one with no gap.
    version = NO_VERSION if dry_run else latest + 1
    submission = Submission.objects.create(
        site=site,
        period=month,
        version=version,
        status=Status.RECEIVED,
        stored_name=stored.name,
        original_name=name,
        sha256=stored.sha256,
        size_bytes=stored.size,
        detected_format=detected_format,
        dry_run=dry_run,
        set_aside_invalid=set_aside_invalid,
        accept_suggested_mapping=accept_suggested_mapping,
        uploaded_by=actor if actor is not None and actor.pk else None,
        step="queued",
    )
    audit_record(
        action=Action.SUBMISSION_UPLOADED,
        actor=actor,
        organisation=site.organisation,
        obj=submission,
        details={
            "site_code": site.site_code,
            "period": f"{month:%Y-%m}",
            "version": version,
            "size_bytes": stored.size,
            "format": detected_format,
            "dry_run": dry_run,
            "set_aside_invalid": set_aside_invalid,
        },
        request=request,
    )
    submission.duplicate = False  # type: ignore[attr-defined]
    submission_id = submission.pk
    if enqueue:
        transaction.on_commit(lambda: submission_enqueue(submission_id=submission_id))
    return submission


def submission_enqueue(*, submission_id: int) -> bool:
    """Send the processing task. If the broker is down the submission stays "received"
    (queued) and the sweeper sends it later: a broker outage never fails the upload.

    Sent by name: the task module calls these services, so they never import it back.
    """
    if not send_by_name(
        PROCESS_SUBMISSION_TASK,
        (submission_id,),
        waiting=f"submission {submission_id} stays queued",
    ):
        return False
    Submission.objects.filter(pk=submission_id).update(enqueued_at=timezone.now())
    return True
