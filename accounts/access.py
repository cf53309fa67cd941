"""A user's effective access: the one place later code asks what someone may see.

Users inherit their organisations' active grants; a membership can narrow (never widen)
what its organisation's grants allow.

Incidents with no mappable place (home, vague, unknown, abroad, outside London, a chain
without a place) have no borough. They are scoped by the borough of the ED that treated
them instead: a pan-London grant covers them at every ED (``ALL_EDS``); a borough grant
covers them at EDs sited in its boroughs only when its ``include_unlocated`` option is on.
The ``unlocated*`` sets below hold those ED boroughs, per right, exactly as the borough
sets do for placed incidents; :meth:`EffectiveAccess.allows` answers for one row.

Grants are combined *per borough*, never dimension by dimension across boroughs: a
record-level grant for Southwark plus an aggregate pan-London grant gives record level in
Southwark and aggregate elsewhere, not record level everywhere. Scoping code should ask
the per-borough sets (``record_boroughs``, ``download_boroughs``, ``free_text_boroughs``,
``precision_for``). The summary flags (``record_level``, ``download_allowed``,
``free_text_visible``, ``location_precision``) are deliberately conservative: each is
true only when it holds in *every* borough the user can see, so code that reads only
the flags can under-serve a user but never over-serve one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone

from accounts.agreements import inactive_agreement_references_qs
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, Membership, User

_PRECISION_ORDER: list[str] = [
    AccessGrant.Precision.LSOA,
    AccessGrant.Precision.SNAPPED,
    AccessGrant.Precision.EXACT,
]
# Roles that read incident data. Liaisons upload (a per-site guardian permission) and
# access administrators manage people; neither reads data through their membership.
# In the ``unlocated*`` sets: unlocated incidents treated at every ED, wherever it is sited.
ALL_EDS = "*"
# The rights a grant gives, each decided per borough (and, for unlocated incidents, per
# borough of the treating ED): see EffectiveAccess.allows.
RIGHTS = ("view", "record", "download", "download_counts", "free_text")
DATA_ROLES = frozenset(
    {Membership.Role.ANALYST, Membership.Role.ORG_LEAD, Membership.Role.DATA_MANAGER}
)


@dataclass(frozen=True)
class EffectiveAccess:
    """What one user may see of the incident data on one day."""

    boroughs: frozenset[str] = field(default_factory=frozenset)
    record_boroughs: frozenset[str] = field(default_factory=frozenset)
    download_boroughs: frozenset[str] = field(default_factory=frozenset)
    free_text_boroughs: frozenset[str] = field(default_factory=frozenset)
    # (borough, precision) pairs for record-level boroughs: the most precise location any
    # active grant allows there. Aggregate-only boroughs never get points.
    precisions: tuple[tuple[str, str], ...] = ()
    grant_ids: tuple[int, ...] = ()
    # Unlocated incidents (no borough): the boroughs of the EDs whose unlocated incidents
    # each right covers, or ``ALL_EDS`` for every ED (pan-London grants).
    unlocated: frozenset[str] = field(default_factory=frozenset)
    unlocated_record: frozenset[str] = field(default_factory=frozenset)
    unlocated_download: frozenset[str] = field(default_factory=frozenset)
    unlocated_free_text: frozenset[str] = field(default_factory=frozenset)

    def scope(self, right: str = "view") -> tuple[frozenset[str], frozenset[str]]:
        """(boroughs, ED boroughs of unlocated incidents) that ``right`` covers."""
        if right == "view":
            return self.boroughs, self.unlocated
        if right == "record":
            return self.record_boroughs, self.unlocated_record
        if right == "download":
            # Downloads of rows need record level as well as the download right.
            return (
                self.record_boroughs & self.download_boroughs,
                _ed_intersection(self.unlocated_record, self.unlocated_download),
            )
        if right == "download_counts":
            # Downloads of counts: the download right at any level.
            return self.download_boroughs, self.unlocated_download
        if right == "free_text":
            return self.free_text_boroughs, self.unlocated_free_text
        raise ValueError(f"unknown right {right!r}; choose from {', '.join(RIGHTS)}")

    def allows(self, right: str, borough: str, ed_borough: str) -> bool:
        """Whether ``right`` covers one incident: placed in ``borough`` (empty when it has
        no mappable place) and treated at an ED sited in ``ed_borough``."""
        boroughs, unlocated = self.scope(right)
        if borough:
            return borough in boroughs
        return ALL_EDS in unlocated or ed_borough in unlocated

    @property
    def has_data_access(self) -> bool:
        return bool(self.boroughs)

    @property
    def pan_london(self) -> bool:
        return self.boroughs == frozenset(LONDON_BOROUGHS)

    @property
    def record_level(self) -> bool:
        """Record level in every visible borough, and for every visible unlocated incident."""
        return (
            self.has_data_access
            and self.record_boroughs == self.boroughs
            and _ed_covers(self.unlocated_record, self.unlocated)
        )

    @property
    def any_record_level(self) -> bool:
        return bool(self.record_boroughs)

    @property
    def download_allowed(self) -> bool:
        """Downloads allowed in every visible borough (and for every unlocated incident)."""
        return (
            self.has_data_access
            and self.download_boroughs == self.boroughs
            and _ed_covers(self.unlocated_download, self.unlocated)
        )

    @property
    def free_text_visible(self) -> bool:
        """Free-text locations visible in every visible borough (and unlocated incident)."""
        return (
            self.has_data_access
            and self.free_text_boroughs == self.boroughs
            and _ed_covers(self.unlocated_free_text, self.unlocated)
        )

    @property
    def location_precision(self) -> str:
        """The coarsest precision over the visible boroughs (LSOA where aggregate only)."""
        if not self.record_level:
            return AccessGrant.Precision.LSOA
        return min((p for _, p in self.precisions), key=_PRECISION_ORDER.index)

    @property
    def level(self) -> str:
        if not self.has_data_access:
            return "none"
        if self.record_level:
            return AccessGrant.Level.RECORD
        if self.record_boroughs:
            return "mixed"
        return AccessGrant.Level.AGGREGATE

    def level_for(self, borough: str) -> str:
        if borough in self.record_boroughs:
            return AccessGrant.Level.RECORD
        if borough in self.boroughs:
            return AccessGrant.Level.AGGREGATE
        return "none"

    def precision_for(self, borough: str) -> str | None:
        """Location precision in ``borough`` at record level; ``None`` if not record level."""
        return dict(self.precisions).get(borough)

    @property
    def sees_unlocated(self) -> bool:
        return bool(self.unlocated)

    def summary(self) -> str:
        """A short plain-English description, for access reviews and the home page."""
        if not self.has_data_access:
            return "No access to incident data"
        where = "all of London" if self.pan_london else _borough_names(self.boroughs)
        if ALL_EDS not in self.unlocated and self.unlocated:
            where += ", with unlocated incidents at EDs in " + _borough_names(self.unlocated)
        if self.record_level:
            level = "Record level"
        elif self.record_boroughs:
            level = f"Record level in {_borough_names(self.record_boroughs)}, aggregate"
        else:
            level = "Aggregate only"
        extras = []
        if self.download_boroughs:
            extras.append("downloads" if self.download_allowed else "some downloads")
        if self.free_text_boroughs:
            extras.append("free text" if self.free_text_visible else "some free text")
        tail = f" ({', '.join(extras)})" if extras else ""
        return f"{level}: {where}{tail}"


NO_ACCESS = EffectiveAccess()


def _ed_covers(outer: frozenset[str], inner: frozenset[str]) -> bool:
    """Whether the ``unlocated*`` set ``outer`` covers every ED that ``inner`` does."""
    if ALL_EDS in outer:
        return True
    return ALL_EDS not in inner and inner <= outer


def _ed_intersection(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    """Intersection of two ``unlocated*`` sets, where ``ALL_EDS`` stands for every ED."""
    if ALL_EDS in a:
        return b
    if ALL_EDS in b:
        return a
    return a & b


def _borough_names(codes: Iterable[str]) -> str:
    names = sorted(LONDON_BOROUGHS.get(code, code) for code in codes)
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} boroughs"


def active_grants_q(day: date) -> dict[str, object]:
    return {"revoked_at__isnull": True, "valid_from__lte": day, "valid_until__gte": day}


def _user_may_have_access(user: Any) -> bool:
    # Invited people are inactive until they accept; deactivated ones are both.
    return bool(user.is_authenticated and user.is_active and user.status != User.Status.DEACTIVATED)


def effective_access(user: User, *, on: date | None = None) -> EffectiveAccess:
    """What ``user`` may see on ``on`` (today by default). Two queries."""
    if not _user_may_have_access(user):
        return NO_ACCESS
    return effective_access_for_users([user], on=on)[user.pk]


def request_access(request: Any) -> EffectiveAccess:
    """The signed-in person's effective access, computed once per request.

    A page asks for it, its audit row asks, and the header's navigation asks again; the
    answer cannot change within one request, so it is kept on the request (for the user
    it was computed for: a sign-in or sign-out mid-request computes it afresh)."""
    user = request.user
    cached = getattr(request, "_istv_access", None)
    if cached is None or cached[0] != user.pk:
        cached = (user.pk, effective_access(user))
        request._istv_access = cached
    access: EffectiveAccess = cached[1]
    return access


def effective_access_for_users(
    users: Iterable[User], *, on: date | None = None
) -> dict[int, EffectiveAccess]:
    """Effective access for many users at once (access reviews): two queries in all."""
    day = on or timezone.localdate()
    eligible = {u.pk for u in users if _user_may_have_access(u)}
    result: dict[int, EffectiveAccess] = {u.pk: NO_ACCESS for u in users}
    if not eligible:
        return result
    memberships = list(
        Membership.objects.filter(
            user_id__in=eligible, is_active=True, organisation__is_active=True, role__in=DATA_ROLES
        )
    )
    # A grant under a data-sharing agreement that is not in force gives nothing, from the
    # day it lapses (a lazy subquery: no extra query).
    grants = (
        AccessGrant.objects.filter(
            organisation_id__in={m.organisation_id for m in memberships}, **active_grants_q(day)
        )
        .exclude(agreement_reference__in=inactive_agreement_references_qs(on=day))
        .order_by("pk")
    )
    by_org: dict[int, list[AccessGrant]] = {}
    for grant in grants:
        by_org.setdefault(grant.organisation_id, []).append(grant)
    by_user: dict[int, list[Membership]] = {}
    for membership in memberships:
        by_user.setdefault(membership.user_id, []).append(membership)
    for user_id, user_memberships in by_user.items():
        result[user_id] = _combine(user_memberships, by_org)
    return result


def _combine(
    memberships: list[Membership], by_org: dict[int, list[AccessGrant]]
) -> EffectiveAccess:
    boroughs: set[str] = set()
    record: set[str] = set()
    download: set[str] = set()
    free_text: set[str] = set()
    precision: dict[str, int] = {}
    grant_ids: set[int] = set()
    # ED boroughs whose unlocated incidents each right covers (ALL_EDS: every ED).
    unlocated: set[str] = set()
    unlocated_record: set[str] = set()
    unlocated_download: set[str] = set()
    unlocated_free_text: set[str] = set()
    for membership in memberships:
        for grant in by_org.get(membership.organisation_id, []):
            grant_boroughs = set(LONDON_BOROUGHS) if grant.pan_london else set(grant.boroughs)
            if membership.narrowed_boroughs:
                grant_boroughs &= set(membership.narrowed_boroughs)
            if not grant_boroughs:
                continue
            grant_ids.add(grant.pk)
            boroughs |= grant_boroughs
            # Unlocated incidents: every ED under a pan-London grant (unless the membership
            # narrows it to boroughs); EDs in the grant's boroughs when the grant says so.
            if grant.pan_london and not membership.narrowed_boroughs:
                eds = {ALL_EDS}
            elif grant.include_unlocated:
                eds = grant_boroughs
            else:
                eds = set()
            unlocated |= eds
            if grant.download_allowed and not membership.narrowed_no_download:
                download |= grant_boroughs
                unlocated_download |= eds
            if grant.level != AccessGrant.Level.RECORD or membership.narrowed_to_aggregate:
                continue
            record |= grant_boroughs
            unlocated_record |= eds
            if grant.free_text_visible and not membership.narrowed_no_free_text:
                free_text |= grant_boroughs
                unlocated_free_text |= eds
            rank = _PRECISION_ORDER.index(grant.location_precision)
            for code in grant_boroughs:
                precision[code] = max(precision.get(code, 0), rank)
    if not boroughs:
        return NO_ACCESS
    return EffectiveAccess(
        boroughs=frozenset(boroughs),
        record_boroughs=frozenset(record),
        download_boroughs=frozenset(download),
        free_text_boroughs=frozenset(free_text),
        precisions=tuple(sorted((code, _PRECISION_ORDER[r]) for code, r in precision.items())),
        grant_ids=tuple(sorted(grant_ids)),
        unlocated=_eds(unlocated),
        unlocated_record=_eds(unlocated_record),
        unlocated_download=_eds(unlocated_download),
        unlocated_free_text=_eds(unlocated_free_text),
    )


def _eds(codes: set[str]) -> frozenset[str]:
    """``ALL_EDS`` alone when it is present (it covers every borough too)."""
    return frozenset({ALL_EDS}) if ALL_EDS in codes else frozenset(codes)


def user_role_kinds(user: User) -> set[tuple[str, str]]:
    """(role, organisation kind) of each of ``user``'s active memberships, in one query."""
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(
            user=user, is_active=True, organisation__is_active=True
        ).values_list("role", "organisation__kind")
    )


def user_roles(user: User) -> set[str]:
    return {role for role, _kind in user_role_kinds(user)}
