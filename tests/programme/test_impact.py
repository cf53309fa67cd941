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
from incidents.models import SavedQuery
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
    coverage = {m.month: m for m in impact.coverage_and_quality(impact.month_window(3))}
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
