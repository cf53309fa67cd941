"""Alert digests end to end: the task on a real release in PostgreSQL, the e-mail in
Django's outbox, for the subscriber's access as it is when the digest is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.audit.models import Action, AuditEvent
from accounts.models import AccessGrant, User
from accounts.services import grant_revoke
from incidents.alert_digests import (
    HISTORY_MONTHS,
    alert_subscribe,
    releases_awaiting_alerts,
    shown_expected,
)
from incidents.alerts import expectation
from incidents.disclosure import DisclosurePolicy, cell_key_note, incidents_phrase
from incidents.models import AlertDigest, AlertRun, AlertSubscription, Release, SavedQuery
from incidents.tasks import alert_digests_catch_up, send_release_alerts
from tests.alerts.conftest import PORTAL, QUERY_NAME, SPIKE_COUNT, TARGET, saved_for
from tests.workspace_api.factories import SOUTHWARK

pytestmark = pytest.mark.django_db


def test_a_spike_sends_one_digest_with_counts_and_links(
    spike: Release, southwark_alert: AlertSubscription
) -> None:
    assert send_release_alerts(spike.pk) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["southwark_analyst@personas.test"]
    assert message.subject.endswith("A saved query moved in November 2025")
    body = message.body
    assert QUERY_NAME in body
    assert "November 2025: 40 incidents, where about 10 incidents were expected." in body
    # The trend link: the charts tab, absolute, with the saved filter pinned to the release.
    trend = next(line.split(": ", 1)[1] for line in body.splitlines() if "See the trend" in line)
    assert trend.startswith(f"{PORTAL}/data/explore/charts/?")
    query = parse_qs(urlsplit(trend).query)
    assert query["release"] == [str(spike.number)]
    assert query["borough"] == [SOUTHWARK] and query["method"] == ["knife"]
    assert query["assault_date_to"] == ["2025-11-30"]
    stop = f"{PORTAL}/data/alerts/stop/?token={southwark_alert.token}"
    assert stop in body
    assert message.extra_headers["List-Unsubscribe"] == f"<{stop}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Counts only: nothing from the incident rows themselves.
    assert "outside the station" not in body and "knife" not in body.replace("method=knife", "")
    digest = AlertDigest.objects.get()
    assert (digest.user_id, digest.release_id, digest.alerts_fired) == (
        southwark_alert.user_id,
        spike.pk,
        1,
    )
    assert digest.sent_at is not None
    run = AlertRun.objects.get(release=spike)
    assert run.finished_at is not None and run.digests_sent == 1


def test_running_the_task_twice_sends_no_second_digest(
    spike: Release, southwark_alert: AlertSubscription
) -> None:
    assert send_release_alerts(spike.pk) == 1
    assert send_release_alerts(spike.pk) == 0
    assert len(mail.outbox) == 1
    assert AlertDigest.objects.filter(release=spike).count() == 1
    assert AuditEvent.objects.filter(action=Action.ALERT_SENT).count() == 1


def test_a_later_release_of_the_same_month_does_not_repeat_the_alert(
    spike: Release, southwark_alert: AlertSubscription
) -> None:
    send_release_alerts(spike.pk)
    later = Release.objects.create(number=2, label="later")
    later.submissions.set(spike.submissions.all())
    assert send_release_alerts(later.pk) == 0
    assert len(mail.outbox) == 1
    assert AlertDigest.objects.get(release=later).alerts_fired == 0


def test_a_month_within_its_expectation_sends_nothing(
    steady: Release, southwark_alert: AlertSubscription
) -> None:
    assert send_release_alerts(steady.pk) == 0
    assert mail.outbox == []
    digest = AlertDigest.objects.get()
    assert digest.alerts_fired == 0 and digest.sent_at is None
    assert not AuditEvent.objects.filter(action=Action.ALERT_SENT).exists()


def test_nothing_is_sent_after_the_grant_is_revoked(
    spike: Release,
    southwark_alert: AlertSubscription,
    grant_southwark: AccessGrant,
    access_admin: User,
) -> None:
    grant_revoke(actor=access_admin, grant=grant_southwark, reason="Agreement ended")
    mail.outbox.clear()
    assert send_release_alerts(spike.pk) == 0
    assert mail.outbox == []
    assert not AlertDigest.objects.exists()


def test_nothing_is_sent_to_an_inactive_user(
    spike: Release, southwark_alert: AlertSubscription, southwark_analyst: User
) -> None:
    User.objects.filter(pk=southwark_analyst.pk).update(is_active=False)
    assert send_release_alerts(spike.pk) == 0
    assert mail.outbox == []


def test_a_query_no_longer_shared_sends_nothing(
    spike: Release, southwark_analyst: User, org_lead: User
) -> None:
    saved = saved_for(southwark_analyst, shared=True)
    alert_subscribe(actor=org_lead, saved_query=saved)
    SavedQuery.objects.filter(pk=saved.pk).update(shared_with_organisation=False)
    assert send_release_alerts(spike.pk) == 0
    assert mail.outbox == []


def test_an_aggregate_user_gets_the_published_figures(
    spike: Release, aggregate_user: User, api_as: Callable[[User], APIClient]
) -> None:
    alert_subscribe(actor=aggregate_user, saved_query=saved_for(aggregate_user))
    assert send_release_alerts(spike.pk) == 1
    body = mail.outbox[0].body
    # The month as the API (and the trends page) shows this user: cell-key published.
    answer = api_as(aggregate_user).get(
        "/api/v1/aggregates/",
        {"group_by": "month", "release": spike.number, "borough": SOUTHWARK, "method": "knife"},
    )
    assert answer.status_code == 200
    months = {r["month"]: r["count"] for r in answer.json()["results"]}
    published = months.pop("2025-11")
    assert isinstance(published, int) and published % 5 == 0
    # The expectation from the same published history (the rule itself: tests/alerts/test_rule.py).
    policy = DisclosurePolicy.from_settings()
    series = {
        dt.date.fromisoformat(f"{month}-01"): float(count)
        for month, count in months.items()
        if isinstance(count, int) and month < "2025-11"
    }
    assert len(series) == HISTORY_MONTHS  # no history month hidden at ten a month
    expect = expectation(series, TARGET)
    assert expect is not None
    expected = incidents_phrase(shown_expected(expect.expected, policy), policy)
    assert f"November 2025: {incidents_phrase(published)}, where about {expected}" in body
    assert cell_key_note(policy) in body
    if published != SPIKE_COUNT:
        assert f"{SPIKE_COUNT} incidents" not in body


def test_the_audit_row_holds_counts_only(
    spike: Release, southwark_alert: AlertSubscription
) -> None:
    send_release_alerts(spike.pk)
    event = AuditEvent.objects.get(action=Action.ALERT_SENT)
    assert event.details == {"subscriptions": 1, "alerts": 1, "release": spike.number}
    assert event.actor_id is None
    assert event.object_type == "incidents.alertdigest"


def test_the_nightly_catch_up_finds_recent_releases_not_yet_worked_out(
    spike: Release, southwark_alert: AlertSubscription
) -> None:
    old = Release.objects.create(number=2, label="old")
    Release.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=30)
    )
    assert releases_awaiting_alerts() == [spike.pk]
    send_release_alerts(spike.pk)
    assert releases_awaiting_alerts() == []
    assert alert_digests_catch_up() == 0


def test_the_catch_up_is_on_the_beat_schedule() -> None:
    from istv_portal.celery import app

    name = "incidents.tasks.alert_digests_catch_up"
    assert [e for e in app.conf.beat_schedule.values() if e["task"] == name]
    assert name in app.tasks and "incidents.tasks.send_release_alerts" in app.tasks


def test_cutting_a_release_queues_its_alerts_after_commit(
    django_capture_on_commit_callbacks: Callable[..., object], data_manager: User
) -> None:
    from ingest.services import release_create

    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[operator]
        release = release_create(actor=data_manager, label="2025-12")
    assert len(callbacks) == 1  # the alert task, sent only once the release is committed
    assert releases_awaiting_alerts() == [release.pk]
