"""Navigation shown to each person: only what their role allows.

The header lists a link only when the person's roles (or effective data access) allow
it. Every entry names one URL name, which must resolve (tests/ui/test_navigation.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.http import HttpRequest
from django.urls import reverse

from accounts.access import (
    DATA_ROLES,
    EffectiveAccess,
    effective_access,
    request_access,
    user_role_kinds,
)
from accounts.audit.selectors import can_view_audit
from accounts.geography import LONDON_BOROUGHS
from accounts.mfa import session_passed_mfa
from accounts.models import Membership, User
from accounts.roles import in_programme_team, reads_monitoring_reports
from accounts.selectors import is_access_admin

Role = Membership.Role


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool
    description: str


@dataclass
class _Viewer:
    """Who is looking, with their effective access computed only if a rule asks for it
    (and then only once per request: the page being shown has usually asked already)."""

    user: User
    role_kinds: set[tuple[str, str]]
    request: HttpRequest | None = None

    @cached_property
    def roles(self) -> set[str]:
        return {role for role, _kind in self.role_kinds}

    @cached_property
    def access(self) -> EffectiveAccess:
        if self.request is not None and getattr(self.request, "user", None) == self.user:
            return request_access(self.request)
        return effective_access(self.user)


Rule = Callable[[_Viewer], bool]


@dataclass(frozen=True)
class _NavEntry:
    label: str
    url_name: str
    allowed: Rule
    description: str = ""


def _everyone(viewer: _Viewer) -> bool:
    return True


def _data_users(viewer: _Viewer) -> bool:
    # Only people whose grants currently let them see incident data (only data roles
    # ever can, so others are answered without a query).
    return bool(viewer.roles & DATA_ROLES) and viewer.access.has_data_access


def _roles(*wanted: str) -> Rule:
    def allowed(viewer: _Viewer) -> bool:
        return bool(viewer.roles.intersection(wanted))

    return allowed


def _access_admins(viewer: _Viewer) -> bool:
    # The same test the access-administration views apply, so the link never 404s;
    # the role check first spares everyone else the query.
    return Role.ACCESS_ADMIN in viewer.roles and is_access_admin(viewer.user)


def _audit_viewers(viewer: _Viewer) -> bool:
    return Role.ACCESS_ADMIN in viewer.roles and can_view_audit(viewer.user)


def _monitoring_readers(viewer: _Viewer) -> bool:
    # The same rule as the monitoring views, from the memberships already loaded.
    return reads_monitoring_reports(viewer.role_kinds)


def _members(viewer: _Viewer) -> bool:
    return bool(viewer.role_kinds)


def _agreement_managers(viewer: _Viewer) -> bool:
    return Role.DATA_MANAGER in viewer.roles or _access_admins(viewer)


def _programme_team(viewer: _Viewer) -> bool:
    # The impact dashboard's audience, by the same rule as the programme tools.
    return in_programme_team(viewer.role_kinds)


NAVIGATION: tuple[_NavEntry, ...] = (
    _NavEntry("Home", "home", _everyone),
    _NavEntry(
        "Explore",
        "incidents:explore",
        _data_users,
        "Search and filter incidents in the areas you have access to.",
    ),
    _NavEntry(
        "Dashboard",
        "incidents:dashboard",
        _data_users,
        "Trends, maps and counts for your areas.",
    ),
    _NavEntry(
        "Submissions",
        "ingest:submission_list",
        _roles(Role.LIAISON, Role.DATA_MANAGER),
        "Upload your emergency department's monthly extract and check its progress.",
    ),
    _NavEntry(
        "Geocode review",
        "geocoding:review_list",
        _roles(Role.DATA_MANAGER),
        "Confirm or correct locations the geocoder was unsure of.",
    ),
    _NavEntry(
        "Use of your data",
        "incidents:transparency",
        _roles(Role.LIAISON),
        "Which organisations viewed or downloaded your hospital's data, and why.",
    ),
    _NavEntry(
        "Monitoring reports",
        "incidents:monitoring_list",
        _monitoring_readers,
        "Monthly monitoring tables with disclosure control, by release.",
    ),
    _NavEntry(
        "Manage access",
        "accounts:index",
        _access_admins,
        "Invite people, manage organisations and grant or revoke access to data.",
    ),
    _NavEntry(
        "Audit log",
        "audit:event_list",
        _audit_viewers,
        "See who signed in, changed access or used data, and export the record.",
    ),
    _NavEntry(
        "Agreements",
        "programme:agreement_list",
        _agreement_managers,
        "The data-sharing agreements that every access grant rests on.",
    ),
    _NavEntry(
        "Case studies",
        "programme:case_study_list",
        _members,
        "What partners across London have done with the data.",
    ),
    _NavEntry(
        "Guidance",
        "programme:guidance",
        _roles(Role.LIAISON, Role.DATA_MANAGER),
        "Recording useful ISTV data in the emergency department, and your site's feedback.",
    ),
    _NavEntry(
        "Impact",
        "programme:impact",
        _programme_team,
        "Who uses the data, how, and whether coverage and quality are improving.",
    ),
    _NavEntry(
        "API tokens",
        "accounts:token_list",
        _everyone,
        "Create and revoke personal tokens for using the API.",
    ),
    _NavEntry(
        "Account security",
        "mfa_index",
        _everyone,
        "Your authenticator app, recovery codes, password and signed-in sessions.",
    ),
)


def _is_current(path: str, url: str) -> bool:
    if url == "/":
        return path == "/"
    return path.startswith(url)


def navigation_for(
    request: HttpRequest, user: User, role_kinds: set[tuple[str, str]]
) -> list[NavLink]:
    """The header links ``user`` (with these memberships) may follow, in display order."""
    viewer = _Viewer(user, role_kinds, request)
    links = []
    for entry in NAVIGATION:
        if entry.allowed(viewer):
            url = reverse(entry.url_name)
            links.append(
                NavLink(entry.label, url, _is_current(request.path, url), entry.description)
            )
    return links


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_roles": set(), "nav_links": []}
    cached = getattr(request, "_portal_navigation", None)
    if cached is None:
        if session_passed_mfa(request):
            role_kinds = user_role_kinds(user)
            roles = {role for role, _kind in role_kinds}
            cached = {
                "nav_roles": roles,
                "nav_role_labels": sorted(Role(role).label for role in roles),
                "nav_links": navigation_for(request, user, role_kinds),
                # Code -> name, so pages can show borough names for the codes in a grant.
                "london_boroughs": LONDON_BOROUGHS,
            }
        else:
            # Until the second factor is done the person can reach only MFA set-up
            # and sign-out, so the header offers nothing else.
            cached = {"nav_roles": set(), "nav_links": []}
        request._portal_navigation = cached  # type: ignore[attr-defined]
    return cached
