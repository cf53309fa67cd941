"""Scoped reads for submissions: the chokepoint ``submissions_visible_to``, the tracker,
whether a site may submit under its trust's data-sharing agreement, and the upload rights
listed for access administrators.

Liaisons see their own sites' submissions (the django-guardian upload right); data
managers see all; everyone else sees none. Pages and the API start here, so an
out-of-scope submission is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import get_objects_for_user

from accounts.models import DataSharingAgreement, User
from accounts.roles import is_data_manager
from hospitals.models import HospitalSite, MappingProfile, Submission
from istv_portal.periods import due_date, last_complete_month, months_ending

UPLOAD_PERMISSION = "hospitals.upload_submission"
Status = Submission.Status


def sites_uploadable_by(user: User) -> QuerySet[HospitalSite]:
    """Sites ``user`` holds the upload right on (object permissions only)."""
    if not user.is_authenticated or not user.is_active:
        return HospitalSite.objects.none()
    return get_objects_for_user(
        user, UPLOAD_PERMISSION, klass=HospitalSite, accept_global_perms=False
    ).order_by("name")


def sites_tracked_by(user: User) -> QuerySet[HospitalSite]:
    """Sites on ``user``'s tracker: all for data managers, their own for liaisons."""
    if is_data_manager(user):
        return HospitalSite.objects.order_by("name")
    return sites_uploadable_by(user)


def submissions_visible_to(user: User) -> QuerySet[Submission]:
    """The scoping chokepoint for submissions."""
    base = Submission.objects.select_related("site", "uploaded_by")
    if not user.is_authenticated or not user.is_active:
        return base.none()
    if is_data_manager(user):
        return base.all()
    return base.filter(site__in=sites_uploadable_by(user))


def submissions_for_review(user: User) -> QuerySet[Submission]:
    """Submissions waiting for a data manager's decision (none for anyone else)."""
    if not is_data_manager(user):
        return Submission.objects.none()
    return submissions_visible_to(user).filter(status=Status.READY_FOR_REVIEW)


@dataclass(frozen=True, slots=True)
class TrackerCell:
    period: date
    state: str  # "published", "received", "late", "missing", "problem", "not_due"
    submission_id: int | None = None
    status: str = ""
    scorecard_passes: bool | None = None


@dataclass(slots=True)
class TrackerRow:
    site: HospitalSite
    cells: list[TrackerCell] = field(default_factory=list)


CURRENT = (
    Status.PUBLISHED,
    Status.READY_FOR_REVIEW,
    Status.RECEIVED,
    Status.CHECKING,
    Status.PROCESSING,
    Status.MAPPING_NEEDED,
)
PROBLEM = (Status.REJECTED, Status.QUARANTINED, Status.FAILED)


def tracker_grid(user: User, months: int = 12, *, today: date | None = None) -> list[TrackerRow]:
    """Hospitals by the last ``months`` complete months: published / received / late /
    missing / problem, from each month's latest non-dry-run version."""
    today = today or timezone.localdate()
    periods = months_ending(last_complete_month(today), months)
    sites = list(sites_tracked_by(user))
    latest: dict[tuple[int, date], Submission] = {}
    for found in (
        Submission.objects.filter(site__in=sites, period__in=periods, dry_run=False)
        .exclude(status=Status.SUPERSEDED)
        .only("pk", "site_id", "period", "status", "version", "scorecard", "created_at")
        .order_by("site_id", "period", "version")
    ):
        latest[(found.site_id, found.period)] = found  # later versions overwrite earlier
    rows = []
    for site in sites:
        row = TrackerRow(site=site)
        for period in periods:
            sub = latest.get((site.pk, period))
            due = due_date(period)
            if sub is None:
                state = "missing" if today > due else "not_due"
                row.cells.append(TrackerCell(period, state))
                continue
            if sub.status in PROBLEM:
                state = "problem"
            elif sub.status == Status.PUBLISHED:
                state = "published"
            else:
                state = "received"
            if state == "received" and timezone.localdate(sub.created_at) > due:
                state = "late"
            passes = (sub.scorecard or {}).get("passes") if sub.status in CURRENT else None
            row.cells.append(TrackerCell(period, state, sub.pk, sub.status, passes))
        rows.append(row)
    return rows


# --- whether a site may submit ------------------------------------------------------------


def site_can_submit(site: HospitalSite, *, on: date | None = None) -> tuple[bool, str]:
    """Whether ``site`` may submit, and the reason to show when it may not.

    A site may submit while its trust is a provider under an agreement in force. A trust
    with no provider agreement registered at all may submit unless
    ``PROGRAMME_REQUIRE_PROVIDER_AGREEMENT`` is set (the register may still be filling).
    """
    day = on or timezone.localdate()
    if site.organisation_id is None:
        return True, ""
    agreements = list(
        DataSharingAgreement.objects.filter(providers=site.organisation_id).exclude(
            status=DataSharingAgreement.Status.DRAFT
        )
    )
    if any(a.is_active_on(day) for a in agreements):
        return True, ""
    if not agreements:
        if settings.PROGRAMME_REQUIRE_PROVIDER_AGREEMENT:
            return False, (
                f"{site.name} has no data-sharing agreement in force, so uploads are paused. "
                "Please contact the GLA data team."
            )
        return True, ""
    latest = max(agreements, key=lambda a: a.ends_on)
    if latest.status == DataSharingAgreement.Status.SUSPENDED:
        why = f"agreement {latest.reference} is suspended"
    else:
        why = f"agreement {latest.reference} ended on {latest.ends_on:%d %B %Y}"
    return False, (
        f"{site.name} cannot submit data because its data-sharing {why}. Uploads resume "
        "once the agreement is renewed; please contact the GLA data team."
    )


# --- upload rights (for access administrators) --------------------------------------------


@dataclass(frozen=True)
class SiteUploaders:
    site: HospitalSite
    uploaders: list[User]


def upload_rights() -> list[SiteUploaders]:
    """Every hospital site with the people who may upload for it (three queries)."""
    sites = list(HospitalSite.objects.select_related("organisation").order_by("name"))
    perms = UserObjectPermission.objects.filter(
        content_type=ContentType.objects.get_for_model(HospitalSite),
        permission__codename=UPLOAD_PERMISSION.split(".")[1],
    ).select_related("user")
    by_site: dict[str, list[User]] = {}
    for perm in perms:
        by_site.setdefault(str(perm.object_pk), []).append(perm.user)
    return [
        SiteUploaders(site=s, uploaders=sorted(by_site.get(str(s.pk), []), key=lambda u: u.email))
        for s in sites
    ]


def mapping_versions(site: HospitalSite) -> QuerySet[MappingProfile]:
    """Every confirmed mapping version of ``site``, newest (the current one) first. The
    caller has already checked the person may see the site's submissions."""
    return (
        MappingProfile.objects.filter(site=site).select_related("confirmed_by").order_by("-version")
    )


def hospital_site_get(*, pk: int) -> HospitalSite:
    site = HospitalSite.objects.select_related("organisation").filter(pk=pk).first()
    if site is None:
        raise Http404
    return site
