"""Query auditing: an access-review flag for bursts of narrow, overlapping aggregate queries.

An aggregate-level user (one to whom disclosure control applies) could try to recover
suppressed small counts by differencing: asking many narrow aggregate questions that
differ only slightly and subtracting the answers. Each of those answers is already an
audit event (``api.called``, ``data.viewed`` or ``data.downloaded`` with
``"disclosure_control": true`` in its details, written by the view that gave it). After
each one, the view calls ``check_aggregate_pattern``, which applies the rule below and,
when it matches, raises a ``QueryPatternFlag`` for the access administrator's review page
and records ``access.pattern_flagged``. It never refuses or delays the answer.

The rule (docs/audit.md, "Query patterns"), over the user's aggregate answers in the last
``AGGREGATE_PATTERN_MINUTES`` minutes (only those after their latest flag):

* the same question asked again (same dimensions, same filter) counts once;
* a question is **narrow** when it covers an assault or arrival date range of
  ``NARROW_DAYS`` days or fewer (both ends given), or a single borough, ward or LSOA,
  or groups by ``NARROW_DIMENSIONS`` or more dimensions;
* a question **overlaps** when another question in the window has the same dimensions
  and a filter that differs from it only in its date bounds, hour range, weekdays or
  areas;
* the user is flagged when there are at least ``AGGREGATE_PATTERN_QUERIES`` questions
  and at least half of them are both narrow and overlapping.

At most one flag per user is open at a time; once it is reviewed, only answers given after
it count towards the next one. Flags and their audit events hold counts only, never the
filters (a filter value could itself say something about a person or place).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import urlencode

from accounts.audit.models import Action, AuditEvent, QueryPatternFlag
from accounts.audit.services import audit_record
from accounts.models import Organisation

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger("istv.security")

NARROW_DAYS = 31
NARROW_DIMENSIONS = 2
# At least this share of the questions must be narrow and overlapping.
NARROW_OVERLAPPING_SHARE = 0.5
DATE_BOUNDS = (
    ("assault_date_from", "assault_date_to"),
    ("arrival_date_from", "arrival_date_to"),
)
AREA_FILTERS = ("borough", "ward", "lsoa")
# The filter keys two questions may differ in and still overlap: the bounds an intruder
# slides to difference (dates, hours, weekdays) and the areas.
VARYING = frozenset(
    {name for pair in DATE_BOUNDS for name in pair}
    | set(AREA_FILTERS)
    | {"hour_from", "hour_to", "weekday"}
)
# The most recent answers read per check: enough for any sensible threshold, and a bound on
# the work done per request however fast someone asks.
SCAN_LIMIT = 1000

FilterItems = tuple[tuple[str, tuple[str, ...]], ...]


def _values(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(sorted(str(v) for v in value))
    return (str(value),)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class AggregateQuestion:
    """One aggregate answer as the rule sees it: its dimensions and its filter.

    ``dimensions`` is the ``group_by`` of an API call or export; a page has fixed tables,
    so for a page it is the page (and the map's level).
    """

    dimensions: tuple[str, ...]
    group_by: tuple[str, ...]
    filter: FilterItems

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> AggregateQuestion:
        raw = details.get("filter")
        filters = dict(raw) if isinstance(raw, Mapping) else {}
        # The export records its dimensions inside the filter, the API call beside it.
        in_filter = filters.pop("group_by", None)
        group_by = details.get("group_by") or in_filter or []
        group = tuple(str(d) for d in group_by) if isinstance(group_by, list | tuple) else ()
        if group:
            dimensions = group
        else:
            level = details.get("level")
            dimensions = (str(details.get("endpoint", "")),) + (
                (f"level={level}",) if level else ()
            )
        items = tuple(sorted((str(k), _values(v)) for k, v in filters.items() if v not in ("", [])))
        return cls(dimensions=dimensions, group_by=group, filter=items)

    @property
    def shape(self) -> tuple[tuple[str, ...], FilterItems]:
        """What overlapping questions share: the dimensions and the filter apart from
        its date bounds and areas."""
        return self.dimensions, tuple(item for item in self.filter if item[0] not in VARYING)

    @property
    def narrow(self) -> bool:
        values = dict(self.filter)
        for start_name, end_name in DATE_BOUNDS:
            start = _date(values.get(start_name, ("",))[0])
            end = _date(values.get(end_name, ("",))[0])
            if start is not None and end is not None and (end - start).days + 1 <= NARROW_DAYS:
                return True
        if any(len(values.get(name, ())) == 1 for name in AREA_FILTERS):
            return True
        return len(self.group_by) >= NARROW_DIMENSIONS


@dataclass(frozen=True)
class PatternCounts:
    queries: int
    narrow_overlapping: int

    @property
    def share(self) -> float:
        return self.narrow_overlapping / self.queries if self.queries else 0.0

    def matches(self, threshold: int) -> bool:
        return self.queries >= threshold and self.share >= NARROW_OVERLAPPING_SHARE


def pattern_counts(questions: Iterable[AggregateQuestion]) -> PatternCounts:
    """How many distinct questions, and how many of them are narrow and overlapping."""
    distinct = set(questions)
    variants: dict[Any, int] = defaultdict(int)
    for question in distinct:
        variants[question.shape] += 1
    flagged = sum(1 for q in distinct if q.narrow and variants[q.shape] >= 2)
    return PatternCounts(queries=len(distinct), narrow_overlapping=flagged)


def aggregate_answers(user: User, *, since: dt.datetime) -> QuerySet[AuditEvent]:
    """``user``'s audited aggregate answers under disclosure control since ``since``.

    A streamed export writes two events (started, completed); only the first is an answer.
    Other downloads marked with disclosure control (monitoring reports) are the same file
    for everyone and are not counted.
    """
    return AuditEvent.objects.filter(
        Q(action__in=[Action.API_CALLED, Action.DATA_VIEWED])
        | Q(action=Action.DATA_DOWNLOADED, details__stage="started"),
        actor=user,
        occurred_at__gte=since,
        details__disclosure_control=True,
    )


def check_aggregate_pattern(
    user: User, *, request: HttpRequest | None = None
) -> QueryPatternFlag | None:
    """Call right after auditing an aggregate answer given under disclosure control.

    Raises and returns a flag when ``user``'s recent aggregate answers match the rule;
    otherwise ``None``. Never refuses anything: the answer has already been given.
    """
    try:
        with transaction.atomic():
            return _check(user, request)
    except IntegrityError:
        # A concurrent request of the same user raised the open flag first.
        return None


def _check(user: User, request: HttpRequest | None) -> QueryPatternFlag | None:
    latest = QueryPatternFlag.objects.filter(user=user).order_by("-raised_at").first()
    if latest is not None and latest.reviewed_at is None:
        return None  # one open flag per user
    now = timezone.now()
    window = int(settings.AGGREGATE_PATTERN_MINUTES)
    threshold = int(settings.AGGREGATE_PATTERN_QUERIES)
    since = now - dt.timedelta(minutes=window)
    if latest is not None and latest.raised_at > since:
        since = latest.raised_at  # answers already behind a flag count once
    answers = aggregate_answers(user, since=since)
    if answers.count() < threshold:  # cheap: repeats only make the distinct count smaller
        return None
    rows = list(
        answers.order_by("-id").values_list("occurred_at", "organisation_id", "details")[
            :SCAN_LIMIT
        ]
    )
    counts = pattern_counts(AggregateQuestion.from_details(details) for _, _, details in rows)
    if not counts.matches(threshold):
        return None
    # The organisation the answers were given under (the latest that names one).
    organisation_id = next((org for _, org, _ in rows if org is not None), None)
    organisation = (
        Organisation.objects.filter(pk=organisation_id).first()
        if organisation_id is not None
        else None
    )
    flag = QueryPatternFlag.objects.create(
        user=user,
        organisation=organisation,
        raised_at=now,
        first_query_at=rows[-1][0],
        last_query_at=rows[0][0],
        window_minutes=window,
        queries=counts.queries,
        narrow_overlapping=counts.narrow_overlapping,
    )
    details = {
        "queries": counts.queries,
        "narrow_overlapping": counts.narrow_overlapping,
        "share_narrow_overlapping": round(counts.share, 2),
        "window_minutes": window,
        "threshold": threshold,
    }
    audit_record(
        action=Action.QUERY_PATTERN_FLAGGED,
        actor=user,
        organisation=organisation,
        obj=flag,
        details=details,
        request=request,
    )
    logger.warning(
        "aggregate query pattern flagged for access review",
        extra={"event": Action.QUERY_PATTERN_FLAGGED.value, "user_id": user.pk, **details},
    )
    return flag


@transaction.atomic
def pattern_flag_review(
    *, actor: User, flag: QueryPatternFlag, request: HttpRequest | None = None
) -> QueryPatternFlag:
    """Mark ``flag`` reviewed by ``actor`` (an access administrator; the view checks)."""
    locked = QueryPatternFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.reviewed_at is not None:
        return locked
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = actor
    locked.save(update_fields=["reviewed_at", "reviewed_by"])
    audit_record(
        action=Action.QUERY_PATTERN_REVIEWED,
        actor=actor,
        organisation=locked.organisation,
        obj=locked,
        details={"flagged_user_id": locked.user_id, "raised_at": locked.raised_at},
        request=request,
    )
    return locked


@dataclass(frozen=True)
class FlagRow:
    flag: QueryPatternFlag
    audit_query: str


def open_flags() -> list[FlagRow]:
    """Flags not yet reviewed, newest first, each with the audit-log filter for its user."""
    flags = QueryPatternFlag.objects.filter(reviewed_at__isnull=True).select_related(
        "user", "organisation"
    )
    return [
        FlagRow(
            flag=flag,
            audit_query=urlencode(
                {
                    "person": flag.user.email,
                    "occurred_from": timezone.localdate(flag.first_query_at).isoformat(),
                    "occurred_to": timezone.localdate(flag.raised_at).isoformat(),
                }
            ),
        )
        for flag in flags.order_by("-raised_at")
    ]
