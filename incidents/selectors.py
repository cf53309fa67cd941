"""The scoping chokepoint for incident data, and the scoped reads built on it.

Every read of incident rows (pages, API, exports, aggregates, saved queries) starts from
:func:`visible_to`. Nothing else in the code base calls ``Incident.objects.all()``.

Scope has three parts, decided here and nowhere else:

* **what is published**: submissions whose status is ``published``, or, when a release
  is pinned, exactly the submissions that release was cut from (so its numbers can be
  reproduced after later corrections);
* **where**: the boroughs of the user's effective access (``accounts.access``), and for
  incidents without a mappable place, the rule below;
* **level**: ``records=True`` narrows to the boroughs where the user has *record-level*
  access. Callers that hand out rows (the incidents list, record exports, a record page)
  must pass it; callers that only count (aggregates) must not, and apply disclosure
  control instead (incidents/aggregates.py). ``downloads=True`` narrows further to
  where the user may also download rows.

**Incidents without a mappable place.** Every assault attendance counts, including those
at home and those whose place is vague, unknown, abroad, outside London or a chain shop
without a street. The geocoder classes them (``geo_class``) and gives them no borough.
They are scoped by the ED that treated them:

* a **pan-London** grant (record or aggregate) sees every published incident, placed or
  not;
* a **borough** grant sees the incidents placed in its boroughs; with its
  ``include_unlocated`` option on, also the unlocated incidents treated at EDs sited in
  those boroughs;
* rows still **awaiting geocoding** (``geocode_status = pending``) are in nobody's rows
  until the geocoder places or classes them; :func:`awaiting_geocode` counts them for
  the map's note instead.

The same rule applies to each right (record level, downloads, free text): the grant that
gives the right in a borough gives it for the unlocated incidents it covers
(``EffectiveAccess.allows``).

Location precision and free text are applied to the rows later, at output time, by
incidents/masking.py.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Min, Q, QuerySet

from accounts.access import ALL_EDS, EffectiveAccess, effective_access
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.models import Incident, Release, SavedQuery


def scope_q(access: EffectiveAccess, right: str = "view") -> Q | None:
    """Where ``right`` reaches, as a condition on incident rows (``None``: nowhere).

    Placed incidents by their borough; unlocated ones (no borough, geocoded or classed)
    by the borough of the ED that treated them. Pan-London users see every row that is
    not awaiting geocoding.
    """
    boroughs, eds = access.scope(right)
    if not boroughs and not eds:
        return None
    settled = ~Q(geocode_status=Incident.GeocodeStatus.PENDING)
    if ALL_EDS in eds and boroughs == frozenset(LONDON_BOROUGHS):
        return settled
    located = Q(borough_code__in=sorted(boroughs)) if boroughs else Q(pk__in=[])
    if not eds:
        return located
    unlocated = Q(borough_code="") & settled
    if ALL_EDS not in eds:
        unlocated &= Q(
            site_id__in=HospitalSite.objects.filter(borough_code__in=sorted(eds)).values("pk")
        )
    return located | unlocated


def visible_to(
    user: User,
    *,
    release: Release | None = None,
    records: bool = False,
    downloads: bool = False,
    access: EffectiveAccess | None = None,
) -> QuerySet[Incident]:
    """Incidents ``user`` may see: published (or pinned to ``release``), in their scope.

    ``records=True`` keeps only what the user sees at record level; ``downloads=True``
    only what they may download: with ``records``, rows (record level and the download
    right); without, counts (the download right at any level).
    ``access`` may be passed when the caller has already computed it (saves two queries);
    it must be ``effective_access(user)``.
    """
    if access is None:
        access = effective_access(user)
    if downloads:
        right = "download" if records else "download_counts"
    else:
        right = "record" if records else "view"
    condition = scope_q(access, right)
    if condition is None:
        return Incident.objects.none()
    queryset = Incident.objects.filter(condition)
    if release is None:
        queryset = queryset.filter(submission__status=Submission.Status.PUBLISHED)
    else:
        # A subquery, not a join: the release's submission ids are few, and PostgreSQL
        # turns this into a hash semi-join on the indexed submission column.
        queryset = queryset.filter(
            submission_id__in=release.submissions.through.objects.filter(
                release_id=release.pk
            ).values("submission_id")
        )
    return queryset


def awaiting_geocode(
    user: User, *, release: Release | None = None, access: EffectiveAccess | None = None
) -> QuerySet[Incident]:
    """Published (or ``release``-pinned) incidents still awaiting geocoding, for a user
    with some data access. Counted, never listed.

    These rows have no borough or class yet, so :func:`visible_to` never returns them.
    Only users with pan-London access may be told how many there are (with disclosure
    control where they are not record level,
    ``incidents.workspace.maps.awaiting_geocode_note``); others may only learn that the
    period they chose has some.
    """
    if access is None:
        access = effective_access(user)
    if not access.has_data_access:
        return Incident.objects.none()
    queryset = Incident.objects.filter(geocode_status=Incident.GeocodeStatus.PENDING)
    if release is None:
        return queryset.filter(submission__status=Submission.Status.PUBLISHED)
    return queryset.filter(
        submission_id__in=release.submissions.through.objects.filter(release_id=release.pk).values(
            "submission_id"
        )
    )


def months_on_record() -> tuple[dt.date | None, dt.date | None]:
    """The first and last assault months in the whole table, whoever asks.

    Deliberately London-wide and unscoped: it is the extent of the time axis every
    protected answer's grid spans (incidents/aggregates.py), which must not depend on the
    rows a question selects. It says nothing about any group. Two index end points.
    """
    extent = Incident.objects.aggregate(first=Min("assault_month"), last=Max("assault_month"))
    return extent["first"], extent["last"]


def releases_visible_to(user: User, *, access: EffectiveAccess | None = None) -> QuerySet[Release]:
    """Releases are catalogue metadata: visible to anyone with some data access."""
    if access is None:
        access = effective_access(user)
    if not access.has_data_access:
        return Release.objects.none()
    return Release.objects.all()


def hospitals_visible_to(
    user: User, *, access: EffectiveAccess | None = None
) -> QuerySet[HospitalSite]:
    """Hospital sites (public reference data: ODS codes and names) for data users."""
    if access is None:
        access = effective_access(user)
    if not access.has_data_access:
        return HospitalSite.objects.none()
    return HospitalSite.objects.all()


def saved_queries_visible_to(user: User) -> QuerySet[SavedQuery]:
    """The user's own saved queries and those shared with an organisation they belong to.

    Opening one re-applies its filter for the *viewer's* access, so sharing never widens
    what anyone sees.
    """
    if not user.is_authenticated:
        return SavedQuery.objects.none()
    org_ids = user.memberships.filter(is_active=True, organisation__is_active=True).values(
        "organisation_id"
    )
    return SavedQuery.objects.filter(
        Q(owner=user) | Q(shared_with_organisation=True, organisation_id__in=org_ids)
    ).select_related("release", "owner", "organisation")
