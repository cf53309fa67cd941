"""Reads for the access-administration screens, each scoped to who is asking.

What a person may see of *incident data* is answered only by
``accounts.access.effective_access``; this module answers who may administer people and
returns bounded, pre-joined lists for the screens.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.access import EffectiveAccess, active_grants_q, effective_access_for_users
from accounts.audit.denials import deny, get_in_scope_or_404
from accounts.audit.models import Action, AuditEvent
from accounts.models import (
    AccessGrant,
    ApiToken,
    DataSharingAgreement,
    Membership,
    Organisation,
    User,
)
from istv_portal.spreadsheet import EchoBuffer, neutralise_cell

ACCESS_REVIEW_EXPIRY_DAYS = 30
_ADMIN_CACHE_ATTR = "_istv_is_access_admin"


def is_access_admin(user: User | object) -> bool:
    """An active access administrator at the GLA (cached on the user for one request)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    cached = getattr(user, _ADMIN_CACHE_ATTR, None)
    if cached is None:
        cached = Membership.objects.filter(
            user=user,  # type: ignore[misc]
            role=Membership.Role.ACCESS_ADMIN,
            is_active=True,
            organisation__is_active=True,
            organisation__kind=Organisation.Kind.GLA,
        ).exists()
        setattr(user, _ADMIN_CACHE_ATTR, cached)
    return bool(cached)


def led_organisation_ids(user: User) -> set[int]:
    """Organisations in which ``user`` is an active organisation lead."""
    return set(
        Membership.objects.filter(
            user=user, role=Membership.Role.ORG_LEAD, is_active=True, organisation__is_active=True
        ).values_list("organisation_id", flat=True)
    )


# --- people ---------------------------------------------------------------------------


def _memberships_prefetch() -> Any:
    # Any: django-stubs types Prefetch by its lookup string, which adds nothing here.
    return Prefetch(
        "memberships",
        queryset=Membership.objects.select_related("organisation").order_by(
            "organisation__name", "role"
        ),
    )


def user_list(*, search: str = "", status: str = "") -> QuerySet[User]:
    users = User.objects.prefetch_related(_memberships_prefetch()).order_by("email")
    if search:
        users = users.filter(
            Q(email__icontains=search)
            | Q(full_name__icontains=search)
            | Q(memberships__organisation__name__icontains=search)
        ).distinct()
    if status:
        users = users.filter(status=status)
    return users


def user_get(*, pk: int) -> User:
    user = User.objects.prefetch_related(_memberships_prefetch()).filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


def organisation_people(*, viewer: User, organisation_pk: int) -> tuple[Organisation, list[User]]:
    """An organisation and its people, for an access admin or one of its leads; else 404."""
    organisation = Organisation.objects.filter(pk=organisation_pk).first()
    if organisation is None:
        raise Http404
    if not (is_access_admin(viewer) or organisation.pk in led_organisation_ids(viewer)):
        deny(object_type="accounts.organisation", object_id=organisation_pk)
    people = list(
        User.objects.filter(memberships__organisation=organisation)
        .distinct()
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(organisation=organisation).select_related(
                    "organisation"
                ),
            )
        )
        .order_by("email")
    )
    return organisation, people


# --- organisations, memberships, grants -------------------------------------------------


def organisation_list(*, kind: str = "") -> QuerySet[Organisation]:
    today = timezone.localdate()
    active = Q(**{f"grants__{k}": v for k, v in active_grants_q(today).items()})
    organisations = Organisation.objects.annotate(
        member_count=Count("memberships__user", distinct=True),
        active_grant_count=Count("grants", filter=active, distinct=True),
    ).order_by("name")
    if kind:
        organisations = organisations.filter(kind=kind)
    return organisations


def organisation_get(*, pk: int) -> Organisation:
    organisation = Organisation.objects.filter(pk=pk).first()
    if organisation is None:
        raise Http404
    return organisation


def organisation_memberships(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user", "organisation")
        .order_by("user__email", "role")
    )


def membership_get(*, pk: int) -> Membership:
    membership = Membership.objects.select_related("user", "organisation").filter(pk=pk).first()
    if membership is None:
        raise Http404
    return membership


def grant_list(
    *, organisation: Organisation | None = None, include_ended: bool = False
) -> QuerySet[AccessGrant]:
    grants = AccessGrant.objects.select_related(
        "organisation", "granted_by", "revoked_by"
    ).order_by("organisation__name", "-valid_from", "pk")
    if organisation is not None:
        grants = grants.filter(organisation=organisation)
    if not include_ended:
        grants = grants.filter(revoked_at__isnull=True, valid_until__gte=timezone.localdate())
    return grants


def grant_get(*, pk: int) -> AccessGrant:
    grant = AccessGrant.objects.select_related("organisation").filter(pk=pk).first()
    if grant is None:
        raise Http404
    return grant


def grants_expiring(
    *, within_days: int = ACCESS_REVIEW_EXPIRY_DAYS, today: date | None = None
) -> QuerySet[AccessGrant]:
    today = today or timezone.localdate()
    return (
        AccessGrant.objects.select_related("organisation")
        .filter(valid_until__lte=today + timedelta(days=within_days), **active_grants_q(today))
        .order_by("valid_until", "organisation__name")
    )


def grants_without_agreement() -> QuerySet[AccessGrant]:
    """Unrevoked grants whose reference names no agreement in the register.

    No grant can be written like this any more (``accounts.services``); these are older
    grants the reconciling migration could not match. They are listed for the
    administrators, each to be given its agreement (or revoked). A revoked grant cannot
    be changed, so it is not listed.
    """
    return (
        AccessGrant.objects.select_related("organisation")
        .filter(revoked_at__isnull=True)
        .exclude(agreement_reference__in=DataSharingAgreement.objects.values("reference"))
        .order_by("organisation__name", "agreement_reference", "pk")
    )


# --- access review ---------------------------------------------------------------------


# What counts as a person's data access on the access review: a page of incident data
# viewed, an API call, a download. A call the API refused (status 400 and above) read no
# data and does not count.
DATA_ACCESS_ACTIONS = (Action.DATA_VIEWED, Action.API_CALLED, Action.DATA_DOWNLOADED)


def last_data_access_by_user(user_ids: Iterable[int]) -> dict[int, datetime]:
    """When each of ``user_ids`` last accessed incident data, read from the audit log in
    one query; a person who never did is absent from the answer."""
    ids = list(user_ids)
    if not ids:
        return {}
    latest = (
        AuditEvent.objects.filter(
            actor_id__in=ids, action__in=[str(a) for a in DATA_ACCESS_ACTIONS]
        )
        .exclude(Q(details__has_key="status") & Q(details__status__gte=400))
        .values("actor_id")
        .annotate(latest=Max("occurred_at"))
        .order_by()
    )
    return {row["actor_id"]: row["latest"] for row in latest}


@dataclass(frozen=True)
class AccessReviewRow:
    user: User
    memberships: list[Membership]
    access: EffectiveAccess
    last_data_access: datetime | None = None

    @property
    def organisations(self) -> str:
        return "; ".join(sorted({m.organisation.name for m in self.memberships if m.is_active}))

    @property
    def roles(self) -> str:
        return "; ".join(
            f"{m.get_role_display()} ({m.organisation.name})"
            for m in self.memberships
            if m.is_active
        )


def access_review(*, users: Iterable[User] | None = None) -> list[AccessReviewRow]:
    """Who can see what and when they last did: five queries whatever the number of users
    (the last data access comes from the audit log, one query for all of them)."""
    people = list(users) if users is not None else list(user_list())
    accesses = effective_access_for_users(people)
    last_access = last_data_access_by_user(u.pk for u in people)
    return [
        AccessReviewRow(
            user=u,
            memberships=list(u.memberships.all()),
            access=accesses[u.pk],
            last_data_access=last_access.get(u.pk),
        )
        for u in people
    ]


ACCESS_REVIEW_CSV_HEADER = [
    "email",
    "name",
    "status",
    "organisations",
    "roles",
    "effective access",
    "last sign-in",
    "last data access",
]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def access_review_csv_lines() -> Iterator[str]:
    writer = csv.writer(EchoBuffer())
    yield writer.writerow(ACCESS_REVIEW_CSV_HEADER)
    for row in access_review():
        cells = [
            row.user.email,
            row.user.full_name,
            row.user.get_status_display(),
            row.organisations,
            row.roles,
            row.access.summary(),
            _iso(row.user.last_login),
            _iso(row.last_data_access),
        ]
        yield writer.writerow([neutralise_cell(c) for c in cells])


# --- API tokens --------------------------------------------------------------------------


def user_api_tokens(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def user_api_token_get(*, user: User, pk: int) -> ApiToken:
    """One of ``user``'s own tokens; anyone else's is 404."""
    return get_in_scope_or_404(ApiToken.objects.filter(user=user), pk=pk)


# --- liaisons --------------------------------------------------------------------------


def liaison_users() -> QuerySet[User]:
    """People who hold an active liaison membership at a hospital organisation."""
    return (
        User.objects.filter(
            memberships__role=Membership.Role.LIAISON,
            memberships__is_active=True,
            memberships__organisation__kind=Organisation.Kind.HOSPITAL,
            is_active=True,
        )
        .distinct()
        .order_by("email")
    )
