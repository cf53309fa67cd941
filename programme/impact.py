"""The impact and usage dashboard: who used the data, how, and is it getting better.

Usage comes from the audit log, aggregated by organisation and month in PostgreSQL (a
handful of GROUP BY queries over indexed columns, never a row per event in Python);
people are counted, never named. Coverage and quality come from submissions and
incidents. ``benchmarks/impact.py`` times :func:`usage_by_organisation` against a naive
Python aggregation over a year of events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from accounts.audit.selectors import DOWNLOAD_COMPLETED
from accounts.models import Membership, Organisation
from hospitals.models import HospitalSite, Submission
from hospitals.selectors import CURRENT, PROBLEM
from incidents.models import SavedQuery
from incidents.selectors import impact_incidents
from istv_portal.periods import add_months, due_date, is_overdue, months_ending
from programme.models import CaseStudy, UsageMonth, UsageMonthComputed

USAGE_METRICS = (
    ("active_users", "Active users"),
    ("data_views", "Data views"),
    ("downloads", "Downloads"),
    ("api_calls", "API calls"),
    ("shared_queries", "Saved queries shared"),
    ("case_studies", "Case studies published"),
)
METRIC_NAMES = tuple(name for name, _ in USAGE_METRICS)
NOT_KNOWN = "not_known"


def counted_usage_events() -> QuerySet[AuditEvent]:
    """The audit events the usage figures count. A download is audited twice (when it
    starts, and with its checksum when the last byte has gone); only the start counts, so
    each download is counted once."""
    return AuditEvent.objects.exclude(DOWNLOAD_COMPLETED)


def month_window(months: int, today: date | None = None) -> list[date]:
    """The first days of the last ``months`` months, ending with the current one."""
    current = (today or timezone.localdate()).replace(day=1)
    return months_ending(current, months)


def _bounds(window: list[date]) -> tuple[datetime, datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(window[0], time.min, tzinfo=tz)
    end = datetime.combine(add_months(window[-1], 1), time.min, tzinfo=tz)
    return start, end


def _month_key(value: date) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date().replace(day=1)
    return value.replace(day=1)


UsageTable = dict[tuple[int, date], dict[str, int]]


def usage_by_organisation(window: list[date]) -> UsageTable:
    """(organisation id, month) -> usage counts: closed months from the rollup, the rest
    (the current month, or any month the nightly job has not reached) computed live."""
    done = set(UsageMonthComputed.objects.filter(month__in=window).values_list("month", flat=True))
    table: UsageTable = {}
    for row in UsageMonth.objects.filter(month__in=done).values("organisation_id", "month",
                                                                *METRIC_NAMES):  # fmt: skip
        table[(row["organisation_id"], row["month"])] = {k: row[k] for k in METRIC_NAMES}
    live = [m for m in window if m not in done]
    if live:
        table.update((key, cells) for key, cells in usage_live(live).items() if key[1] in set(live))
    return table


def usage_live(window: list[date]) -> UsageTable:
    """(organisation id, month) -> usage counts from the audit log, in four queries.

    Data views, downloads and API calls are counted under the organisation the event was
    recorded for; active users are distinct people with any audited action in the month,
    counted in each organisation they are an active member of.
    """
    start, end = _bounds([window[0], window[-1]])
    table: UsageTable = defaultdict(lambda: dict.fromkeys(METRIC_NAMES, 0))
    metric_of = {
        Action.DATA_VIEWED: "data_views",
        Action.DATA_DOWNLOADED: "downloads",
        Action.API_CALLED: "api_calls",
    }
    # One pass over the events, grouped down to (organisation, person, month, action):
    # a few thousand rows for a year, from which both kinds of figure are read.
    actors: dict[date, set[int]] = defaultdict(set)
    for row in (
        counted_usage_events()
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(month=TruncMonth("occurred_at"))
        .values_list("organisation_id", "actor_id", "month", "action")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        org_id, actor_id, month_value, action, n = row
        month = _month_key(month_value)
        metric = metric_of.get(action)
        if metric is not None and org_id is not None:
            table[(org_id, month)][metric] += n
        if actor_id is not None:
            actors[month].add(actor_id)
    # A person with two roles in one organisation is one active user there.
    orgs_of: dict[int, set[int]] = defaultdict(set)
    for user_id, org_id in Membership.objects.filter(
        is_active=True, user_id__in=set().union(*actors.values())
    ).values_list("user_id", "organisation_id"):
        orgs_of[user_id].add(org_id)
    for month, people in actors.items():
        for actor_id in people:
            for org_id in orgs_of.get(actor_id, ()):
                table[(org_id, month)]["active_users"] += 1
    for shared_row in (
        SavedQuery.objects.filter(
            shared_with_organisation=True, created_at__gte=start, created_at__lt=end
        )
        .annotate(month=TruncMonth("created_at"))
        .values("organisation_id", "month")
        .annotate(n=Count("pk"))
    ):
        table[(shared_row["organisation_id"], _month_key(shared_row["month"]))][
            "shared_queries"
        ] = shared_row["n"]
    for study_row in (
        CaseStudy.objects.filter(
            status=CaseStudy.Status.PUBLISHED, published_at__gte=start, published_at__lt=end
        )
        .annotate(month=TruncMonth("published_at"))
        .values("organisation_id", "month")
        .annotate(n=Count("pk"))
    ):
        table[(study_row["organisation_id"], _month_key(study_row["month"]))]["case_studies"] = (
            study_row["n"]
        )
    return dict(table)


def usage_naive(window: list[date]) -> UsageTable:
    """The same usage figures by walking every event in Python (the benchmark baseline)."""
    start, end = _bounds(window)
    orgs_of: dict[int, set[int]] = defaultdict(set)
    for user_id, org_id in Membership.objects.filter(is_active=True).values_list(
        "user_id", "organisation_id"
    ):
        orgs_of[user_id].add(org_id)
    table: UsageTable = defaultdict(lambda: dict.fromkeys((k for k, _ in USAGE_METRICS), 0))
    actors: dict[tuple[int, date], set[int]] = defaultdict(set)
    names = {
        Action.DATA_VIEWED: "data_views",
        Action.DATA_DOWNLOADED: "downloads",
        Action.API_CALLED: "api_calls",
    }
    for event in AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).iterator(
        chunk_size=5000
    ):
        month = _month_key(event.occurred_at)
        completed = (
            event.action == Action.DATA_DOWNLOADED and event.details.get("stage") == "completed"
        )
        if event.action in names and event.organisation_id is not None and not completed:
            table[(event.organisation_id, month)][names[Action(event.action)]] += 1
        if event.actor_id is not None:
            for org_id in orgs_of.get(event.actor_id, ()):
                actors[(org_id, month)].add(event.actor_id)
    for key, people in actors.items():
        table[key]["active_users"] = len(people)
    return {k: v for k, v in table.items() if any(v.values())}


@dataclass(frozen=True)
class CoverageMonth:
    month: date
    expected: int
    received: int
    on_time: int
    geocoded_pct: float | None
    unknown_codes_pct: float | None
    # Whether the month's files are overdue yet (``istv_portal.periods``, the one rule):
    # until then a site with no file is not missing, its file is simply not due.
    overdue: bool = True

    @property
    def outstanding(self) -> int:
        """Expected sites with no file (yet) for the month."""
        return self.expected - self.received

    @property
    def missing(self) -> int:
        """Sites whose file is overdue and has not arrived; none before the due date."""
        return self.outstanding if self.overdue else 0


def submitted_site_months(window: list[date]) -> dict[tuple[int, date], datetime]:
    """(site id, month) -> when its first file arrived, for each site-month the submission
    tracker shows as received or published (``hospitals.selectors.tracker_grid``): the
    latest version, dry runs and superseded versions aside, is not rejected, quarantined
    or failed. The arrival time is the first upload of any version that was not."""
    latest: dict[tuple[int, date], str] = {}
    first: dict[tuple[int, date], datetime] = {}
    for site_id, period, status, created_at in (
        Submission.objects.filter(period__in=window, dry_run=False)
        .order_by("site_id", "period", "version")
        .values_list("site_id", "period", "status", "created_at")
    ):
        key = (site_id, period)
        if status != Submission.Status.SUPERSEDED:
            latest[key] = status  # later versions overwrite earlier
        if status not in PROBLEM and (key not in first or created_at < first[key]):
            first[key] = created_at
    return {key: first[key] for key, status in latest.items() if status in CURRENT}


def coverage_and_quality(window: list[date], today: date | None = None) -> list[CoverageMonth]:
    """Per reporting month: sites expected, received, on time; geocoding and unknown codes."""
    today = today or timezone.localdate()
    sites = list(HospitalSite.objects.values_list("pk", "valid_from", "valid_to"))
    first_upload = submitted_site_months(window)
    quality = {
        row["assault_month"]: row
        for row in impact_incidents(window)
        .values("assault_month")
        .annotate(
            total=Count("pk"),
            placed=Count("pk", filter=Q(lat__isnull=False)),
            unknown=Count("pk", filter=Q(method_code=NOT_KNOWN) | Q(location_type_code=NOT_KNOWN)),
        )
    }
    result = []
    for month in window:
        expected = [
            pk
            for pk, valid_from, valid_to in sites
            if (valid_from is None or valid_from <= month)
            and (valid_to is None or valid_to >= month)
        ]
        due = due_date(month)
        received = on_time = 0
        for pk in expected:
            uploaded = first_upload.get((pk, month))
            if uploaded is not None:
                received += 1
                on_time += timezone.localtime(uploaded).date() <= due
        q = quality.get(month)
        total = q["total"] if q else 0
        result.append(
            CoverageMonth(
                month=month,
                expected=len(expected),
                received=received,
                on_time=on_time,
                geocoded_pct=round(100 * q["placed"] / total, 1) if q and total else None,
                unknown_codes_pct=round(100 * q["unknown"] / total, 1) if q and total else None,
                overdue=is_overdue(month, today),
            )
        )
    return result


@dataclass
class OrganisationUsage:
    organisation: Organisation
    months: list[dict[str, int]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


@dataclass
class ImpactReport:
    window: list[date]
    organisations: list[OrganisationUsage]
    coverage: list[CoverageMonth]
    metrics: tuple[tuple[str, str], ...] = USAGE_METRICS


def impact_report(*, months: int = 12, today: date | None = None) -> ImpactReport:
    window = month_window(months, today)
    usage = usage_by_organisation(window)
    org_ids = {org_id for org_id, _ in usage}
    organisations = []
    zero = dict.fromkeys((k for k, _ in USAGE_METRICS), 0)
    for org in Organisation.objects.filter(pk__in=org_ids).order_by("kind", "name"):
        cells = [usage.get((org.pk, m), zero) for m in window]
        totals = {k: sum(c[k] for c in cells) for k, _ in USAGE_METRICS}
        # Active users are distinct per month; their sum over months is not a head count.
        totals["active_users"] = max((c["active_users"] for c in cells), default=0)
        organisations.append(OrganisationUsage(org, cells, totals))
    return ImpactReport(window, organisations, coverage_and_quality(window, today))


def report_csv_rows(report: ImpactReport) -> list[list[Any]]:
    """Header plus one row per organisation and month (aggregate figures only)."""
    rows: list[list[Any]] = [
        ["organisation", "organisation_kind", "month", *(k for k, _ in USAGE_METRICS)]
    ]
    for org_usage in report.organisations:
        for month, cells in zip(report.window, org_usage.months, strict=True):
            rows.append(
                [
                    org_usage.organisation.name,
                    org_usage.organisation.kind,
                    month.strftime("%Y-%m"),
                    *(cells[k] for k, _ in USAGE_METRICS),
                ]
            )
    return rows
