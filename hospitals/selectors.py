"""Scoped reads for submissions: the chokepoint ``submissions_visible_to`` and the tracker.

Liaisons see their own sites' submissions (the django-guardian upload right); data
managers see all; everyone else sees none. Pages and the API start here, so an
out-of-scope submission is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from accounts.access import user_roles
from accounts.models import Membership, User
from hospitals.models import HospitalSite, Submission
from hospitals.scorecard import due_date
from incidents.pipeline import Period

UPLOAD_PERMISSION = "hospitals.upload_submission"
Status = Submission.Status


def sites_uploadable_by(user: User) -> QuerySet[HospitalSite]:
    """Sites ``user`` holds the upload right on (object permissions only)."""
    if not user.is_authenticated or not user.is_active:
        return HospitalSite.objects.none()
    return get_objects_for_user(
        user, UPLOAD_PERMISSION, klass=HospitalSite, accept_global_perms=False
    ).order_by("name")


def _is_data_manager(user: User) -> bool:
    return user.is_authenticated and Membership.Role.DATA_MANAGER in user_roles(user)


def sites_tracked_by(user: User) -> QuerySet[HospitalSite]:
    """Sites on ``user``'s tracker: all for data managers, their own for liaisons."""
    if _is_data_manager(user):
        return HospitalSite.objects.order_by("name")
    return sites_uploadable_by(user)


def submissions_visible_to(user: User) -> QuerySet[Submission]:
    """The scoping chokepoint for submissions."""
    base = Submission.objects.select_related("site", "uploaded_by")
    if not user.is_authenticated or not user.is_active:
        return base.none()
    if _is_data_manager(user):
        return base.all()
    return base.filter(site__in=sites_uploadable_by(user))


def submissions_for_review(user: User) -> QuerySet[Submission]:
    """Submissions waiting for a data manager's decision (none for anyone else)."""
    if not _is_data_manager(user):
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


def _months_ending(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(first)
    return list(reversed(out))


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
    periods = _months_ending(today, months)
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
            due = due_date(Period(period.year, period.month))
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
