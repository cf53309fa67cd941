"""Who may use which programme tool, answered from active memberships.

Cached per request on the user object, like ``accounts.selectors.is_access_admin``.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Membership, User
from accounts.roles import PROGRAMME_TEAM_KINDS, in_programme_team
from accounts.selectors import is_access_admin

__all__ = [
    "PROGRAMME_TEAM_KINDS",
    "case_study_author_organisations",
    "is_data_manager",
    "is_member",
    "is_programme_team",
    "may_manage_agreements",
]
_CACHE_ATTR = "_istv_programme_roles"


def _memberships(user: Any) -> list[tuple[str, str, int]]:
    """(role, organisation kind, organisation id) of the user's active memberships."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return []
    if getattr(user, "status", None) == User.Status.DEACTIVATED:
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(
            Membership.objects.filter(
                user=user, is_active=True, organisation__is_active=True
            ).values_list("role", "organisation__kind", "organisation_id")
        )
        setattr(user, _CACHE_ATTR, cached)
    return list(cached)


def is_member(user: Any) -> bool:
    """Any active membership: enough to read release notes, guidance and case studies."""
    return bool(_memberships(user))


def is_data_manager(user: Any) -> bool:
    return any(role == Membership.Role.DATA_MANAGER for role, _, _ in _memberships(user))


def may_manage_agreements(user: Any) -> bool:
    """Access administrators and data managers maintain the agreement register."""
    return is_access_admin(user) or is_data_manager(user)


def case_study_author_organisations(user: Any) -> set[int]:
    """Organisations in which the user may write case studies (data manager or lead)."""
    roles = {Membership.Role.DATA_MANAGER, Membership.Role.ORG_LEAD}
    return {org_id for role, _, org_id in _memberships(user) if role in roles}


def is_programme_team(user: Any) -> bool:
    """Any membership at MOPAC, the VRU or the GLA: the impact dashboard's audience."""
    return in_programme_team((role, kind) for role, kind, _ in _memberships(user))
