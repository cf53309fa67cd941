"""Every write of the programme tools, each audited in its own transaction.

Agreements are coupled to access grants by reference: ending or suspending an agreement
revokes every live grant that names it through ``accounts.services.grant_revoke`` (same
transaction, same immediate effect as a revocation: the members' ``access_epoch`` is
bumped so their sessions and tokens are refused on the next request).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import roles
from accounts.audit.models import Action
from accounts.audit.services import audit_changes, audit_record, audit_snapshot
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, DataSharingAgreement, Membership, Organisation, User
from accounts.services import (
    AGREEMENT_FIELDS,
    agreement_register,
    agreement_snapshot,
    grant_revoke,
)
from incidents.models import Release, ReleaseNote
from istv_portal import private_storage as storage
from programme.models import CaseStudy, CaseStudyImage, UsageMonth, UsageMonthComputed

CASE_STUDY_FIELDS = (
    "title",
    "summary",
    "body",
    "boroughs",
    "themes",
    "chart_query",
    "chart_group_by",
)
# chart_query is compared by id (a model instance is not JSON).
CASE_STUDY_SNAPSHOT = ("title", "summary", "body", "boroughs", "themes", "chart_query_id",
                       "chart_group_by")  # fmt: skip
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_BYTES = 2 * 1024 * 1024
# Images are recognised by their first bytes, never by the uploaded name or header.
IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
REMINDER_DAYS = 30


# --- building blocks ------------------------------------------------------------------


def _check_pdf(upload: UploadedFile[bytes]) -> None:
    if upload.size is None or upload.size > DOCUMENT_MAX_BYTES:
        raise ValidationError({"document": "The signed document must be a PDF under 10 MB."})
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise ValidationError({"document": "The signed document must be a PDF file."})


def _store_document(agreement: DataSharingAgreement, upload: UploadedFile[bytes]) -> str:
    """Store a new signed document; return the old stored name (removed after commit)."""
    _check_pdf(upload)
    stored = storage.store_upload(storage.AGREEMENTS, upload)
    old = agreement.document_name
    agreement.document_name = stored.name
    agreement.document_original_name = (upload.name or "agreement.pdf")[-255:]
    agreement.document_sha256 = stored.sha256
    return old


def _validate_agreement(agreement: DataSharingAgreement) -> None:
    agreement.full_clean(exclude=["created_by", "providers", "recipients"])
    if agreement.signed_on and agreement.ends_on < agreement.signed_on:
        raise ValidationError({"ends_on": "The end date cannot be before the signing date."})
    if agreement.review_on and agreement.review_on > agreement.ends_on:
        raise ValidationError({"review_on": "The review date must be on or before the end."})


def _linked_live_grants(reference: str, today: date) -> list[AccessGrant]:
    return list(
        AccessGrant.objects.filter(
            agreement_reference=reference, revoked_at__isnull=True, valid_until__gte=today
        ).order_by("pk")
    )


# --- agreements -------------------------------------------------------------------------


@transaction.atomic
def agreement_create(
    *,
    actor: User,
    providers: list[Organisation],
    recipients: list[Organisation],
    document: UploadedFile[bytes] | None = None,
    activate: bool = False,
    request: HttpRequest | None = None,
    **values: Any,
) -> DataSharingAgreement:
    agreement = DataSharingAgreement(created_by=actor)
    for name in AGREEMENT_FIELDS:
        if name in values:
            setattr(agreement, name, values[name])
    agreement.status = (
        DataSharingAgreement.Status.ACTIVE if activate else DataSharingAgreement.Status.DRAFT
    )
    _validate_agreement(agreement)
    if document is not None:
        _store_document(agreement, document)
    return agreement_register(
        actor=actor,
        agreement=agreement,
        providers=providers,
        recipients=recipients,
        request=request,
    )


@transaction.atomic
def agreement_update(
    *,
    actor: User,
    agreement: DataSharingAgreement,
    providers: list[Organisation] | None = None,
    recipients: list[Organisation] | None = None,
    document: UploadedFile[bytes] | None = None,
    activate: bool = False,
    request: HttpRequest | None = None,
    **values: Any,
) -> DataSharingAgreement:
    """Change an agreement's details (not its end or suspension: see the services below).

    Refused when it would leave a live grant running past the agreement's end, or when the
    reference changes while grants still name the old one.
    """
    agreement = DataSharingAgreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status == DataSharingAgreement.Status.ENDED:
        raise ValidationError("An ended agreement cannot be changed; register a new one.")
    before = agreement_snapshot(agreement)
    old_reference = agreement.reference
    for name, value in values.items():
        if name not in AGREEMENT_FIELDS:
            raise TypeError(f"Unknown field: {name}")
        setattr(agreement, name, value)
    if activate:
        agreement.status = DataSharingAgreement.Status.ACTIVE
    _validate_agreement(agreement)
    today = timezone.localdate()
    if agreement.reference != old_reference and _linked_live_grants(old_reference, today):
        raise ValidationError(
            {"reference": "Access grants name this reference; it cannot be changed."}
        )
    too_long = [
        g
        for g in _linked_live_grants(agreement.reference, today)
        if g.valid_until > agreement.ends_on
    ]
    if too_long:
        raise ValidationError(
            {
                "ends_on": (
                    f"{len(too_long)} access grant(s) under this agreement run past "
                    f"{agreement.ends_on:%d %B %Y}; shorten or revoke them first."
                )
            }
        )
    old_document = ""
    if document is not None:
        old_document = _store_document(agreement, document)
    if before["review_on"] != audit_snapshot(agreement, ("review_on",))["review_on"]:
        agreement.review_reminder_for = None
    if before["ends_on"] != audit_snapshot(agreement, ("ends_on",))["ends_on"]:
        agreement.end_reminder_for = None
    agreement.updated_at = timezone.now()
    agreement.save()
    if providers is not None:
        agreement.providers.set(providers)
    if recipients is not None:
        agreement.recipients.set(recipients)
    after = agreement_snapshot(agreement)
    if old_document:
        transaction.on_commit(lambda: storage.delete(old_document, area=storage.AGREEMENTS))
    changes = audit_changes(before, after)
    if changes["after"]:
        audit_record(
            action=Action.AGREEMENT_CHANGED,
            actor=actor,
            obj=agreement,
            details=changes,
            request=request,
        )
    return agreement


def _end_linked_grants(
    *, actor: User | None, agreement: DataSharingAgreement, why: str, request: HttpRequest | None
) -> list[int]:
    """Revoke every live grant naming the agreement (each audited and epoch-bumping)."""
    ended = []
    for grant in AccessGrant.objects.filter(
        agreement_reference=agreement.reference, revoked_at__isnull=True
    ).order_by("pk"):
        # The scheduler has no actor; grant_revoke records a system revocation then.
        grant_revoke(actor=cast(User, actor), grant=grant, reason=why, request=request)
        ended.append(grant.pk)
    return ended


def _close(
    *,
    actor: User | None,
    agreement: DataSharingAgreement,
    status: str,
    action: str,
    reason: str,
    request: HttpRequest | None,
) -> DataSharingAgreement:
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})
    agreement = DataSharingAgreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status == status or agreement.status == DataSharingAgreement.Status.ENDED:
        return agreement
    before = agreement.status
    agreement.status = status
    agreement.status_reason = reason.strip()
    agreement.updated_at = timezone.now()
    agreement.save(update_fields=["status", "status_reason", "updated_at"])
    label = "suspended" if status == DataSharingAgreement.Status.SUSPENDED else "ended"
    grants = _end_linked_grants(
        actor=actor,
        agreement=agreement,
        why=f"Agreement {agreement.reference} {label}: {reason.strip()}"[:1000],
        request=request,
    )
    audit_record(
        action=action,
        actor=actor,
        obj=agreement,
        details={
            "before": {"status": before},
            "after": {"status": status},
            "reason": agreement.status_reason,
            "grants_revoked": grants,
        },
        request=request,
    )
    return agreement


@transaction.atomic
def agreement_suspend(
    *, actor: User, agreement: DataSharingAgreement, reason: str, request: HttpRequest | None = None
) -> DataSharingAgreement:
    """Suspend: every grant under it is revoked now (re-activation does not restore them)."""
    return _close(
        actor=actor,
        agreement=agreement,
        status=DataSharingAgreement.Status.SUSPENDED,
        action=Action.AGREEMENT_SUSPENDED,
        reason=reason,
        request=request,
    )


@transaction.atomic
def agreement_end(
    *,
    actor: User | None,
    agreement: DataSharingAgreement,
    reason: str,
    request: HttpRequest | None = None,
) -> DataSharingAgreement:
    """End for good: every grant under it is revoked now."""
    return _close(
        actor=actor,
        agreement=agreement,
        status=DataSharingAgreement.Status.ENDED,
        action=Action.AGREEMENT_ENDED,
        reason=reason,
        request=request,
    )


@transaction.atomic
def agreements_lapse(*, today: date | None = None) -> list[int]:
    """End active or suspended agreements whose end date has passed (the scheduler)."""
    today = today or timezone.localdate()
    lapsed = list(
        DataSharingAgreement.objects.filter(
            status__in=[DataSharingAgreement.Status.ACTIVE, DataSharingAgreement.Status.SUSPENDED],
            ends_on__lt=today,
        ).order_by("pk")
    )
    for agreement in lapsed:
        agreement_end(actor=None, agreement=agreement, reason="End date passed")
    return [a.pk for a in lapsed]


def _reminder_recipients() -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(
                role=Membership.Role.ACCESS_ADMIN,
                is_active=True,
                user__is_active=True,
                organisation__is_active=True,
                organisation__kind=Organisation.Kind.GLA,
            ).values_list("user__email", flat=True)
        )
    )


@transaction.atomic
def agreement_reminders_send(*, today: date | None = None, days: int = REMINDER_DAYS) -> int:
    """E-mail access administrators once before each review date and end date."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=days)
    recipients = _reminder_recipients()
    prefix = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    sent = 0
    live = DataSharingAgreement.objects.select_for_update(skip_locked=True).filter(
        status__in=[DataSharingAgreement.Status.ACTIVE, DataSharingAgreement.Status.SUSPENDED]
    )
    for agreement in live.order_by("pk"):
        due: list[tuple[str, date]] = []
        if (
            agreement.review_on
            and today <= agreement.review_on <= horizon
            and agreement.review_reminder_for != agreement.review_on
        ):
            due.append(("review", agreement.review_on))
            agreement.review_reminder_for = agreement.review_on
        if (
            today <= agreement.ends_on <= horizon
            and agreement.end_reminder_for != agreement.ends_on
        ):
            due.append(("end", agreement.ends_on))
            agreement.end_reminder_for = agreement.ends_on
        if not due:
            continue
        agreement.save(update_fields=["review_reminder_for", "end_reminder_for"])
        if recipients:
            body = render_to_string(
                "programme/email/agreement_reminder.txt",
                {"agreement": agreement, "due": due, "today": today},
            )
            subject = f"Data-sharing agreement {agreement.reference}: " + ", ".join(
                f"{kind} on {day:%d %B %Y}" for kind, day in due
            )

            def _send(subject: str = f"{prefix}{subject}", body: str = body) -> None:
                send_mail(subject, body, None, recipients, fail_silently=False)

            transaction.on_commit(_send)
        audit_record(
            action=Action.AGREEMENT_REMINDED,
            actor=None,
            obj=agreement,
            details={
                "due": [{"kind": kind, "on": day.isoformat()} for kind, day in due],
                "recipients": len(recipients),
            },
        )
        sent += 1
    return sent


# --- release notes ----------------------------------------------------------------------


@transaction.atomic
def release_note_save(
    *,
    actor: User,
    release: Release,
    body: str,
    facts: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> ReleaseNote:
    if not roles.is_data_manager(actor):
        raise PermissionDenied
    note, created = ReleaseNote.objects.select_for_update().get_or_create(
        release=release, defaults={"author": actor, "body": body, "facts": facts or {}}
    )
    if not created:
        if note.body == body:
            return note
        note.body = body
        note.updated_at = timezone.now()
        note.save(update_fields=["body", "updated_at"])
    audit_record(
        action=Action.RELEASE_NOTES_SAVED,
        actor=actor,
        obj=note,
        details={"release": release.number, "created": created, "length": len(body)},
        request=request,
    )
    return note


@transaction.atomic
def release_note_publish(
    *, actor: User, note: ReleaseNote, request: HttpRequest | None = None
) -> ReleaseNote:
    if not roles.is_data_manager(actor):
        raise PermissionDenied
    note = ReleaseNote.objects.select_for_update().get(pk=note.pk)
    if note.status == ReleaseNote.Status.PUBLISHED:
        return note
    if not note.body.strip():
        raise ValidationError("Write the notes before publishing them.")
    note.status = ReleaseNote.Status.PUBLISHED
    note.published_at = timezone.now()
    note.save(update_fields=["status", "published_at"])
    audit_record(
        action=Action.RELEASE_NOTES_PUBLISHED,
        actor=actor,
        obj=note,
        details={"release": note.release.number},
        request=request,
    )
    return note


# --- case studies -----------------------------------------------------------------------


def _clean_case_study(case_study: CaseStudy, actor: User) -> None:
    if case_study.chart_query_id is not None:
        from incidents.selectors import saved_queries_visible_to

        if not saved_queries_visible_to(actor).filter(pk=case_study.chart_query_id).exists():
            raise ValidationError({"chart_query": "Choose one of your saved queries."})
    unknown = [code for code in case_study.boroughs if code not in LONDON_BOROUGHS]
    if unknown:
        raise ValidationError({"boroughs": "Not London borough codes."})
    themes = set(CaseStudy.Theme.values)
    if any(theme not in themes for theme in case_study.themes):
        raise ValidationError({"themes": "Unknown theme."})
    case_study.boroughs = sorted(set(case_study.boroughs))
    case_study.themes = sorted(set(case_study.themes))
    case_study.full_clean(exclude=["author", "organisation", "reviewer"])


@transaction.atomic
def case_study_create(
    *,
    actor: User,
    organisation: Organisation,
    request: HttpRequest | None = None,
    **values: Any,
) -> CaseStudy:
    if organisation.pk not in roles.case_study_author_organisations(actor):
        raise PermissionDenied
    case_study = CaseStudy(author=actor, organisation=organisation)
    for name in CASE_STUDY_FIELDS:
        setattr(case_study, name, values.get(name, getattr(case_study, name)))
    _clean_case_study(case_study, actor)
    case_study.save()
    audit_record(
        action=Action.CASE_STUDY_CREATED,
        actor=actor,
        organisation=organisation,
        obj=case_study,
        details={"title": case_study.title, "themes": case_study.themes},
        request=request,
    )
    return case_study


@transaction.atomic
def case_study_update(
    *, actor: User, case_study: CaseStudy, request: HttpRequest | None = None, **values: Any
) -> CaseStudy:
    """The author edits a draft (a study returned from review is a draft again)."""
    case_study = CaseStudy.objects.select_for_update().get(pk=case_study.pk)
    if case_study.author_id != actor.pk or case_study.status != CaseStudy.Status.DRAFT:
        raise PermissionDenied
    before = audit_snapshot(case_study, CASE_STUDY_SNAPSHOT)
    for name, value in values.items():
        if name not in CASE_STUDY_FIELDS:
            raise TypeError(f"Unknown field: {name}")
        setattr(case_study, name, value)
    _clean_case_study(case_study, actor)
    case_study.updated_at = timezone.now()
    case_study.save()
    changes = audit_changes(before, audit_snapshot(case_study, CASE_STUDY_SNAPSHOT))
    # The body is the author's prose: record which fields changed, not the text.
    audit_record(
        action=Action.CASE_STUDY_CHANGED,
        actor=actor,
        organisation=case_study.organisation,
        obj=case_study,
        details={"changed": sorted(changes["after"])},
        request=request,
    )
    return case_study


def _move(
    *,
    actor: User,
    case_study: CaseStudy,
    to: str,
    action: str,
    request: HttpRequest | None,
    comment: str = "",
) -> CaseStudy:
    before = case_study.status
    case_study.status = to
    case_study.updated_at = timezone.now()
    fields = ["status", "updated_at"]
    if to == CaseStudy.Status.PUBLISHED:
        case_study.reviewer = actor
        case_study.published_at = timezone.now()
        fields += ["reviewer", "published_at"]
    if comment:
        case_study.review_comment = comment
        fields.append("review_comment")
    case_study.save(update_fields=fields)
    audit_record(
        action=action,
        actor=actor,
        organisation=case_study.organisation,
        obj=case_study,
        details={"before": {"status": before}, "after": {"status": to}},
        request=request,
    )
    return case_study


@transaction.atomic
def case_study_submit(
    *, actor: User, case_study: CaseStudy, request: HttpRequest | None = None
) -> CaseStudy:
    case_study = CaseStudy.objects.select_for_update().get(pk=case_study.pk)
    if case_study.author_id != actor.pk or case_study.status != CaseStudy.Status.DRAFT:
        raise PermissionDenied
    return _move(
        actor=actor,
        case_study=case_study,
        to=CaseStudy.Status.IN_REVIEW,
        action=Action.CASE_STUDY_SUBMITTED,
        request=request,
    )


def _check_reviewer(actor: User, case_study: CaseStudy) -> None:
    # Four eyes: a data manager other than the author publishes.
    if not roles.is_data_manager(actor) or case_study.author_id == actor.pk:
        raise PermissionDenied
    if case_study.status != CaseStudy.Status.IN_REVIEW:
        raise ValidationError("Only a case study in review can be published or returned.")


@transaction.atomic
def case_study_publish(
    *, actor: User, case_study: CaseStudy, request: HttpRequest | None = None
) -> CaseStudy:
    case_study = CaseStudy.objects.select_for_update().get(pk=case_study.pk)
    _check_reviewer(actor, case_study)
    return _move(
        actor=actor,
        case_study=case_study,
        to=CaseStudy.Status.PUBLISHED,
        action=Action.CASE_STUDY_PUBLISHED,
        request=request,
    )


@transaction.atomic
def case_study_return(
    *, actor: User, case_study: CaseStudy, comment: str, request: HttpRequest | None = None
) -> CaseStudy:
    case_study = CaseStudy.objects.select_for_update().get(pk=case_study.pk)
    _check_reviewer(actor, case_study)
    if not comment.strip():
        raise ValidationError({"comment": "Tell the author what to change."})
    return _move(
        actor=actor,
        case_study=case_study,
        to=CaseStudy.Status.DRAFT,
        action=Action.CASE_STUDY_RETURNED,
        request=request,
        comment=comment.strip(),
    )


@transaction.atomic
def case_study_image_add(
    *,
    actor: User,
    case_study: CaseStudy,
    upload: UploadedFile[bytes],
    alt_text: str,
    request: HttpRequest | None = None,
) -> CaseStudyImage:
    case_study = CaseStudy.objects.select_for_update().get(pk=case_study.pk)
    if case_study.author_id != actor.pk or case_study.status != CaseStudy.Status.DRAFT:
        raise PermissionDenied
    if not alt_text.strip():
        raise ValidationError({"alt_text": "Describe the image for people who cannot see it."})
    if upload.size is None or upload.size > IMAGE_MAX_BYTES:
        raise ValidationError({"image": "Images must be PNG or JPEG under 2 MB."})
    head = upload.read(8)
    upload.seek(0)
    content_type = next((t for sig, t in IMAGE_SIGNATURES.items() if head.startswith(sig)), None)
    if content_type is None:
        raise ValidationError({"image": "Images must be PNG or JPEG."})
    stored = storage.store_upload(storage.CASE_STUDY_IMAGES, upload)
    image = CaseStudyImage.objects.create(
        case_study=case_study,
        stored_name=stored.name,
        content_type=content_type,
        alt_text=alt_text.strip()[:300],
    )
    audit_record(
        action=Action.CASE_STUDY_CHANGED,
        actor=actor,
        organisation=case_study.organisation,
        obj=case_study,
        details={"image_added": image.pk, "sha256": stored.sha256},
        request=request,
    )
    return image


# --- impact dashboard -------------------------------------------------------------------


@transaction.atomic
def impact_export_record(
    *, actor: User, months: int, rows: int, request: HttpRequest | None = None
) -> None:
    """Audit a CSV export of the impact dashboard (aggregate figures only)."""
    audit_record(
        action=Action.IMPACT_EXPORTED,
        actor=actor,
        details={"months": months, "rows": rows, "format": "csv"},
        request=request,
    )


@transaction.atomic
def usage_rollup_refresh(*, months: int = 13, today: date | None = None) -> list[date]:
    """Store the usage figures of closed months not yet stored (the nightly job).

    A derived cache of the audit log, not a change of anyone's data: not audited.
    """
    from programme import impact

    window = impact.month_window(months, today)[:-1]  # the current month is never closed
    done = set(
        UsageMonthComputed.objects.select_for_update()
        .filter(month__in=window)
        .values_list("month", flat=True)
    )
    todo = [m for m in window if m not in done]
    if not todo:
        return []
    live = impact.usage_live(todo)
    UsageMonth.objects.bulk_create(
        UsageMonth(organisation_id=org_id, month=month, **cells)
        for (org_id, month), cells in live.items()
        if month in set(todo)
    )
    UsageMonthComputed.objects.bulk_create(UsageMonthComputed(month=m) for m in todo)
    return todo
