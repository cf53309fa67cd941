"""The impact dashboard's figures against counts made independently here."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import audit_record
from hospitals.models import Submission
from incidents.models import SavedQuery
from istv_portal.periods import due_date, is_overdue
from programme import impact, services
from tests.factories import login_verified
from tests.programme.conftest import add_months, make_incidents, make_submission

pytestmark = pytest.mark.django_db


def _at(month: dt.date, day: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(month.replace(day=day), dt.time(12, 0)))


@pytest.fixture
def usage(mps_analyst, southwark_analyst, org_lead, org_mps, org_southwark, last_month):
    """A known pattern of use over two months."""
    this_month = timezone.localdate().replace(day=1)
    plan = [
        # (when, actor, organisation, action)
        (_at(last_month, 3), mps_analyst, org_mps, Action.DATA_VIEWED),
        (_at(last_month, 4), mps_analyst, org_mps, Action.DATA_VIEWED),
        (_at(last_month, 5), mps_analyst, org_mps, Action.DATA_DOWNLOADED),
        (_at(last_month, 6), southwark_analyst, org_southwark, Action.API_CALLED),
        (_at(last_month, 7), org_lead, None, Action.LOGIN_SUCCESS),
        (_at(this_month, 1), mps_analyst, org_mps, Action.API_CALLED),
        (_at(this_month, 1), mps_analyst, org_mps, Action.API_CALLED),
    ]
    for when, actor, org, action in plan:
        with time_machine.travel(when, tick=False):
            audit_record(action=action, actor=actor, organisation=org, details={})
    with time_machine.travel(_at(last_month, 8), tick=False):
        SavedQuery.objects.create(
            name="q", owner=southwark_analyst, organisation=org_southwark,
            shared_with_organisation=True,
        )  # fmt: skip
        SavedQuery.objects.create(name="private", owner=mps_analyst, organisation=org_mps)
    return plan


def test_usage_matches_independent_counts(usage, org_mps, org_southwark, last_month) -> None:
    window = impact.month_window(12)
    table = impact.usage_by_organisation(window)
    this_month = window[-1]
    # Independent count, straight from the audit rows.
    views = AuditEvent.objects.filter(
        organisation=org_mps, action=Action.DATA_VIEWED, occurred_at__month=last_month.month
    ).count()
    assert views == 2
    assert table[(org_mps.pk, last_month)] == {
        "active_users": 1, "data_views": views, "downloads": 1, "api_calls": 0,
        "shared_queries": 0, "case_studies": 0,
    }  # fmt: skip
    assert table[(org_mps.pk, this_month)]["api_calls"] == 2
    # Southwark: an analyst calling the API and a lead signing in: two active people.
    assert table[(org_southwark.pk, last_month)]["active_users"] == 2
    assert table[(org_southwark.pk, last_month)]["api_calls"] == 1
    assert table[(org_southwark.pk, last_month)]["shared_queries"] == 1
    # The naive walk over every event agrees with the database aggregation.
    naive = impact.usage_naive(window)
    for key, cells in naive.items():
        for metric in ("active_users", "data_views", "downloads", "api_calls"):
            assert table[key][metric] == cells[metric], (key, metric)


def test_case_studies_published_counted(org_lead, org_southwark, data_manager) -> None:
    study = services.case_study_create(
        actor=org_lead, organisation=org_southwark, title="t", summary="s", body="b"
    )
    services.case_study_submit(actor=org_lead, case_study=study)
    services.case_study_publish(actor=data_manager, case_study=study)
    window = impact.month_window(2)
    assert impact.usage_by_organisation(window)[(org_southwark.pk, window[-1])]["case_studies"] == 1


def test_coverage_and_quality(site_a, site_b, last_month) -> None:
    sub = make_submission(site_a, last_month)
    make_incidents(sub, last_month, n=3)
    make_incidents(sub, last_month, geo_class="home", placed=False, method="not_known")
    after_due = due_date(last_month) + dt.timedelta(days=1)
    coverage = {m.month: m for m in impact.coverage_and_quality(impact.month_window(3), after_due)}
    latest = coverage[last_month]
    assert (latest.expected, latest.received, latest.on_time, latest.missing) == (2, 1, 1, 1)
    assert latest.geocoded_pct == 75.0 and latest.unknown_codes_pct == 25.0
    earlier = coverage[add_months(last_month, -1)]
    assert earlier.received == 0 and earlier.geocoded_pct is None


def test_late_submission_is_not_on_time(site_a, last_month) -> None:
    late_month = add_months(last_month, -1)
    with time_machine.travel(_at(add_months(late_month, 2), 2), tick=False):
        make_submission(site_a, late_month)
    coverage = {m.month: m for m in impact.coverage_and_quality(impact.month_window(3))}
    assert coverage[late_month].received == 1 and coverage[late_month].on_time == 0


def test_dashboard_and_csv(client, usage, aggregate_user, org_mps) -> None:
    login_verified(client, aggregate_user)  # a VRU member
    page = client.get(reverse("programme:impact"))
    assert page.status_code == 200
    assert org_mps.name.encode() in page.content
    assert b"mps_analyst@personas.test" not in page.content  # never named individuals
    response = client.get(reverse("programme:impact_csv"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["organisation", "organisation_kind", "month"]
    mps_rows = [r for r in rows[1:] if r[0] == org_mps.name]
    assert sum(int(r[4]) for r in mps_rows) == 2  # data views
    event = AuditEvent.objects.get(action=Action.IMPACT_EXPORTED)
    assert event.details["rows"] == len(rows) - 1


def test_csv_neutralises_formulae(client, aggregate_user, mps_analyst) -> None:
    from accounts.models import Organisation

    org = Organisation.objects.create(name='=HYPERLINK("http://x")', kind="mps")
    from tests.factories import MembershipFactory

    MembershipFactory(user=mps_analyst, organisation=org)
    audit_record(action=Action.DATA_VIEWED, actor=mps_analyst, organisation=org, details={})
    login_verified(client, aggregate_user)
    body = b"".join(client.get(reverse("programme:impact_csv")).streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_rollup_stores_closed_months_and_matches_live(usage, org_mps, org_southwark, last_month):
    window = impact.month_window(12)
    live = impact.usage_live(window)
    stored = services.usage_rollup_refresh()
    assert last_month in stored and window[-1] not in stored  # the current month stays live
    assert services.usage_rollup_refresh() == []  # idempotent
    assert impact.usage_by_organisation(window) == {
        key: cells for key, cells in live.items() if any(cells.values())
    }
    # Closed months are read from the rollup, not the audit log: a new event written now
    # counts in the current month only.
    audit_record(action=Action.DATA_VIEWED, actor=None, organisation=org_mps, details={})
    after = impact.usage_by_organisation(window)
    assert after[(org_mps.pk, last_month)] == live[(org_mps.pk, last_month)]
    assert after[(org_mps.pk, window[-1])]["data_views"] == 1


# --- each download once; months not yet due; what counts as submitted ----------------------


def _download(actor, organisation, when: dt.datetime) -> None:
    """One download as the export code audits it: a started and a completed event."""
    with time_machine.travel(when, tick=False):
        for stage in ("started", "completed"):
            audit_record(
                action=Action.DATA_DOWNLOADED, actor=actor, organisation=organisation,
                details={"endpoint": "export", "stage": stage},
            )  # fmt: skip


def test_a_download_counts_once(mps_analyst, org_mps, last_month) -> None:
    _download(mps_analyst, org_mps, _at(last_month, 5))
    _download(mps_analyst, org_mps, _at(last_month, 6))
    window = impact.month_window(3)
    assert impact.usage_live(window)[(org_mps.pk, last_month)]["downloads"] == 2
    assert impact.usage_naive(window)[(org_mps.pk, last_month)]["downloads"] == 2
    services.usage_rollup_refresh()
    assert impact.usage_by_organisation(window)[(org_mps.pk, last_month)]["downloads"] == 2


def test_a_month_not_yet_due_is_not_missing(site_a, site_b, last_month) -> None:
    before_due = due_date(last_month)  # the due day itself: not overdue yet
    window = impact.month_window(3, before_due)
    coverage = {m.month: m for m in impact.coverage_and_quality(window, before_due)}
    pending = coverage[last_month]
    assert not pending.overdue and pending.outstanding == 2 and pending.missing == 0
    this_month = coverage[window[-1]]
    assert not this_month.overdue and this_month.missing == 0
    earlier = coverage[window[0]]
    assert earlier.overdue and earlier.missing == 2
    day_after = before_due + dt.timedelta(days=1)
    assert is_overdue(last_month, day_after)
    after = {m.month: m for m in impact.coverage_and_quality(window, day_after)}
    assert after[last_month].overdue and after[last_month].missing == 2


def test_submitted_follows_the_tracker(site_a, site_b, last_month) -> None:
    earlier = add_months(last_month, -1)
    make_submission(site_a, last_month, status="received")  # arrived, being handled
    make_submission(site_b, last_month, status="rejected")  # needs a new file
    dry = make_submission(site_b, earlier, status="checked")
    Submission.objects.filter(pk=dry.pk).update(dry_run=True)  # a dry run is no file
    make_submission(site_a, earlier, status="superseded")
    make_submission(site_a, earlier, version=2, status="ready_for_review")
    coverage = {m.month: m for m in impact.coverage_and_quality(impact.month_window(3))}
    assert coverage[last_month].received == 1
    assert coverage[earlier].received == 1
    assert coverage[earlier].on_time == 0  # both versions were uploaded after the due date


def test_dashboard_shows_not_due_yet_and_submitted(client, aggregate_user, site_a) -> None:
    this_month = timezone.localdate().replace(day=1)
    make_submission(site_a, this_month, status="received")
    login_verified(client, aggregate_user)
    page = client.get(reverse("programme:impact"))
    coverage = {m.month: m for m in page.context["report"].coverage}
    assert coverage[this_month].received == 1 and coverage[this_month].missing == 0
    assert b"Not due yet" in page.content


# --- the figures against the rows they come from --------------------------------------------


def test_impact_report_agrees_with_its_sources(
    mps_analyst, southwark_analyst, org_mps, org_southwark, site_a, site_b, last_month
) -> None:
    """An oracle: every figure recomputed here, by hand, from the audit rows and the
    submissions, and compared with the report."""
    earlier = add_months(last_month, -1)
    for when, actor, org, action, details in [
        (_at(earlier, 3), mps_analyst, org_mps, Action.DATA_VIEWED, {}),
        (_at(earlier, 9), southwark_analyst, org_southwark, Action.API_CALLED, {}),
        (_at(last_month, 2), mps_analyst, org_mps, Action.DATA_VIEWED, {}),
        (_at(last_month, 2), mps_analyst, org_mps, Action.API_CALLED, {}),
        (_at(last_month, 4), southwark_analyst, org_southwark, Action.DATA_VIEWED, {}),
        (_at(last_month, 4), southwark_analyst, None, Action.LOGIN_SUCCESS, {}),
    ]:
        with time_machine.travel(when, tick=False):
            audit_record(action=action, actor=actor, organisation=org, details=details)
    _download(mps_analyst, org_mps, _at(earlier, 20))
    _download(mps_analyst, org_mps, _at(last_month, 6))
    _download(southwark_analyst, org_southwark, _at(last_month, 7))
    with time_machine.travel(_at(add_months(earlier, 1), 2), tick=False):
        make_submission(site_a, earlier)  # on time
    with time_machine.travel(_at(add_months(earlier, 1), 27), tick=False):
        make_submission(site_b, earlier, status="ready_for_review")  # late
    with time_machine.travel(_at(add_months(last_month, 1), 1), tick=False):
        make_submission(site_a, last_month, status="rejected")

    today = due_date(last_month) + dt.timedelta(days=1)
    with time_machine.travel(_at(today, today.day), tick=False):
        report = impact.impact_report(months=3, today=today)

    # Usage: one count per (organisation, month, metric) straight from the audit rows; a
    # download is one event pair sharing a timestamp, counted by its distinct timestamps.
    def month_of(event: AuditEvent) -> dt.date:
        return timezone.localtime(event.occurred_at).date().replace(day=1)

    events = list(AuditEvent.objects.exclude(organisation=None))
    for org_usage in report.organisations:
        org = org_usage.organisation
        for month, cells in zip(report.window, org_usage.months, strict=True):
            mine = [e for e in events if e.organisation_id == org.pk and month_of(e) == month]
            assert cells["data_views"] == sum(e.action == Action.DATA_VIEWED for e in mine)
            assert cells["api_calls"] == sum(e.action == Action.API_CALLED for e in mine)
            downloads = {e.occurred_at for e in mine if e.action == Action.DATA_DOWNLOADED}
            assert cells["downloads"] == len(downloads)
    assert {u.organisation.pk for u in report.organisations} >= {org_mps.pk, org_southwark.pk}

    # Coverage: by hand from the submissions, the sites and the due-date rule.
    subs = list(Submission.objects.filter(dry_run=False))
    for m in report.coverage:
        latest = {}
        for sub in sorted(subs, key=lambda x: x.version):
            if sub.period == m.month and sub.status != "superseded":
                latest[sub.site_id] = sub
        arrived = {
            site: sub for site, sub in latest.items()
            if sub.status not in ("rejected", "quarantined", "failed")
        }  # fmt: skip
        on_time = sum(
            timezone.localtime(sub.created_at).date() <= due_date(m.month)
            for sub in arrived.values()
        )
        assert (m.expected, m.received, m.on_time) == (2, len(arrived), on_time), m.month
        overdue = today > due_date(m.month)
        assert m.missing == (2 - len(arrived) if overdue else 0), m.month
    by_month = {m.month: m for m in report.coverage}
    assert (by_month[earlier].received, by_month[earlier].on_time) == (2, 1)
    assert by_month[last_month].received == 0 and by_month[last_month].missing == 2
    assert by_month[report.window[-1]].missing == 0  # the current month is not due
