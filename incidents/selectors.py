"""The one door to incident data, and the scoped reads built on it.

Every read of incident rows for a person (pages, API, exports, aggregates, saved queries)
starts from :func:`visible_to` with the :class:`Purpose` it serves. The few reads that are
deliberately London-wide stand beside it as named selectors (:func:`monitoring_incidents`,
:func:`impact_incidents`, :func:`hospital_feedback_incidents`), each saying why it is
London-wide and what disclosure control applies. Apart from this module, only the
submission journey's loader (``ingest.loader``) touches ``Incident.objects``; an
architecture test keeps it so.

Scope has three parts, decided here and nowhere else:

* **what is published**: submissions whose status is ``published``, or, when a release
  is pinned, exactly the submissions that release was cut from (so its numbers can be
  reproduced after later corrections);
* **where**: the boroughs of the user's effective access (``accounts.access``), and for
  incidents without a mappable place, the rule below;
* **purpose**: what the rows are for decides which right they need. ``Purpose.RECORDS``
  (the incidents list, a record page) needs *record-level* access; ``Purpose.COUNTS``
  (aggregates on pages and the API) needs any access and the caller applies disclosure
  control (incidents/aggregates.py); ``Purpose.DOWNLOAD_RECORDS`` needs record level and
  the download right; ``Purpose.DOWNLOAD_COUNTS`` the download right at any level.

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

Counts may come from the incident rollups instead of the rows (incidents/rollup.py):
:func:`counts_visible_to` reads their cells through the same scope condition and the same
publication and release rule as :func:`visible_to`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

from django.db.models import Max, Min, Q, QuerySet

from accounts.access import ALL_EDS, EffectiveAccess, effective_access
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.models import CountCell, Incident, Release, SavedQuery

_Row = TypeVar("_Row", Incident, CountCell)


class Purpose(StrEnum):
    """What a read of incident rows is for; each needs its own right (``accounts.access``)."""

    COUNTS = "counts"  # aggregate counts shown on a page or the API: disclosure-controlled
    RECORDS = "records"  # record lists and pages: record-level access
    DOWNLOAD_RECORDS = "download_records"  # record exports: record level and download
    DOWNLOAD_COUNTS = "download_counts"  # aggregate exports: the download right, any level

    @property
    def right(self) -> str:
        """The right in ``EffectiveAccess`` this purpose needs."""
        return _RIGHTS[self]


_RIGHTS = {
    Purpose.COUNTS: "view",
    Purpose.RECORDS: "record",
    Purpose.DOWNLOAD_RECORDS: "download",
    Purpose.DOWNLOAD_COUNTS: "download_counts",
}


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
    purpose: Purpose,
    release: Release | None = None,
    access: EffectiveAccess | None = None,
) -> QuerySet[Incident]:
    """Incidents ``user`` may use for ``purpose``: published (or pinned to ``release``),
    where the purpose's right reaches.

    ``access`` may be passed when the caller has already computed it (saves two queries);
    it must be ``effective_access(user)``.
    """
    if access is None:
        access = effective_access(user)
    condition = scope_q(access, Purpose(purpose).right)
    if condition is None:
        return Incident.objects.none()
    return _published(Incident.objects.filter(condition), release)


def _published(queryset: QuerySet[_Row], release: Release | None) -> QuerySet[_Row]:
    """Incident rows or rollup cells of published submissions, or of exactly the
    submissions ``release`` was cut from."""
    if release is None:
        return queryset.filter(submission__status=Submission.Status.PUBLISHED)
    # A subquery, not a join: the release's submission ids are few, and PostgreSQL
    # turns this into a hash semi-join on the indexed submission column.
    return queryset.filter(
        submission_id__in=release.submissions.through.objects.filter(release_id=release.pk).values(
            "submission_id"
        )
    )


def counts_visible_to(
    user: User,
    *,
    purpose: Purpose,
    model: type[CountCell],
    release: Release | None = None,
    access: EffectiveAccess | None = None,
) -> QuerySet[CountCell]:
    """The rollup cells (``model``: ``IncidentCount`` or ``IncidentMonthCount``) of
    exactly the rows :func:`visible_to` gives ``user`` for ``purpose``.

    The same scope condition (:func:`scope_q`: boroughs, unlocated incidents by their
    ED's borough, nothing awaiting geocoding) and the same publication and release rule,
    applied to cells whose columns carry the incident's names. Each cell holds rows of one
    submission, site, borough, class and geocode status, so every row of a cell is in or
    out together and the cells' sums are the rows' counts (incidents/rollup.py).
    """
    if access is None:
        access = effective_access(user)
    condition = scope_q(access, Purpose(purpose).right)
    if condition is None:
        return model._default_manager.none()
    return _published(model._default_manager.filter(condition), release)


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


def no_incidents() -> QuerySet[Incident]:
    """An empty set of incidents: the answer for a person with no access, or a bad filter."""
    return Incident.objects.none()


def incidents_among(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    """The rows of an already scoped queryset (sliced, say) as one that can be filtered
    further. Never wider than ``queryset``: it is the subquery of its ids."""
    return Incident.objects.filter(pk__in=queryset.values("pk"))


def incident_columns_shape() -> QuerySet[Incident]:
    """The incident table with no condition, only for writing the SQL of an answer already
    known to be empty (the caller adds ``WHERE false``). Never evaluated."""
    return Incident.objects.order_by()


# --- deliberately London-wide reads ---------------------------------------------------------


def incidents_for_export_parts(ids: Sequence[int]) -> QuerySet[Incident]:
    """The rows ``ids`` (any submission, published or not), for making their kept CSV
    line parts (``incidents.csv_lines``). Not a per-user read: the parts are masked
    per user when a download picks them, through :func:`visible_to`. The bounds let
    PostgreSQL read the ids' range of the primary key rather than the whole table (the
    list alone becomes a hashed filter over a sequential scan)."""
    return Incident.objects.filter(pk__in=list(ids), pk__gte=min(ids), pk__lte=max(ids))


def monitoring_incidents(release: Release) -> QuerySet[Incident]:
    """Every incident of ``release``'s submissions, London-wide, for its monitoring report.

    Not a per-user read: the report is an aggregate output, produced once per release for
    the programme team, and its tables go through the same disclosure control as every
    aggregate answer (``incidents.monitoring`` counts with ``protect=True``), so it needs
    the release's whole data rather than one person's scope. Like every scoped read, it
    counts incidents without a mappable place (a "not located" row when grouped by
    borough) and leaves out rows still awaiting geocoding.
    """
    return Incident.objects.filter(
        submission_id__in=release.submissions.through.objects.filter(release_id=release.pk).values(
            "submission_id"
        )
    ).exclude(geocode_status=Incident.GeocodeStatus.PENDING)


def impact_incidents(months: list[dt.date]) -> QuerySet[Incident]:
    """Published incidents of these assault months, London-wide, for the programme's
    impact figures (coverage and data quality per month).

    London-wide because the figures are about the data collection itself, not about any
    place: the impact page shows per month only London totals and shares (placed, unknown
    codes), never a count by area, hospital or category, so there is no small cell to
    protect; it is shown to the programme team only.
    """
    return Incident.objects.filter(
        submission__status=Submission.Status.PUBLISHED, assault_month__in=months
    )


def hospital_feedback_incidents(first: dt.date, last: dt.date) -> QuerySet[Incident]:
    """Published incidents of assault months ``first`` to ``last``, London-wide, for the
    feedback a hospital's liaison sees on how its data compares with London's.

    The liaison sees their own hospital's rows counted (their own submission, which they
    already hold) beside London's monthly totals and shares by broad category, which
    cover thousands of incidents a month across 28 hospitals; no count below London is
    shown for any other hospital, so no further disclosure control applies.
    """
    return Incident.objects.filter(
        submission__status=Submission.Status.PUBLISHED,
        assault_month__gte=first,
        assault_month__lte=last,
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
