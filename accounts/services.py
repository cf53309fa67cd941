"""Every write to people, organisations, memberships, grants and tokens.

Each service takes keyword arguments and an explicit ``actor`` (``None`` for the
scheduler), runs in one transaction and writes its audit event in that transaction with
before/after values. A write that shrinks anyone's access bumps the affected users'
``access_epoch`` in the same transaction, so their sessions and API tokens are refused
on their next request (see ``accounts.middleware`` and ``accounts.authentication``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.access import active_grants_q
from accounts.agreements import grant_agreement_errors, registered_agreement
from accounts.audit.models import Action
from accounts.audit.services import audit_changes, audit_record, audit_snapshot
from accounts.authentication import TOKEN_PREFIX_LENGTH, new_token_key, token_digest
from accounts.models import (
    AccessGrant,
    ApiToken,
    DataSharingAgreement,
    Invitation,
    Membership,
    Organisation,
    User,
)

logger = logging.getLogger(__name__)

GRANT_FIELDS = (
    "level",
    "pan_london",
    "boroughs",
    "include_unlocated",
    "download_allowed",
    "free_text_visible",
    "location_precision",
    "valid_from",
    "valid_until",
    "agreement_reference",
    "reason",
)
MEMBERSHIP_FIELDS = (
    "role",
    "is_active",
    "narrowed_boroughs",
    "narrowed_to_aggregate",
    "narrowed_no_download",
    "narrowed_no_free_text",
)
ORGANISATION_FIELDS = ("name", "kind", "gss_code", "ods_code", "is_active")
AGREEMENT_FIELDS = (
    "reference",
    "title",
    "legal_basis",
    "purpose",
    "signed_on",
    "review_on",
    "ends_on",
)
_PRECISION_RANK = {
    AccessGrant.Precision.LSOA: 0,
    AccessGrant.Precision.SNAPPED: 1,
    AccessGrant.Precision.EXACT: 2,
}


# --- building blocks ------------------------------------------------------------------


def _apply(obj: Any, fields: Iterable[str], values: dict[str, Any]) -> list[str]:
    """Set the given fields on ``obj``; return the names that actually changed."""
    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _locked_edit(
    queryset: Any, pk: int, fields: tuple[str, ...], values: dict[str, Any]
) -> tuple[Any, dict[str, Any], list[str]]:
    """Lock the row, note its fields, apply ``values``: (row, before, changed field names)."""
    obj = queryset.select_for_update(of=("self",)).get(pk=pk)
    before = audit_snapshot(obj, fields)
    return obj, before, _apply(obj, fields, values)


def access_epochs_bump(*, user_ids: Iterable[int]) -> int:
    """End the sessions and tokens of these users on their next request."""
    ids = set(user_ids)
    if not ids:
        return 0
    return User.objects.filter(pk__in=ids).update(access_epoch=F("access_epoch") + 1)


def _member_ids(organisation_id: int) -> list[int]:
    return list(
        Membership.objects.filter(organisation_id=organisation_id).values_list("user_id", flat=True)
    )


def _send_mail_on_commit(
    *, subject: str, template: str, context: dict[str, Any], to: list[str]
) -> None:
    """Send after commit: a rolled-back change must not have told anyone about itself."""
    body = render_to_string(template, context)
    prefix = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX

    def _send() -> None:
        send_mail(f"{prefix}{subject}", body, None, to, fail_silently=False)

    transaction.on_commit(_send)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- invitations and user lifecycle -----------------------------------------------


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    # The raw token exists only here and in the e-mail; it is never stored.
    token: str


@transaction.atomic
def user_invite(
    *,
    actor: User | None,
    email: str,
    full_name: str,
    organisation: Organisation,
    role: str,
    request: HttpRequest | None = None,
) -> InvitationSent:
    """Create (or re-invite) a person, give them a membership and e-mail a one-time link."""
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is not None and user.status != User.Status.INVITED:
        raise ValidationError({"email": "This person already has an account."})
    if user is None:
        user = User.objects.create_user(
            email, full_name=full_name, status=User.Status.INVITED, is_active=False
        )
    elif user.full_name != full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    membership, _ = Membership.objects.get_or_create(
        user=user, organisation=organisation, role=role
    )
    now = timezone.now()
    Invitation.objects.filter(
        user=user, accepted_at__isnull=True, superseded_at__isnull=True
    ).update(superseded_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        digest=_digest(token),
        invited_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=settings.INVITATION_VALID_HOURS),
    )
    path = reverse("accounts:invitation_open", kwargs={"token": token})
    link = request.build_absolute_uri(path) if request else f"{settings.PORTAL_BASE_URL}{path}"
    _send_mail_on_commit(
        subject="You have been invited to the ISTV Portal",
        template="manage/email/invitation.txt",
        context={
            "user": user,
            "organisation": organisation,
            "role": membership.get_role_display(),
            "link": link,
            "valid_hours": settings.INVITATION_VALID_HOURS,
        },
        to=[user.email],
    )
    audit_record(
        action=Action.INVITATION_SENT,
        actor=actor,
        organisation=organisation,
        obj=user,
        details={
            "role": role,
            "membership_id": membership.pk,
            "invitation_id": invitation.pk,
            "expires_at": invitation.expires_at.isoformat(),
        },
        request=request,
    )
    return InvitationSent(invitation=invitation, token=token)


def invitation_find_usable(*, token: str) -> Invitation | None:
    """The invitation this token opens, if it is unused, current and unexpired."""
    if not token or len(token) > 100:
        return None
    invitation = Invitation.objects.select_related("user").filter(digest=_digest(token)).first()
    if invitation is None or not invitation.is_usable(timezone.now()):
        return None
    if invitation.user.status != User.Status.INVITED:
        return None
    return invitation


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, request: HttpRequest | None = None
) -> User | None:
    """Set the invitee's password and activate them. ``None`` if the link is not usable."""
    found = invitation_find_usable(token=token)
    if found is None:
        return None
    invitation = Invitation.objects.select_for_update().get(pk=found.pk)
    user = User.objects.select_for_update().get(pk=invitation.user_id)
    if not invitation.is_usable(timezone.now()) or user.status != User.Status.INVITED:
        return None
    validate_password(password, user)
    user.set_password(password)
    user.status = User.Status.ACTIVE
    user.is_active = True
    user.save(update_fields=["password", "status", "is_active"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    # The link reached this mailbox, so the address is proven: verified and primary.
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    audit_record(
        action=Action.INVITATION_ACCEPTED,
        actor=user,
        obj=user,
        details={"invitation_id": invitation.pk},
        request=request,
    )
    return user


@transaction.atomic
def user_deactivate(
    *, actor: User | None, user: User, reason: str = "", request: HttpRequest | None = None
) -> User:
    """Stop a person signing in; their sessions and tokens end on their next request."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot deactivate your own account.")
    if user.status == User.Status.DEACTIVATED:
        return user
    before = {"status": user.status, "is_active": user.is_active}
    user.status = User.Status.DEACTIVATED
    user.is_active = False
    user.access_epoch = F("access_epoch") + 1
    user.save(update_fields=["status", "is_active", "access_epoch"])
    user.refresh_from_db(fields=["access_epoch"])
    audit_record(
        action=Action.USER_DEACTIVATED,
        actor=actor,
        obj=user,
        details={
            "before": before,
            "after": {"status": user.status, "is_active": False},
            "reason": reason,
        },
        request=request,
    )
    return user


@transaction.atomic
def user_reactivate(*, actor: User, user: User, request: HttpRequest | None = None) -> User:
    """Let a deactivated person sign in again (as invited if they never set a password)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status != User.Status.DEACTIVATED:
        return user
    before = {"status": user.status, "is_active": user.is_active}
    if user.has_usable_password():
        user.status, user.is_active = User.Status.ACTIVE, True
    else:
        user.status = User.Status.INVITED
    # Restart the inactivity clock so the nightly job does not deactivate them again.
    user.last_seen = timezone.now()
    user.save(update_fields=["status", "is_active", "last_seen"])
    audit_record(
        action=Action.USER_REACTIVATED,
        actor=actor,
        obj=user,
        details={"before": before, "after": {"status": user.status, "is_active": user.is_active}},
        request=request,
    )
    return user


def users_deactivate_inactive(*, now: datetime | None = None) -> list[int]:
    """Deactivate active accounts with no sign-in or activity for ACCOUNT_INACTIVITY_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCOUNT_INACTIVITY_DAYS)
    # GREATEST ignores NULLs in PostgreSQL; date_joined covers never-signed-in accounts.
    stale = (
        # Anyone who can sign in: invited people are inactive until they accept.
        User.objects.filter(is_active=True)
        .exclude(status=User.Status.DEACTIVATED)
        .annotate(last_activity=Greatest("last_login", "last_seen", "date_joined"))
        .filter(last_activity__lt=cutoff)
        .values_list("pk", flat=True)
    )
    done = []
    for user in User.objects.filter(pk__in=list(stale)).order_by("pk"):
        user_deactivate(
            actor=None,
            user=user,
            reason=f"No sign-in for {settings.ACCOUNT_INACTIVITY_DAYS} days",
        )
        done.append(user.pk)
    return done


# --- organisations and memberships ---------------------------------------------------


@transaction.atomic
def organisation_create(
    *,
    actor: User | None,
    name: str,
    kind: str,
    gss_code: str = "",
    ods_code: str = "",
    request: HttpRequest | None = None,
) -> Organisation:
    organisation = Organisation(name=name, kind=kind, gss_code=gss_code, ods_code=ods_code)
    organisation.full_clean()
    organisation.save()
    audit_record(
        action=Action.ORGANISATION_CREATED,
        actor=actor,
        organisation=organisation,
        obj=organisation,
        details={"after": audit_snapshot(organisation, ORGANISATION_FIELDS)},
        request=request,
    )
    return organisation


@transaction.atomic
def organisation_update(
    *,
    actor: User,
    organisation: Organisation,
    request: HttpRequest | None = None,
    **values: Any,
) -> Organisation:
    organisation, before, changed = _locked_edit(
        Organisation.objects, organisation.pk, ORGANISATION_FIELDS, values
    )
    if not changed:
        return organisation
    organisation.full_clean()
    organisation.save(update_fields=changed)
    if before["is_active"] and not organisation.is_active:
        access_epochs_bump(user_ids=_member_ids(organisation.pk))
    audit_record(
        action=Action.ORGANISATION_CHANGED,
        actor=actor,
        organisation=organisation,
        obj=organisation,
        details=audit_changes(before, audit_snapshot(organisation, ORGANISATION_FIELDS)),
        request=request,
    )
    return organisation


def _validate_narrowing(boroughs: list[str]) -> None:
    from accounts.geography import LONDON_BOROUGHS

    unknown = [code for code in boroughs if code not in LONDON_BOROUGHS]
    if unknown:
        raise ValidationError({"narrowed_boroughs": "Choose London boroughs only."})


@transaction.atomic
def membership_add(
    *,
    actor: User | None,
    user: User,
    organisation: Organisation,
    role: str,
    request: HttpRequest | None = None,
    **narrowing: Any,
) -> Membership:
    if Membership.objects.filter(user=user, organisation=organisation, role=role).exists():
        raise ValidationError({"role": "This person already has this role here."})
    membership = Membership(user=user, organisation=organisation, role=role)
    _apply(membership, MEMBERSHIP_FIELDS, narrowing)
    _validate_narrowing(membership.narrowed_boroughs)
    membership.save()
    audit_record(
        action=Action.MEMBERSHIP_ADDED,
        actor=actor,
        organisation=organisation,
        obj=membership,
        details={"user_id": user.pk, "after": audit_snapshot(membership, MEMBERSHIP_FIELDS)},
        request=request,
    )
    return membership


def _membership_shrinks(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """True when a membership change can take anything away from its holder."""
    if before["role"] != after["role"] or (before["is_active"] and not after["is_active"]):
        return True
    for flag in ("narrowed_to_aggregate", "narrowed_no_download", "narrowed_no_free_text"):
        if after[flag] and not before[flag]:
            return True
    old, new = set(before["narrowed_boroughs"]), set(after["narrowed_boroughs"])
    # An empty list means "no narrowing": everything the grants allow.
    return bool(new) and (not old or not new >= old)


@transaction.atomic
def membership_update(
    *,
    actor: User,
    membership: Membership,
    request: HttpRequest | None = None,
    **values: Any,
) -> Membership:
    membership, before, changed = _locked_edit(
        Membership.objects, membership.pk, MEMBERSHIP_FIELDS, values
    )
    if not changed:
        return membership
    _validate_narrowing(membership.narrowed_boroughs)
    try:
        with transaction.atomic():
            membership.save(update_fields=changed)
    except IntegrityError:
        raise ValidationError({"role": "This person already has this role here."}) from None
    after = audit_snapshot(membership, MEMBERSHIP_FIELDS)
    if _membership_shrinks(before, after):
        access_epochs_bump(user_ids=[membership.user_id])
    audit_record(
        action=Action.MEMBERSHIP_CHANGED,
        actor=actor,
        organisation=membership.organisation,
        obj=membership,
        details={"user_id": membership.user_id, **audit_changes(before, after)},
        request=request,
    )
    return membership


@transaction.atomic
def membership_remove(
    *, actor: User, membership: Membership, request: HttpRequest | None = None
) -> None:
    membership = (
        Membership.objects.select_for_update().select_related("organisation").get(pk=membership.pk)
    )
    before = audit_snapshot(membership, MEMBERSHIP_FIELDS)
    membership_id, user_id = membership.pk, membership.user_id
    membership.delete()
    access_epochs_bump(user_ids=[user_id])
    audit_record(
        action=Action.MEMBERSHIP_REMOVED,
        actor=actor,
        organisation=membership.organisation,
        object_type="accounts.membership",
        object_id=membership_id,
        details={"user_id": user_id, "before": before},
        request=request,
    )


# --- access grants ---------------------------------------------------------------------


def _grant_shrinks(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """True when a grant change can take anything away from the organisation's members."""
    if before["level"] == AccessGrant.Level.RECORD and after["level"] != before["level"]:
        return True
    if before["pan_london"] and not after["pan_london"]:
        return True
    if not after["pan_london"] and not set(after["boroughs"]) >= set(before["boroughs"]):
        return True
    for flag in ("download_allowed", "free_text_visible", "include_unlocated"):
        if before.get(flag) and not after.get(flag):
            return True
    if _PRECISION_RANK[after["location_precision"]] < _PRECISION_RANK[before["location_precision"]]:
        return True
    return bool(
        after["valid_until"] < before["valid_until"] or after["valid_from"] > before["valid_from"]
    )


def _grant_clean(grant: AccessGrant) -> None:
    if grant.pan_london:
        # A pan-London grant already sees every incident, placed or not.
        grant.boroughs = []
        grant.include_unlocated = False
    grant.boroughs = sorted(set(grant.boroughs))
    if grant.level == AccessGrant.Level.AGGREGATE:
        # Aggregate output carries neither free text nor points (the disclosure rules).
        grant.free_text_visible = False
        grant.location_precision = AccessGrant.Precision.LSOA
    grant.full_clean(exclude=["granted_by", "revoked_by"])
    if not grant.pan_london and not grant.boroughs:
        raise ValidationError({"boroughs": "Choose pan-London or at least one borough."})
    # Every grant written names an agreement in the register, in force and covering the
    # organisation, spelt as the register spells it: access and "ending an agreement
    # ends its grants" join on that reference.
    agreement = registered_agreement(grant.agreement_reference)
    if agreement is not None:
        grant.agreement_reference = agreement.reference
    errors = grant_agreement_errors(grant)
    if errors:
        raise ValidationError(errors)


def agreement_snapshot(agreement: DataSharingAgreement) -> dict[str, Any]:
    """An agreement as its audit events record it: details, status, parties, document."""
    return {
        **audit_snapshot(agreement, AGREEMENT_FIELDS),
        "status": agreement.status,
        "providers": sorted(agreement.providers.values_list("pk", flat=True)),
        "recipients": sorted(agreement.recipients.values_list("pk", flat=True)),
        "document_sha256": agreement.document_sha256,
    }


@transaction.atomic
def agreement_register(
    *,
    actor: User | None,
    agreement: DataSharingAgreement,
    providers: Iterable[Organisation],
    recipients: Iterable[Organisation],
    request: HttpRequest | None = None,
) -> DataSharingAgreement:
    """Save a new agreement with its parties and record its creation (no actor: a script).

    The step every way into the register shares: the programme's screens
    (``programme.services.agreement_create``, which validates the agreement and stores
    its signed document first) and ``seed_demo``, so the register and its audit trail
    read the same whoever wrote the agreement.
    """
    agreement.save()
    agreement.providers.set(providers)
    agreement.recipients.set(recipients)
    audit_record(
        action=Action.AGREEMENT_CREATED,
        actor=actor,
        obj=agreement,
        details={"before": {}, "after": agreement_snapshot(agreement)},
        request=request,
    )
    return agreement


@transaction.atomic
def grant_create(
    *,
    actor: User | None,
    organisation: Organisation,
    request: HttpRequest | None = None,
    **values: Any,
) -> AccessGrant:
    grant = AccessGrant(organisation=organisation, granted_by=actor)
    _apply(grant, GRANT_FIELDS, values)
    _grant_clean(grant)
    grant.save()
    audit_record(
        action=Action.GRANT_CREATED,
        actor=actor,
        organisation=organisation,
        obj=grant,
        details={"before": {}, "after": audit_snapshot(grant, GRANT_FIELDS)},
        request=request,
    )
    return grant


@transaction.atomic
def grant_update(
    *,
    actor: User,
    grant: AccessGrant,
    request: HttpRequest | None = None,
    **values: Any,
) -> AccessGrant:
    grant, before, _ = _locked_edit(
        AccessGrant.objects.select_related("organisation"), grant.pk, GRANT_FIELDS, values
    )
    if grant.revoked_at is not None:
        raise ValidationError("A revoked grant cannot be changed.")
    _grant_clean(grant)
    after = audit_snapshot(grant, GRANT_FIELDS)
    changed = [name for name in GRANT_FIELDS if before[name] != after[name]]
    if not changed:
        return grant
    update_fields = list(changed)
    if "valid_until" in changed and grant.valid_until > date.fromisoformat(before["valid_until"]):
        # Extended: warn again before the new end date.
        grant.expiry_warning_sent_at = None
        grant.expired_at = None
        update_fields += ["expiry_warning_sent_at", "expired_at"]
    grant.save(update_fields=update_fields)
    if _grant_shrinks(before, after):
        access_epochs_bump(user_ids=_member_ids(grant.organisation_id))
    audit_record(
        action=Action.GRANT_CHANGED,
        actor=actor,
        organisation=grant.organisation,
        obj=grant,
        details=audit_changes(before, after),
        request=request,
    )
    return grant


@transaction.atomic
def grant_revoke(
    *, actor: User, grant: AccessGrant, reason: str, request: HttpRequest | None = None
) -> AccessGrant:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the access is being revoked."})
    grant = AccessGrant.objects.select_for_update().select_related("organisation").get(pk=grant.pk)
    if grant.revoked_at is not None:
        return grant
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.revoked_reason = reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    affected = _member_ids(grant.organisation_id)
    access_epochs_bump(user_ids=affected)
    audit_record(
        action=Action.GRANT_REVOKED,
        actor=actor,
        organisation=grant.organisation,
        obj=grant,
        details={
            "before": {"revoked": False},
            "after": {"revoked": True, "revoked_at": grant.revoked_at.isoformat()},
            "reason": grant.revoked_reason,
            "affected_users": len(affected),
        },
        request=request,
    )
    return grant


@transaction.atomic
def grants_expire(*, today: date | None = None) -> list[int]:
    """Mark grants past their end date as expired, audit each and end affected sessions."""
    today = today or timezone.localdate()
    grants = list(
        AccessGrant.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("organisation")
        .filter(revoked_at__isnull=True, expired_at__isnull=True, valid_until__lt=today)
        .order_by("pk")
    )
    now = timezone.now()
    for grant in grants:
        grant.expired_at = now
        grant.save(update_fields=["expired_at"])
        affected = _member_ids(grant.organisation_id)
        access_epochs_bump(user_ids=affected)
        audit_record(
            action=Action.GRANT_EXPIRED,
            actor=None,
            organisation=grant.organisation,
            obj=grant,
            details={"valid_until": grant.valid_until.isoformat(), "affected_users": len(affected)},
        )
    return [grant.pk for grant in grants]


def _warning_recipients(organisation_id: int) -> list[str]:
    """The organisation's leads and access administrators; GLA's administrators if none."""
    base = Membership.objects.filter(
        is_active=True,
        user__is_active=True,
        role__in=[Membership.Role.ORG_LEAD, Membership.Role.ACCESS_ADMIN],
    )
    emails = sorted(
        set(base.filter(organisation_id=organisation_id).values_list("user__email", flat=True))
    )
    if not emails:
        emails = sorted(
            set(
                base.filter(
                    role=Membership.Role.ACCESS_ADMIN, organisation__kind=Organisation.Kind.GLA
                ).values_list("user__email", flat=True)
            )
        )
    return emails


@transaction.atomic
def grant_expiry_warnings(*, today: date | None = None) -> list[int]:
    """E-mail each organisation once about grants ending within GRANT_EXPIRY_WARNING_DAYS."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.GRANT_EXPIRY_WARNING_DAYS)
    grants = list(
        AccessGrant.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("organisation")
        .filter(
            expiry_warning_sent_at__isnull=True,
            valid_until__lte=horizon,
            **active_grants_q(today),
        )
        .order_by("pk")
    )
    now = timezone.now()
    warned = []
    for grant in grants:
        recipients = _warning_recipients(grant.organisation_id)
        if recipients:
            _send_mail_on_commit(
                subject=f"Access for {grant.organisation.name} ends {grant.valid_until:%d %B %Y}",
                template="manage/email/grant_expiry_warning.txt",
                context={"grant": grant, "days_left": (grant.valid_until - today).days},
                to=recipients,
            )
        grant.expiry_warning_sent_at = now
        grant.save(update_fields=["expiry_warning_sent_at"])
        audit_record(
            action=Action.GRANT_EXPIRY_WARNED,
            actor=None,
            organisation=grant.organisation,
            obj=grant,
            details={"valid_until": grant.valid_until.isoformat(), "recipients": len(recipients)},
        )
        warned.append(grant.pk)
    return warned


# --- API tokens -------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCreated:
    token: ApiToken
    # Shown to its owner once; only its SHA-256 digest is stored.
    key: str


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, days: int, request: HttpRequest | None = None
) -> TokenCreated:
    """A personal token for ``actor`` valid ``days`` days (at most API_TOKEN_MAX_DAYS)."""
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError({"days": f"Choose between 1 and {settings.API_TOKEN_MAX_DAYS} days."})
    if not name.strip():
        raise ValidationError({"name": "Enter a name for the token"})
    user = User.objects.get(pk=actor.pk)
    if not user.is_active or user.status == User.Status.DEACTIVATED:
        raise ValidationError("Only active accounts can hold API tokens.")
    now = timezone.now()
    for _ in range(5):
        key = new_token_key()
        prefix = key[:TOKEN_PREFIX_LENGTH]
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    else:  # pragma: no cover - five 48-bit prefix collisions in a row
        raise RuntimeError("Could not draw a unique token prefix.")
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=prefix,
        digest=token_digest(key),
        created_at=now,
        expires_at=now + timedelta(days=days),
        access_epoch=user.access_epoch,
    )
    audit_record(
        action=Action.TOKEN_CREATED,
        actor=actor,
        obj=token,
        details={"prefix": prefix, "expires_at": token.expires_at.isoformat()},
        request=request,
    )
    return TokenCreated(token=token, key=key)


@transaction.atomic
def api_token_revoke(
    *, actor: User, token: ApiToken, request: HttpRequest | None = None
) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        action=Action.TOKEN_REVOKED,
        actor=actor,
        obj=token,
        details={"prefix": token.prefix, "owner_id": token.user_id},
        request=request,
    )
    return token
