"""Publishing a checked version, and cutting releases."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.denials import OutOfScope
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from accounts.roles import is_data_manager
from hospitals.models import Submission
from incidents.alert_digests import release_alerts_enqueue
from incidents.csv_lines import export_lines_refresh_enqueue
from incidents.models import Release
from ingest.pipeline.pii import redact
from ingest.services.common import Status, submission_update, supersede_previous

# --- publish and releases ---------------------------------------------------------------


@transaction.atomic
def submission_publish(
    *,
    actor: User | None,
    submission: Submission,
    request: HttpRequest | None = None,
    system: bool = False,
    cut_release: bool = True,
    reason: str = "",
) -> Submission:
    """Publish a submission that is ready for review (data managers; ``system`` for the
    ingest command run by an operator). The previous published version of the same site
    and month is superseded in the same transaction, so analysts never see both or
    neither. A new release is cut unless ``cut_release`` is False (bulk loads cut one
    release at the end). ``reason`` is the data manager's reason for publishing a file
    that failed a quality check (the page requires one then); it is audited."""
    if not system and not is_data_manager(actor):
        raise OutOfScope(object_type="hospitals.submission", object_id=submission.pk)
    # NO KEY UPDATE on the site: publishes of one site still queue, but a file being
    # received or loaded for that site (whose foreign key takes KEY SHARE on the row at
    # commit, while holding the audit chain's lock) is not blocked, so the two cannot
    # deadlock.
    locked = (
        Submission.objects.select_for_update(of=("self", "site"), no_key=True)
        .select_related("site__organisation")
        .get(pk=submission.pk)
    )
    if locked.status == Status.PUBLISHED:
        return locked
    if locked.status != Status.READY_FOR_REVIEW:
        raise ValidationError("Only a submission that is ready for review can be published.")
    publish_version(
        locked,
        actor=actor,
        request=request,
        automatic=False,
        cut_release=cut_release,
        reason=reason,
    )
    return locked


def publish_version(
    submission: Submission,
    *,
    actor: User | None,
    request: HttpRequest | None,
    automatic: bool,
    cut_release: bool = True,
    reason: str = "",
) -> None:
    superseded = supersede_previous(
        submission, statuses=(Status.PUBLISHED, Status.READY_FOR_REVIEW)
    )
    now = timezone.now()
    submission_update(
        submission,
        status=Status.PUBLISHED,
        published_at=now,
        published_by=actor if actor is not None and actor.pk else None,
    )
    release = (
        release_create(actor=actor, label=f"{timezone.localdate():%Y-%m}") if cut_release else None
    )
    # The new rows' CSV line parts, made in the background (exports compute them inline
    # until then).
    transaction.on_commit(export_lines_refresh_enqueue)
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
            "failed_checks": [
                str(c) for c in (submission.scorecard or {}).get("failed_checks") or []
            ],
            **_reason_details(reason),
        },
        request=request,
    )


def _reason_details(reason: str) -> dict[str, object]:
    """The reason for the audit row, with any personal data that slipped in replaced (the
    audit log never holds personal data): the redacted kinds are recorded, not values."""
    text = reason.strip()
    if not text:
        return {}
    redacted, kinds = redact(text)
    details: dict[str, object] = {"reason": redacted}
    if kinds:
        details["reason_redacted"] = sorted(set(kinds))
    return details


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
    # Alerts on saved queries, once the release is there for the worker to read.
    release_id = release.pk
    transaction.on_commit(lambda: release_alerts_enqueue(release_id))
    return release
