"""Role rules: which memberships open which part of the portal.

The one place for role questions that more than one app asks (the navigation, the
monitoring reports, the programme tools). Each rule answers from (role, organisation
kind) pairs of a person's active memberships, as ``accounts.access.user_role_kinds``
returns them, so a caller that already holds them asks no further query.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Membership, Organisation

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
