"""Writes for hospital submissions: receive, process, publish, mapping, releases, sweeping.

The flow (docs/pipeline.md covers the database-free part)::

    submission_receive ──on commit──► tasks.process_submission ──► submission_process
      intake checks, private storage,      (thin, acks late)          lock per site+month,
      SHA-256, duplicate check, version                               pipeline, geocode,
                                                                      COPY in one transaction

Every state change writes its audit event in the same transaction. Nothing here holds
an upload twice in memory: it is streamed to private storage while being hashed.
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import Error as DatabaseError
from django.db import connection, transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.access import user_roles
from accounts.audit.denials import OutOfScope
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import Membership, User
from hospitals import storage
from hospitals.models import HospitalSite, MappingProfile, Submission
from hospitals.selectors import site_can_submit
from incidents.models import Release
from ingest import loader
from ingest.enrichment import RowGeocode, geocode_rows, incident_rows, site_history
from ingest.pipeline import (
    ColumnMapping,
    Field,
    Options,
    PipelineFileError,
    ProcessResult,
    process_file,
)
from ingest.pipeline.intake import accept_upload, check_filename, sanitise_filename
from ingest.pipeline.limits import Limits
from ingest.reference_services import code_references_for_site
from ingest.scorecard import Thresholds, build_scorecard
from istv_portal.locks import session_try_lock
from istv_portal.periods import Period, is_overdue, last_complete_month

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
# Advisory-lock namespaces (first key of pg_advisory_lock(int, int)).
_LOCK_RECEIVE = 41_001
_LOCK_PROCESS = 41_002
CHUNK_BYTES = 64 * 1024


class UploadRefused(Exception):
    """The file was refused at intake; ``message`` is safe to show the uploader."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("SUBMISSION_MAX_ATTEMPTS", 3))


# --- locks ------------------------------------------------------------------------------


def _lock_key(site_id: int, period: date) -> int:
    # A stable 31-bit key per site+month (crc32 is deterministic across processes).
    return zlib.crc32(f"{site_id}:{period:%Y-%m}".encode()) & 0x7FFFFFFF


def _xact_lock(namespace: int, site_id: int, period: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [namespace, _lock_key(site_id, period)]
        )


def processing_lock(site_id: int, period: date) -> contextlib.AbstractContextManager[bool]:
    """Session-level try-lock per site+month: yields False when another process holds it
    (processing spans several short transactions, so not a transaction lock)."""
    return session_try_lock(_LOCK_PROCESS, _lock_key(site_id, period))


# --- permissions ------------------------------------------------------------------------


def _is_data_manager(user: User | None) -> bool:
    return user is not None and Membership.Role.DATA_MANAGER in user_roles(user)


def _can_upload(user: User | None, site: HospitalSite) -> bool:
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
    if not system and not _can_upload(actor, site):
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
    _xact_lock(_LOCK_RECEIVE, site.pk, month)
    same = Submission.objects.filter(site=site, period=month)
    if not dry_run:
        existing = (
            same.filter(sha256=stored.sha256, dry_run=False, status__in=DUPLICATE_STATUSES)
            .order_by("-version")
            .first()
        )
        if existing is not None:
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
    version = (same.aggregate(v=Max("version"))["v"] or 0) + 1
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
    (queued) and the sweeper sends it later (SECURITY 45): never fail the upload.

    Sent by name: the task module calls these services, so they never import it back.
    """
    try:
        current_app.send_task(
            PROCESS_SUBMISSION_TASK,
            (submission_id,),
            retry=True,
            retry_policy={
                "max_retries": 2,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
        )
    except Exception:
        logger.warning(
            "broker unavailable: submission %s stays queued", submission_id, exc_info=True
        )
        return False
    Submission.objects.filter(pk=submission_id).update(enqueued_at=timezone.now())
    return True


# --- process ----------------------------------------------------------------------------


def _update(submission: Submission, **fields: Any) -> None:
    """Write fields of the submission and refresh its heartbeat. Outside a transaction
    it commits at once, so status pages see progress while we work."""
    fields.setdefault("heartbeat_at", timezone.now())
    for key, value in fields.items():
        setattr(submission, key, value)
    Submission.objects.filter(pk=submission.pk).update(**fields)


@contextlib.contextmanager
def _progress_commits_not_flushed() -> Iterator[None]:
    """Progress updates need not wait for the disk: losing one in a crash is harmless.
    Every transaction that records a result calls :func:`_durable` first."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        # A dead connection has lost the setting anyway; do not mask the real error.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _durable() -> None:
    """This transaction's commit waits for the disk, whatever the session says."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO ON")


def _test_delay() -> None:
    # Fault-injection tests slow a step down to kill the worker at a known point.
    delay = float(_setting("SUBMISSION_TEST_STEP_DELAY", 0) or 0)
    if delay:
        time.sleep(delay)


def _notify(submission: Submission) -> None:
    """Tell the uploader the file is done (after commit; never personal data)."""
    user = submission.uploaded_by
    if user is None or not user.email:
        return
    base = str(_setting("PORTAL_BASE_URL", "")).rstrip("/")
    body = (
        f"Your ISTV file for {submission.site.name} ({submission.site.site_code}), "
        f"{submission.period:%B %Y}, version {submission.version}, has finished processing.\n\n"
        f"Status: {submission.get_status_display()}\n"
        f"Rows read: {submission.rows_read}; accepted: {submission.rows_accepted}; "
        f"set aside: {submission.rows_set_aside}.\n\n"
        f"See the report in the portal: {base}/submissions/{submission.pk}/\n"
    )
    prefix = str(_setting("ACCOUNT_EMAIL_SUBJECT_PREFIX", ""))
    subject = f"{prefix}ISTV submission {submission.get_status_display().lower()}"
    email = user.email

    def _send() -> None:
        try:
            send_mail(subject, body, None, [email], fail_silently=False)
        except Exception:
            logger.warning("could not e-mail submission %s result", submission.pk, exc_info=True)

    transaction.on_commit(_send)


def _profile_mapping(site: HospitalSite) -> tuple[MappingProfile | None, ColumnMapping | None]:
    profile = MappingProfile.objects.filter(site=site).order_by("-created_at", "-pk").first()
    if profile is None:
        return None, None
    columns = {Field(f): c for c, f in profile.columns.items()}
    values = {Field(f): dict(v) for f, v in (profile.value_mappings or {}).items()}
    return profile, ColumnMapping(columns=columns, values=values)


def _previous_columns(submission: Submission, profile: MappingProfile | None) -> list[str] | None:
    if profile is not None and profile.source_columns:
        return list(profile.source_columns)
    return None


def submission_process(*, submission_id: int) -> Submission:
    """Run the whole pipeline for one submission. Idempotent and safe to redeliver.

    A per-site+month advisory try-lock makes a concurrent second delivery exit at once.
    A finished submission is returned unchanged. Errors other than bad input propagate
    (the task retries); after ``SUBMISSION_MAX_ATTEMPTS`` starts the submission fails.
    """
    site_id, period = Submission.objects.values_list("site_id", "period").get(pk=submission_id)
    with processing_lock(site_id, period) as acquired:
        submission = Submission.objects.select_related("site__organisation", "uploaded_by").get(
            pk=submission_id
        )
        if not acquired:
            logger.info("submission %s: another process holds the lock", submission_id)
            return submission
        if submission.status not in RUNNING:
            return submission
        if submission.attempts >= max_attempts():
            return _fail(submission, f"Processing failed after {submission.attempts} attempts.")
        with _progress_commits_not_flushed():
            _update(
                submission,
                attempts=submission.attempts + 1,
                status=Status.CHECKING,
                started_at=timezone.now(),
                step="Checking the file",
                progress=5,
                error="",
            )
            return _run(submission)


@transaction.atomic
def _fail(submission: Submission, reason: str) -> Submission:
    _durable()
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
    _notify(submission)
    return submission


def _run(submission: Submission) -> Submission:
    site = submission.site
    period = Period(submission.period.year, submission.period.month)
    profile, mapping = _profile_mapping(site)
    # Loaded once per file: the data managers' synonyms and the active code list.
    references = code_references_for_site(site.site_code)
    result = process_file(
        storage.locate(submission.stored_name),
        filename=submission.original_name,
        site_code=site.site_code,
        period=period,
        mapping=mapping,
        options=Options(
            accept_proposed_mapping=submission.accept_suggested_mapping,
            reject_on_invalid_rows=not submission.set_aside_invalid,
            previous_columns=_previous_columns(submission, profile),
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

    _update(submission, status=Status.PROCESSING, step="Geocoding locations", progress=50)
    geocodes = geocode_rows(result.rows, site.site_code)
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
        thresholds=Thresholds.from_settings(_setting("SUBMISSION_AUTO_PUBLISH_THRESHOLDS", {})),
    )
    report["geocoded_by_precision"] = scorecard.geocoded_by_precision
    _update(submission, step="Loading", progress=75)
    return _load(submission, result, report, geocodes, scorecard.to_json(), scorecard.passes)


def _counts(submission: Submission, result: ProcessResult) -> dict[str, int]:
    return {
        "rows_read": result.report.rows_read,
        "rows_accepted": len(result.rows) if result.status == "ok" else 0,
        "rows_set_aside": len(result.set_aside) if result.status == "ok" else 0,
    }


@transaction.atomic
def _finish_quarantined(
    submission: Submission, result: ProcessResult, report: dict[str, Any]
) -> Submission:
    _durable()
    storage.move_to_quarantine(submission.stored_name)
    _update(
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
    _notify(submission)
    return submission


@transaction.atomic
def _finish_unloaded(
    submission: Submission, result: ProcessResult, report: dict[str, Any]
) -> Submission:
    _durable()
    needs_mapping = result.status == "mapping_needed"
    status = Status.MAPPING_NEEDED if needs_mapping else Status.REJECTED
    errors = [str(i["message"]) for i in report.get("file_errors", [])]  # type: ignore[union-attr]
    _update(
        submission,
        status=status,
        step="Mapping needed" if needs_mapping else "Rejected",
        progress=100,
        finished_at=timezone.now(),
        report=report,
        error="" if needs_mapping else (errors[0] if errors else "Rows failed validation."),
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
        },
    )
    _notify(submission)
    return submission


# --- load -------------------------------------------------------------------------------


def _on_batch(sent: int) -> None:
    _test_delay()


def _load(
    submission: Submission,
    result: ProcessResult,
    report: dict[str, Any],
    geocodes: list[RowGeocode],
    scorecard: dict[str, Any],
    passes: bool,
) -> Submission:
    """Everything that makes a version visible happens in this one transaction."""
    accepted_mapping = result.report.mapping_status == "proposed_accepted"
    auto_publish = bool(_setting("SUBMISSION_AUTO_PUBLISH", False)) and passes
    final = (
        Status.CHECKED
        if submission.dry_run
        else (Status.PUBLISHED if auto_publish else Status.READY_FOR_REVIEW)
    )
    batch = int(_setting("SUBMISSION_LOAD_BATCH_ROWS", 5000))
    with transaction.atomic():
        _durable()  # the advisory lock already makes this the only run
        if accepted_mapping and result.report.mapping is not None:
            profile = _save_profile(
                site=submission.site,
                mapping=result.report.mapping,
                source_columns=result.report.columns,
                detected_format=submission.detected_format,
                actor=None,
                reason="suggested mapping accepted at upload",
            )
            submission.mapping = profile
        if not submission.dry_run:
            loader.incidents_copy(
                incident_rows(submission, result.rows, geocodes),
                on_batch=_on_batch,
                batch_rows=batch,
            )
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
            _test_delay()  # fault tests: rows staged, not yet committed
            _supersede_previous(
                submission, statuses=(Status.READY_FOR_REVIEW, Status.MAPPING_NEEDED)
            )
        now = timezone.now()
        _update(
            submission,
            status=final,
            step="Done",
            progress=100,
            finished_at=now,
            report=report,
            scorecard=scorecard,
            mapping=submission.mapping,
            **_counts(submission, result),
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
            },
        )
        if final == Status.PUBLISHED:
            _publish(submission, actor=None, request=None, automatic=True)
        _notify(submission)
    return submission


def _supersede_previous(submission: Submission, *, statuses: tuple[str, ...]) -> list[int]:
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


# --- publish and releases ---------------------------------------------------------------


@transaction.atomic
def submission_publish(
    *,
    actor: User | None,
    submission: Submission,
    request: HttpRequest | None = None,
    system: bool = False,
    cut_release: bool = True,
) -> Submission:
    """Publish a submission that is ready for review (data managers; ``system`` for the
    ingest command run by an operator). The previous published version of the same site
    and month is superseded in the same transaction, so analysts never see both or
    neither. A new release is cut unless ``cut_release`` is False (bulk loads cut one
    release at the end)."""
    if not system and not _is_data_manager(actor):
        raise OutOfScope(object_type="hospitals.submission", object_id=submission.pk)
    locked = Submission.objects.select_for_update().select_related("site").get(pk=submission.pk)
    if locked.status == Status.PUBLISHED:
        return locked
    if locked.status != Status.READY_FOR_REVIEW:
        raise ValidationError("Only a submission that is ready for review can be published.")
    _publish(locked, actor=actor, request=request, automatic=False, cut_release=cut_release)
    return locked


def _publish(
    submission: Submission,
    *,
    actor: User | None,
    request: HttpRequest | None,
    automatic: bool,
    cut_release: bool = True,
) -> None:
    superseded = _supersede_previous(
        submission, statuses=(Status.PUBLISHED, Status.READY_FOR_REVIEW)
    )
    now = timezone.now()
    _update(
        submission,
        status=Status.PUBLISHED,
        published_at=now,
        published_by=actor if actor is not None and actor.pk else None,
    )
    release = (
        release_create(actor=actor, label=f"{timezone.localdate():%Y-%m}") if cut_release else None
    )
    audit_record(
        action=Action.SUBMISSION_PUBLISHED,
        actor=actor,
        organisation=submission.site.organisation,
        obj=submission,
        details={
            "automatic": automatic,
            "superseded": superseded,
            "release": release.number if release else None,
            "site_code": submission.site.site_code,
            "period": f"{submission.period:%Y-%m}",
            "version": submission.version,
        },
        request=request,
    )


@transaction.atomic
def release_create(*, actor: User | None, label: str) -> Release:
    """Cut a new release: a snapshot of every currently published submission."""
    with connection.cursor() as cursor:
        # Serialise release numbering across concurrent publishes.
        table = connection.ops.quote_name(Release._meta.db_table)
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    number = (Release.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    release = Release.objects.create(
        number=number,
        label=label[:50],
        created_by=actor if actor is not None and actor.pk else None,
    )
    published = Submission.objects.filter(status=Status.PUBLISHED).values_list("pk", flat=True)
    through = Release.submissions.through
    through.objects.bulk_create(
        [through(release_id=release.pk, submission_id=pk) for pk in published]
    )
    return release


# --- mapping ----------------------------------------------------------------------------


def _normalise_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """Source column → field. Accepts either direction (field → column is converted)."""
    fields = {f.value for f in Field}
    if (
        columns
        and all(k in fields for k in columns)
        and not all(v in fields for v in columns.values())
    ):
        columns = {v: k for k, v in columns.items()}
    bad = sorted(str(v) for v in columns.values() if v not in fields)
    if bad:
        raise ValidationError({"columns": f"Unknown field(s): {', '.join(bad[:10])}."})
    return {str(k): str(v) for k, v in columns.items()}


def _save_profile(
    *,
    site: HospitalSite,
    mapping: ColumnMapping,
    source_columns: list[str],
    detected_format: str,
    actor: User | None,
    reason: str,
    request: HttpRequest | None = None,
) -> MappingProfile:
    profile = MappingProfile.objects.create(
        site=site,
        columns={c: f.value for f, c in mapping.columns.items()},
        value_mappings={f.value: dict(v) for f, v in mapping.values.items()},
        source_columns=list(source_columns),
        detected_format=detected_format,
        confirmed_by=actor if actor is not None and actor.pk else None,
        confirmed_at=timezone.now(),
    )
    audit_record(
        action=Action.MAPPING_CHANGED,
        actor=actor,
        organisation=site.organisation,
        obj=profile,
        details={
            "site_code": site.site_code,
            "reason": reason,
            "fields": sorted(profile.columns.values()),
        },
        request=request,
    )
    return profile


@transaction.atomic
def submission_confirm_mapping(
    *,
    actor: User,
    submission: Submission,
    columns: Mapping[str, str],
    value_mappings: Mapping[str, Mapping[str, str]] | None = None,
    request: HttpRequest | None = None,
) -> Submission:
    """Save the confirmed mapping as the site's profile and queue the file again.

    ``columns`` maps source column → field name (field → source column is accepted too);
    ``value_mappings`` maps field → {source value → harmonised code}.
    """
    site = submission.site
    if not (_can_upload(actor, site) or _is_data_manager(actor)):
        raise OutOfScope(object_type="hospitals.submission", object_id=submission.pk)
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.status not in (Status.MAPPING_NEEDED, Status.REJECTED):
        raise ValidationError("This submission does not need a mapping.")
    source_to_field = _normalise_columns(columns)
    values = {
        str(f): {str(a): str(b) for a, b in v.items()} for f, v in (value_mappings or {}).items()
    }
    try:
        mapping = ColumnMapping(
            columns={Field(f): c for c, f in source_to_field.items()},
            values={Field(f): v for f, v in values.items()},
        )
    except ValueError as exc:
        raise ValidationError({"value_mappings": "Unknown field."}) from exc
    report_columns = list((locked.report or {}).get("columns") or source_to_field)
    profile = _save_profile(
        site=site,
        mapping=mapping,
        source_columns=report_columns,
        detected_format=locked.detected_format,
        actor=actor,
        reason="confirmed",
        request=request,
    )
    _update(
        locked,
        status=Status.RECEIVED,
        attempts=0,
        mapping=profile,
        progress=0,
        step="queued",
        error="",
        finished_at=None,
    )
    submission_id = locked.pk
    transaction.on_commit(lambda: submission_enqueue(submission_id=submission_id))
    return locked


# --- sweeping ---------------------------------------------------------------------------


def submissions_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-enqueue submissions that were received but never started (the broker was down
    or lost the message) and running ones whose heartbeat went stale (a worker died
    without redelivery). A running submission whose lock is held is left alone."""
    now = now or timezone.now()
    queued_after = timedelta(seconds=int(_setting("SUBMISSION_QUEUED_STALE_SECONDS", 300)))
    stale_after = timedelta(seconds=int(_setting("SUBMISSION_HEARTBEAT_STALE_SECONDS", 900)))
    candidates = Submission.objects.filter(
        Q(
            status=Status.RECEIVED,
            enqueued_at__isnull=True,
            created_at__lt=now - timedelta(seconds=30),
        )
        | Q(status=Status.RECEIVED, enqueued_at__lt=now - queued_after)
        | Q(status__in=(Status.CHECKING, Status.PROCESSING), heartbeat_at__lt=now - stale_after)
    ).values_list("pk", "site_id", "period")
    sent = []
    for pk, site_id, period in candidates:
        with processing_lock(site_id, period) as free:
            if not free:
                continue
        if submission_enqueue(submission_id=pk):
            sent.append(pk)
    if sent:
        logger.info("sweeper re-enqueued submissions %s", sent)
    return sent


# --- reminders --------------------------------------------------------------------------


def overdue_sites(*, today: date | None = None) -> list[HospitalSite]:
    """Sites with no (non-failed) submission for last month once the due day has passed."""
    today = today or timezone.localdate()
    last_month = last_complete_month(today)
    received = Submission.objects.filter(period=last_month, dry_run=False).exclude(
        status__in=(Status.FAILED, Status.REJECTED, Status.QUARANTINED)
    )
    return list(
        HospitalSite.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=last_month))
        .exclude(pk__in=received.values("site_id"))
        .select_related("organisation")
    )


def overdue_reminders_send(*, today: date | None = None) -> dict[str, int]:
    """E-mail each overdue site's liaisons (users with the upload right). Returns
    site code → number of recipients."""
    from guardian.shortcuts import get_users_with_perms

    today = today or timezone.localdate()
    last_month = last_complete_month(today)
    if not is_overdue(last_month, today):
        return {}
    prefix = str(_setting("ACCOUNT_EMAIL_SUBJECT_PREFIX", ""))
    sent: dict[str, int] = {}
    for site in overdue_sites(today=today):
        users = get_users_with_perms(site, only_with_perms_in=["upload_submission"])
        to = sorted({u.email for u in users if isinstance(u, User) and u.is_active and u.email})
        if not to:
            continue
        body = (
            f"The ISTV file for {site.name} ({site.site_code}) for {last_month:%B %Y} has "
            "not been received yet. Please upload it in the portal.\n"
        )
        send_mail(f"{prefix}ISTV file overdue: {last_month:%B %Y}", body, None, to)
        sent[site.site_code] = len(to)
    return sent


def summary(submission: Submission) -> dict[str, Any]:
    """The JSON summary printed by ``manage.py ingest`` (and usable by the API)."""
    report = submission.report or {}
    out: dict[str, Any] = {
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


__all__ = [
    "UploadRefused",
    "overdue_reminders_send",
    "release_create",
    "submission_confirm_mapping",
    "submission_enqueue",
    "submission_process",
    "submission_publish",
    "submission_receive",
    "submissions_sweep",
    "summary",
]
