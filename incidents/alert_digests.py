"""Alerts on saved queries: subscribing, stopping, and each release's e-mail digests
(docs/alerts.md).

After a release is cut, every active subscription's saved query is counted by month for
its *subscriber*, as their access is at that moment, through the one filter set pinned to
the release; the newest complete month of the release is compared with the expectation
from the query's own history (``incidents.alerts``). A user whose queries moved gets one
e-mail for the release, never more: the ``AlertDigest`` row is written (and audited)
before the e-mail goes, under a unique constraint on user and release.

A subscriber who gets disclosure control is counted through the cell-key method like on
their trends page, and the rule is decided on those published figures: a hidden month
never alerts, and an alert tells them nothing their own pages would not.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.access import EffectiveAccess, effective_access
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from incidents.aggregates import AggregateTimeout, GroupByError, filter_set_counts, needs_protection
from incidents.alerts import EARLIER_YEARS, TREND_MONTHS, exceedance_p, expectation, is_alert
from incidents.completeness import month_coverage
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    cell_key_note,
    incidents_phrase,
)
from incidents.filters import IncidentFilterSet
from incidents.models import AlertDigest, AlertRun, AlertSubscription, Release, SavedQuery
from incidents.selectors import Purpose, saved_queries_visible_to
from incidents.services import data_organisation
from istv_portal.periods import Period, add_months, months_between
from istv_portal.queue import send_by_name

logger = logging.getLogger(__name__)

SEND_RELEASE_ALERTS_TASK = "incidents.tasks.send_release_alerts"
# The nightly catch-up works out releases cut in the last few days only: digests about
# long-past releases would be news to nobody.
CATCH_UP_DAYS = 7
# Months of history before the compared month: three earlier years and the trend months
# before the earliest of them.
HISTORY_MONTHS = 12 * EARLIER_YEARS + TREND_MONTHS
# The saved query's own period (and release) give way to the months the rule needs.
REPLACED_PARAMETERS = (
    "assault_date_from",
    "assault_date_to",
    "arrival_date_from",
    "arrival_date_to",
    "release",
)
MAX_STOP_TOKENS = 50


# --- subscribing and stopping ----------------------------------------------------------


def subscriptions_of(user: User) -> QuerySet[AlertSubscription]:
    """The user's active subscriptions, newest first."""
    return AlertSubscription.objects.filter(user=user, stopped_at__isnull=True).select_related(
        "saved_query", "saved_query__release"
    )


def alert_subscribe(
    *, actor: User, saved_query: SavedQuery, request: HttpRequest | None = None
) -> AlertSubscription:
    """Start alerts on a saved query ``actor`` can open (the caller checked it); asking
    twice keeps the one active subscription."""
    existing = subscriptions_of(actor).filter(saved_query=saved_query).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            subscription = AlertSubscription.objects.create(user=actor, saved_query=saved_query)
            audit_record(
                action=Action.ALERT_SUBSCRIBED,
                actor=actor,
                organisation=data_organisation(actor),
                obj=subscription,
                details={"saved_query": saved_query.pk},
                request=request,
            )
    except IntegrityError:  # subscribed at the same moment in another request
        return subscriptions_of(actor).get(saved_query=saved_query)
    return subscription


@transaction.atomic
def alert_stop(
    *,
    subscription: AlertSubscription,
    actor: User | None,
    via: str,
    request: HttpRequest | None = None,
) -> bool:
    """Stop one subscription; False when it was already stopped (nothing changes).
    ``via`` says how: "page" (signed in) or "link" (the e-mail's one-click link)."""
    locked = AlertSubscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.stopped_at is not None:
        return False
    locked.stopped_at = timezone.now()
    locked.save(update_fields=["stopped_at"])
    audit_record(
        action=Action.ALERT_STOPPED,
        actor=actor,
        obj=locked,
        details={"saved_query": locked.saved_query_id, "via": via},
        request=request,
    )
    return True


def subscriptions_by_tokens(tokens: Sequence[str]) -> list[AlertSubscription]:
    """The subscriptions a stop link names (stopped ones too, so a link stays valid)."""
    wanted = [t for t in dict.fromkeys(tokens) if t][:MAX_STOP_TOKENS]
    if not wanted:
        return []
    return list(AlertSubscription.objects.filter(token__in=wanted).order_by("pk"))


# --- which month, and its history -------------------------------------------------------


def _release_day(release: Release) -> dt.date:
    return timezone.localtime(release.created_at).date()


def newest_complete_month(release: Release) -> dt.date | None:
    """The latest month of the release's files that had ended when it was cut and for
    which every expected hospital's file is in it (incidents/completeness.py)."""
    periods = sorted(set(release.submissions.values_list("period", flat=True)), reverse=True)
    coverage = month_coverage(periods, today=_release_day(release), release=release)
    return next((month for month in periods if coverage[month].complete), None)


def complete_months(release: Release, first: dt.date, last: dt.date) -> set[dt.date]:
    """The months from ``first`` to ``last`` whose data is complete in the release: only
    they can serve as history (a partial month would pull the expectation down)."""
    coverage = month_coverage(
        months_between(first, last), today=_release_day(release), release=release
    )
    return {month for month, state in coverage.items() if state.complete}


def alert_params(
    saved_params: Mapping[str, Any], release: Release, month: dt.date
) -> dict[str, list[str]]:
    """The saved filter over the months the rule needs, pinned to ``release``."""
    params: dict[str, list[str]] = {}
    for name, value in saved_params.items():
        if name not in REPLACED_PARAMETERS:
            params[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    params["assault_date_from"] = [add_months(month, -HISTORY_MONTHS).isoformat()]
    params["assault_date_to"] = [Period.of(month).end.isoformat()]
    params["release"] = [str(release.number)]
    return params


def month_counts(
    user: User, access: EffectiveAccess, params: Mapping[str, list[str]]
) -> dict[dt.date, Published] | None:
    """The query's counts by month for ``user``, as their pages would show them
    (published through the cell-key method when they get disclosure control); None when
    the filter is not valid for them or the grouping is refused."""
    fs = IncidentFilterSet(params, user=user, access=access, purpose=Purpose.COUNTS)
    if not fs.is_valid():
        return None
    try:
        result = filter_set_counts(fs, ["month"])
    except (GroupByError, AggregateTimeout):
        return None
    return {
        dt.date.fromisoformat(f"{row['month']}-01"): row["count"]
        for row in result.results
        if row.get("month")
    }


# --- the decision for one query ---------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    """A saved query whose month came out above its expectation."""

    observed: Published
    expected: Published
    p_value: float


def hidden_as(policy: DisclosurePolicy) -> float:
    """A hidden ("*") month of history counts as the middle of the range it stands for."""
    return policy.suppress_max / 2


def shown_expected(expected: float, policy: DisclosurePolicy | None) -> Published:
    """The expected count as the subscriber may see it: a whole number, or for a user
    under disclosure control rounded like a published cell ("*" when it would be hidden)."""
    value = round(expected)
    if policy is None:
        return value
    if value <= policy.suppress_max:
        return SUPPRESSED
    return policy.round_shown(value)


def evaluate(
    counts: Mapping[dt.date, Published],
    month: dt.date,
    complete: set[dt.date],
    *,
    policy: DisclosurePolicy | None,
    p_value: float,
    min_observed: int,
) -> Moved | None:
    """Apply the rule to one query's monthly counts (published ones when ``policy`` is
    given); a month with no row is a 0, a hidden month never alerts."""
    observed = counts.get(month, 0)
    if observed == SUPPRESSED or not isinstance(observed, int):
        return None
    history: dict[dt.date, float] = {}
    for past in complete:
        if past >= month:
            continue
        value = counts.get(past, 0)
        history[past] = hidden_as(policy) if value == SUPPRESSED and policy else float(value or 0)
    expect = expectation(history, month)
    if expect is None:
        return None
    if not is_alert(observed, expect.expected, p_value=p_value, min_observed=min_observed):
        return None
    return Moved(
        observed=observed,
        expected=shown_expected(expect.expected, policy),
        p_value=exceedance_p(observed, expect.expected),
    )


# --- the digest of one release ----------------------------------------------------------


@dataclass(frozen=True)
class DigestLine:
    """One query that moved, as the e-mail lists it (counts only: no incident data)."""

    name: str
    month: dt.date
    observed: str
    expected: str
    trend_url: str
    stop_url: str


def absolute(path: str) -> str:
    """A link for an e-mail: the portal's address (``PORTAL_BASE_URL``) and ``path``."""
    return f"{str(settings.PORTAL_BASE_URL).rstrip('/')}{path}"


def stop_url(tokens: Sequence[str]) -> str:
    """The one-click stop link of ``tokens``' subscriptions (no sign-in needed)."""
    query = urlencode([("token", token) for token in tokens])
    return absolute(f"{reverse('incidents:alert_stop_link')}?{query}")


def trend_url(params: Mapping[str, list[str]]) -> str:
    """The charts tab (the query's trend) with the filter as the alert counted it."""
    items = [(name, value) for name, values in sorted(params.items()) for value in values]
    return absolute(f"{reverse('incidents:charts')}?{urlencode(items)}")


def _digest_lines(
    user: User,
    access: EffectiveAccess,
    subscriptions: Sequence[AlertSubscription],
    release: Release,
    month: dt.date,
    complete: set[dt.date],
) -> list[tuple[AlertSubscription, DigestLine]]:
    policy = DisclosurePolicy.from_settings() if needs_protection(access) else None
    visible = set(
        saved_queries_visible_to(user)
        .filter(pk__in=[s.saved_query_id for s in subscriptions])
        .values_list("pk", flat=True)
    )
    lines = []
    for subscription in subscriptions:
        if subscription.saved_query_id not in visible or subscription.last_alerted_month == month:
            continue  # no longer theirs to open, or this month's move already reported
        params = alert_params(subscription.saved_query.params, release, month)
        counts = month_counts(user, access, params)
        if counts is None:
            continue
        moved = evaluate(
            counts,
            month,
            complete,
            policy=policy,
            p_value=settings.ALERT_P_VALUE,
            min_observed=settings.ALERT_MIN_OBSERVED,
        )
        if moved is None:
            continue
        line = DigestLine(
            name=subscription.saved_query.name,
            month=month,
            observed=incidents_phrase(moved.observed, policy),
            expected=incidents_phrase(moved.expected, policy),
            trend_url=trend_url(params),
            stop_url=stop_url([subscription.token]),
        )
        lines.append((subscription, line))
    return lines


def user_digest(
    user: User,
    subscriptions: Sequence[AlertSubscription],
    release: Release,
    month: dt.date,
    complete: set[dt.date],
) -> bool:
    """Work out and send one user's digest for ``release``; True when an e-mail went.

    Nothing for a user without data access now (revoked or expired grant, inactive
    account) or without an e-mail address, and nothing a second time for a release."""
    if AlertDigest.objects.filter(user=user, release=release).exists():
        return False
    access = effective_access(user)
    if not user.is_active or not user.email or not access.has_data_access:
        return False
    lines = _digest_lines(user, access, subscriptions, release, month, complete)
    try:
        with transaction.atomic():
            digest = AlertDigest.objects.create(
                user=user,
                release=release,
                alerts_fired=len(lines),
                sent_at=timezone.now() if lines else None,
            )
            if not lines:
                return False
            AlertSubscription.objects.filter(pk__in=[s.pk for s, _ in lines]).update(
                last_alerted_month=month
            )
            audit_record(
                action=Action.ALERT_SENT,
                actor=None,
                organisation=data_organisation(user),
                obj=digest,
                details={
                    "subscriptions": len(subscriptions),
                    "alerts": len(lines),
                    "release": release.number,
                },
            )
    except IntegrityError:  # another worker wrote this user's digest first
        return False
    # After the digest row is committed: a failure here loses this e-mail, never repeats it.
    try:
        _send(user, release, month, [line for _, line in lines], subscriptions, access)
    except Exception:
        logger.warning("could not e-mail alert digest %s", digest.pk, exc_info=True)
    return True


def _send(
    user: User,
    release: Release,
    month: dt.date,
    lines: Sequence[DigestLine],
    subscriptions: Sequence[AlertSubscription],
    access: EffectiveAccess,
) -> None:
    protected = needs_protection(access)
    body = render_to_string(
        "incidents/email/alert_digest.txt",
        {
            "lines": lines,
            "release": release,
            "month": month,
            "protected": protected,
            "note": cell_key_note(DisclosurePolicy.from_settings()) if protected else "",
            "alerts_url": absolute(reverse("incidents:alert_list")),
            "one_in": round(1 / float(settings.ALERT_P_VALUE)),
        },
    )
    stop_all = stop_url([s.token for s in subscriptions])
    subject = (
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}"
        f"{'A saved query' if len(lines) == 1 else f'{len(lines)} saved queries'} "
        f"moved in {month:%B %Y}"
    )
    EmailMessage(
        subject,
        body,
        None,
        [user.email],
        headers={
            "List-Unsubscribe": f"<{stop_all}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    ).send(fail_silently=False)


def release_alerts_send(*, release_id: int) -> int | None:
    """Work out the alerts of one release and send the digests; the number sent (None
    for an unknown release). Safe to run again: users with a digest are skipped."""
    release = Release.objects.filter(pk=release_id).first()
    if release is None:
        return None
    try:
        with transaction.atomic():
            run, _ = AlertRun.objects.get_or_create(release=release)
    except IntegrityError:
        run = AlertRun.objects.get(release=release)
    month = newest_complete_month(release)
    sent = 0
    if month is not None:
        complete = complete_months(release, add_months(month, -HISTORY_MONTHS), month)
        by_user: dict[int, list[AlertSubscription]] = {}
        active = (
            AlertSubscription.objects.filter(stopped_at__isnull=True)
            .select_related("saved_query", "user")
            .order_by("user_id", "pk")
        )
        for subscription in active:
            by_user.setdefault(subscription.user_id, []).append(subscription)
        for subscriptions in by_user.values():
            if user_digest(subscriptions[0].user, subscriptions, release, month, complete):
                sent += 1
    AlertRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), month=month, digests_sent=F("digests_sent") + sent
    )
    return sent


def releases_awaiting_alerts() -> list[int]:
    """Releases cut in the last ``CATCH_UP_DAYS`` days whose alerts are not worked out."""
    done = AlertRun.objects.filter(finished_at__isnull=False).values("release_id")
    return list(
        Release.objects.filter(created_at__gte=timezone.now() - timedelta(days=CATCH_UP_DAYS))
        .exclude(pk__in=done)
        .order_by("number")
        .values_list("pk", flat=True)
    )


def release_alerts_enqueue(release_id: int) -> bool:
    """Send the alert task for a new release (after its commit). If the broker is down
    the nightly catch-up sends it: cutting a release never fails for want of alerts.

    Sent by name: the task module calls these services, so they never import it back."""
    return send_by_name(
        SEND_RELEASE_ALERTS_TASK, (release_id,), waiting=f"alerts of release {release_id} wait"
    )
