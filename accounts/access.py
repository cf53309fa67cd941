"""A user's effective access: the one place later code asks what someone may see.

Users inherit their organisations' active grants; a membership can narrow (never widen)
what its organisation's grants allow. Levels, precisions and flags combine to the most
generous of the active grants after narrowing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, Membership, User

_PRECISION_ORDER = [
    AccessGrant.Precision.LSOA,
    AccessGrant.Precision.SNAPPED,
    AccessGrant.Precision.EXACT,
]
DATA_ROLES = {Membership.Role.ANALYST, Membership.Role.ORG_LEAD, Membership.Role.DATA_MANAGER}


@dataclass(frozen=True)
class EffectiveAccess:
    """What one user may see of the incident data today."""

    has_data_access: bool = False
    record_level: bool = False
    boroughs: frozenset[str] = field(default_factory=frozenset)
    download_allowed: bool = False
    free_text_visible: bool = False
    location_precision: str = AccessGrant.Precision.LSOA
    grant_ids: tuple[int, ...] = ()

    @property
    def pan_london(self) -> bool:
        return self.boroughs == frozenset(LONDON_BOROUGHS)

    @property
    def level(self) -> str:
        if not self.has_data_access:
            return "none"
        return AccessGrant.Level.RECORD if self.record_level else AccessGrant.Level.AGGREGATE


NO_ACCESS = EffectiveAccess()


def active_grants_q(day: date) -> dict[str, object]:
    return {"revoked_at__isnull": True, "valid_from__lte": day, "valid_until__gte": day}


def effective_access(user: User, *, on: date | None = None) -> EffectiveAccess:
    if not user.is_authenticated or not user.is_active:
        return NO_ACCESS
    day = on or timezone.localdate()
    memberships = list(
        Membership.objects.filter(
            user=user, is_active=True, organisation__is_active=True, role__in=DATA_ROLES
        ).select_related("organisation")
    )
    if not memberships:
        return NO_ACCESS
    grants = AccessGrant.objects.filter(
        organisation_id__in={m.organisation_id for m in memberships}, **active_grants_q(day)
    )
    by_org: dict[int, list[AccessGrant]] = {}
    for grant in grants:
        by_org.setdefault(grant.organisation_id, []).append(grant)

    record = download = free_text = False
    boroughs: set[str] = set()
    precision = 0
    grant_ids: list[int] = []
    for membership in memberships:
        for grant in by_org.get(membership.organisation_id, []):
            grant_boroughs = set(LONDON_BOROUGHS) if grant.pan_london else set(grant.boroughs)
            if membership.narrowed_boroughs:
                grant_boroughs &= set(membership.narrowed_boroughs)
            if not grant_boroughs:
                continue
            grant_ids.append(grant.pk)
            boroughs |= grant_boroughs
            is_record = grant.level == AccessGrant.Level.RECORD and not membership.narrowed_to_aggregate
            record |= is_record
            download |= grant.download_allowed and not membership.narrowed_no_download
            free_text |= (
                is_record and grant.free_text_visible and not membership.narrowed_no_free_text
            )
            if is_record:
                precision = max(precision, _PRECISION_ORDER.index(grant.location_precision))
    if not boroughs:
        return NO_ACCESS
    return EffectiveAccess(
        has_data_access=True,
        record_level=record,
        boroughs=frozenset(boroughs),
        download_allowed=download,
        free_text_visible=free_text,
        location_precision=_PRECISION_ORDER[precision],
        grant_ids=tuple(sorted(grant_ids)),
    )


def user_roles(user: User) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(
            user=user, is_active=True, organisation__is_active=True
        ).values_list("role", flat=True)
    )
