"""Role rules: which memberships open which part of the portal.

The one place for role questions. The rules on (role, organisation kind) pairs answer
from a person's active memberships as ``accounts.access.user_role_kinds`` returns them, so
a caller that already holds them asks no further query (the navigation does). The rules on
a user read the memberships once per request and keep them on the user object, like
``accounts.selectors.is_access_admin``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.models import Membership, Organisation, User
from accounts.selectors import is_access_admin

# The impact dashboard's audience: anyone at MOPAC, the VRU or the GLA.
PROGRAMME_TEAM_KINDS = frozenset(
    {Organisation.Kind.MOPAC, Organisation.Kind.VRU, Organisation.Kind.GLA}
)
# Who reads the monitoring reports: members of these organisations in a data role, and
# data managers anywhere.
MONITORING_READER_KINDS = (Organisation.Kind.MOPAC, Organisation.Kind.VRU)
MONITORING_READER_ROLES = (
    Membership.Role.ANALYST,
    Membership.Role.ORG_LEAD,
    Membership.Role.DATA_MANAGER,
)


def in_programme_team(role_kinds: Iterable[tuple[str, str]]) -> bool:
    """Any membership at MOPAC, the VRU or the GLA."""
    return any(kind in PROGRAMME_TEAM_KINDS for _role, kind in role_kinds)


def reads_monitoring_reports(role_kinds: Iterable[tuple[str, str]]) -> bool:
    """Data managers anywhere, and analysts or leads at MOPAC or the VRU."""
    return any(
        role == Membership.Role.DATA_MANAGER
        or (role in MONITORING_READER_ROLES and kind in MONITORING_READER_KINDS)
        for role, kind in role_kinds
    )


# Memberships are read once per request and kept on the user object.
_CACHE_ATTR = "_istv_membership_roles"


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
    """An active data manager membership: submissions, reference data, geocode review."""
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
