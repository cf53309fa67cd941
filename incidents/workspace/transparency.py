"""Hospital transparency: how the data each hospital shares has been used."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from accounts.audit.models import Action, AuditEvent
from accounts.audit.selectors import DOWNLOAD_COMPLETED
from accounts.models import Membership, User
from hospitals.models import HospitalSite
from istv_portal.periods import add_months, month_start

# --- hospital transparency ----------------------------------------------------------------

TRANSPARENCY_ACTIONS = (Action.DATA_VIEWED, Action.DATA_DOWNLOADED, Action.API_CALLED)
TRANSPARENCY_MONTHS = 12


def sites_for_liaison(user: User) -> QuerySet[HospitalSite]:
    """Sites whose data this liaison answers for: upload right held through a liaison role."""
    if not user.is_authenticated:
        return HospitalSite.objects.none()
    is_liaison = Membership.objects.filter(
        user=user, is_active=True, organisation__is_active=True, role=Membership.Role.LIAISON
    ).exists()
    if not is_liaison:
        return HospitalSite.objects.none()
    sites: QuerySet[HospitalSite] = get_objects_for_user(
        user, "hospitals.upload_submission", klass=HospitalSite, accept_global_perms=False
    )
    return sites.order_by("name")


@dataclass
class UseRow:
    organisation: str
    month: dt.date
    views: int
    downloads: int
    api_calls: int
    purposes: list[str]


def hospital_data_use(site: HospitalSite, *, today: dt.date | None = None) -> list[UseRow]:
    """Which organisations used ``site``'s data, per month, with the purposes they gave.

    An access counts when its audited filter named the site or named no hospital at all
    (a query over every hospital covers this one too). Only organisations are shown,
    never people; the site's own organisation's reads are included for completeness.
    """
    since = add_months(month_start(today or timezone.localdate()), -(TRANSPARENCY_MONTHS - 1))
    since_at = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    covered = (
        ~Q(details__has_key="filter")
        | ~Q(details__filter__has_key="hospital")
        | Q(details__filter__hospital__contains=[site.site_code])
        | Q(details__hospital=site.site_code)
    )
    # Calls that read no incident data (the hospital list, release metadata, saved
    # query management) are not uses of the hospital's data.
    # (``has_key`` first: a negated key lookup alone would also drop every event that has
    # no endpoint at all, as page views and downloads have none.)
    data_endpoint = ~(
        Q(details__has_key="endpoint")
        & Q(
            details__endpoint__in=[
                "hospitals",
                "releases",
                "releases/detail",
                "saved-queries",
                "saved-queries/detail",
            ]
        )
    )
    events = AuditEvent.objects.filter(
        action__in=[str(a) for a in TRANSPARENCY_ACTIONS],
        occurred_at__gte=since_at,
        organisation__isnull=False,
    ).filter(covered & data_endpoint)
    events = events.exclude(DOWNLOAD_COMPLETED)  # each download counted once
    counts = (
        events.annotate(month=TruncMonth("occurred_at"))
        .values("organisation__name", "month", "action")
        .annotate(n=Count("id"))
        .order_by("-month", "organisation__name")
    )
    rows: dict[tuple[str, dt.date], UseRow] = {}
    for item in counts:
        month = item["month"]
        month_day = month.date() if isinstance(month, dt.datetime) else month
        key = (item["organisation__name"], month_day)
        row = rows.setdefault(key, UseRow(key[0], month_day, 0, 0, 0, []))
        if item["action"] == str(Action.DATA_VIEWED):
            row.views += item["n"]
        elif item["action"] == str(Action.DATA_DOWNLOADED):
            row.downloads += item["n"]
        else:
            row.api_calls += item["n"]
    purposes = (
        events.exclude(details__purpose__isnull=True)
        .exclude(details__purpose="")
        .annotate(month=TruncMonth("occurred_at"))
        .values_list("organisation__name", "month", "details__purpose")
        .distinct()
    )
    for organisation, month, purpose in purposes:
        month_day = month.date() if isinstance(month, dt.datetime) else month
        found = rows.get((organisation, month_day))
        if found is not None and purpose and purpose not in found.purposes:
            found.purposes.append(str(purpose))
    return sorted(rows.values(), key=lambda r: (-r.month.toordinal(), r.organisation))
