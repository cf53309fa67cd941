"""Honest comparisons: incomplete months marked, year on year only like with like, and
the shares of incidents at home and not located (disclosure-controlled where needed).

The rule is in incidents/completeness.py and docs/workspace-pages.md: a month is complete
when it has ended and every hospital site valid on its first day has a published file
for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from hospitals.models import HospitalSite
from incidents.completeness import month_coverage
from incidents.models import Incident, Release
from istv_portal.periods import add_months, last_complete_month
from tests.factories import login_verified
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import make_incidents, make_submission

pytestmark = pytest.mark.django_db


def _get(client: Client, user: User, name: str, **params: Any) -> Any:
    login_verified(client, user)
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return response


def make_unlocated(
    submission: Any, day: dt.date, n: int, geo_class: str, *, start_row: int
) -> list[Incident]:
    """Incidents the geocoder classed without a place: no borough, no point."""
    rows = []
    for i in range(n):
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(hour=12, minute=i)))
        local = timezone.localtime(at)
        rows.append(
            Incident(
                submission=submission,
                site=submission.site,
                source_row=start_row + i,
                assault_at=at,
                assault_time_known=True,
                assault_date=local.date(),
                assault_month=local.date().replace(day=1),
                assault_weekday=local.isoweekday(),
                assault_hour=local.hour,
                method_code="knife",
                location_type_code="home" if geo_class == "home" else "street",
                geocode_status="done",
                geo_class=geo_class,
                borough_code="",
                lsoa_code="",
                ward_code="",
            )
        )
    return Incident.objects.bulk_create(rows)


# --- the rule -----------------------------------------------------------------------------


def test_a_month_is_complete_only_when_over_and_every_expected_hospital_has_published(
    site_a: HospitalSite, site_b: HospitalSite, trust_a: Any
) -> None:
    today = dt.date(2026, 12, 4)
    oct_, nov, dec = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)
    # A third site closed on 30 September: not expected in October or later. A fourth
    # opened on 2 November: expected from December, its first full month.
    closed = HospitalSite.objects.create(
        site_code="CLOSED", name="Closed ED", trust_code="X", trust_name="X",
        valid_to=dt.date(2026, 9, 30),
    )  # fmt: skip
    HospitalSite.objects.create(
        site_code="OPENED", name="New ED", trust_code="X", trust_name="X",
        valid_from=dt.date(2026, 11, 2),
    )  # fmt: skip
    make_submission(site_a, oct_)
    make_submission(site_b, oct_)
    make_submission(site_a, nov)
    make_submission(site_b, nov, status="ready_for_review")  # not published: not counted
    make_submission(closed, nov)  # published, though not expected
    make_submission(site_a, dec)

    coverage = month_coverage([add_months(oct_, -1), oct_, nov, dec], today=today)

    september = coverage[add_months(oct_, -1)]
    assert (september.status, september.expected, september.published) == ("no_data", 3, 0)
    assert coverage[oct_].status == "complete" and coverage[oct_].note == ""
    assert (coverage[nov].status, coverage[nov].of_hospitals) == ("partial", "1 of 2 hospitals")
    assert coverage[nov].sentence() == "November 2026 is incomplete: 1 of 2 hospitals."
    assert coverage[dec].status == "ongoing"  # the current month is never complete
    assert coverage[dec].expected == 3  # A, B and the site opened in November
    # Filtering on one hospital: only that hospital is expected.
    only_a = month_coverage([nov], today=today, site_codes=["RJ122"])
    assert only_a[nov].status == "complete" and only_a[nov].expected == 1


def test_a_pinned_release_counts_its_own_files(site_a: HospitalSite, site_b: HospitalSite) -> None:
    nov = dt.date(2026, 11, 1)
    sub_a, sub_b = make_submission(site_a, nov), make_submission(site_b, nov)
    both = Release.objects.create(number=1, label="2026-11")
    both.submissions.set([sub_a, sub_b])
    one = Release.objects.create(number=2, label="2026-11 (A)")
    one.submissions.set([sub_a])
    today = dt.date(2026, 12, 4)
    assert month_coverage([nov], today=today, release=both)[nov].complete
    assert month_coverage([nov], today=today, release=one)[nov].of_hospitals == "1 of 2 hospitals"


# --- year on year -----------------------------------------------------------------------


def test_a_partial_base_month_says_so_instead_of_a_percentage(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    # seeded: the year-before month has site A's file only (10 incidents), not site B's.
    response = _get(client, southwark_analyst, "incidents:dashboard")
    board = response.context["board"]
    body = response.content.decode()
    assert board.month_coverage.complete
    assert board.change is None
    expected = f"{seeded['year_before']:%B %Y} is incomplete: 1 of 2 hospitals."
    assert board.comparison == expected
    assert expected in body
    assert "year on year" not in body


def test_a_base_month_without_data_says_so_instead_of_a_huge_percentage(
    client: Client, mps_analyst: User, site_a: HospitalSite, site_b: HospitalSite, codes: None
) -> None:
    """The demo's case: the base month has no file, only a few incidents that arrived at
    the ED in the next month (so are in that month's file)."""
    month = last_complete_month()
    year_before = add_months(month, -12)
    make_submission(site_a, month)
    make_incidents(make_submission(site_b, month), SOUTHWARK, month + dt.timedelta(days=3), 30)
    late = make_submission(site_a, add_months(year_before, 1))
    make_incidents(late, SOUTHWARK, year_before + dt.timedelta(days=27), 3, start_row=50)

    response = _get(client, mps_analyst, "incidents:dashboard")
    board = response.context["board"]
    body = response.content.decode()
    assert (board.month_count, board.year_before_count) == (30, 3)
    assert board.change is None  # not "+900.0%"
    assert board.comparison == f"No data for {year_before:%B %Y} to compare with."
    assert board.comparison in body and "%" not in body.split('id="year-on-year"')[1][:200]


def test_an_incomplete_last_month_is_marked_and_not_compared(
    client: Client, mps_analyst: User, site_a: HospitalSite, site_b: HospitalSite, codes: None
) -> None:
    month = last_complete_month()
    year_before = add_months(month, -12)
    for site in (site_a, site_b):
        make_incidents(make_submission(site, year_before), LAMBETH, year_before, 10)
    make_incidents(make_submission(site_a, month), LAMBETH, month, 4, start_row=100)

    response = _get(client, mps_analyst, "incidents:dashboard")
    board = response.context["board"]
    body = response.content.decode()
    assert board.year_before_coverage.complete
    assert board.month_coverage.of_hospitals == "1 of 2 hospitals"
    assert board.change is None
    assert board.comparison.startswith(f"{month:%B %Y} is incomplete: 1 of 2 hospitals.")
    assert 'id="month-coverage"' in body and "govuk-tag--yellow" in body


def test_the_trend_marks_incomplete_months_in_the_table_and_the_chart(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _get(client, mps_analyst, "incidents:dashboard")
    board = response.context["board"]
    rows = {r.key: r for r in board.trend_rows}
    last = f"{seeded['month']:%Y-%m}"
    base = f"{seeded['year_before']:%Y-%m}"
    empty = f"{add_months(seeded['month'], -1):%Y-%m}"  # only an unpublished file
    assert rows[last].complete and rows[last].count == 24
    assert not rows[base].complete and rows[base].note == "Incomplete: 1 of 2 hospitals"
    assert not rows[empty].complete and rows[empty].note == "No hospital's file published"
    chart = response.context["trend_chart"]
    index = chart["labels"].index(rows[base].label)
    # The incomplete month is drawn apart (its own series), never on the line.
    assert chart["values"][index] is None and chart["incomplete"][index] == 10
    assert chart["values"][chart["labels"].index(rows[last].label)] == 24
    assert chart["incomplete"][chart["labels"].index(rows[empty].label)] is None  # a gap
    assert "23 of these 24 months are incomplete" in board.trend_note
    body = response.content.decode()
    assert f'data-key="{base}" data-complete="no"' in body


def test_the_charts_trends_mark_months_by_release_hospital_and_the_current_month(
    client: Client, mps_analyst: User, seeded: dict[str, Any], site_a: HospitalSite
) -> None:
    this_month = timezone.localdate().replace(day=1)
    current = make_submission(site_a, this_month)
    make_incidents(current, SOUTHWARK, this_month, 2, start_row=700)
    base = f"{seeded['year_before']:%Y-%m}"
    last = f"{seeded['month']:%Y-%m}"

    response = _get(client, mps_analyst, "incidents:charts")
    months = {r.key: r for r in response.context["month_trend"]}
    assert months[last].complete
    assert months[base].note == "Incomplete: 1 of 2 hospitals"
    assert months[f"{this_month:%Y-%m}"].note == "Month not over yet"
    weeks = response.context["week_trend"]
    assert any(not w.complete and "incomplete: 1 of 2 hospitals" in w.note for w in weeks)
    # Every month of the range is a point; only the complete one is on the line (the
    # others, incomplete or without any file, are drawn apart or as gaps).
    chart = response.context["chart_data"]["month"]
    assert len(chart["labels"]) == len(months)
    assert [v is not None for v in chart["values"]].count(True) == 1

    # Filtered to site A, only site A is expected: its year-before file makes it complete.
    response = _get(client, mps_analyst, "incidents:charts", hospital="RJ122")
    assert {r.key: r.complete for r in response.context["month_trend"]}[base]

    # Pinned to a release holding only site A's file for last month: incomplete there.
    partial = Release.objects.create(number=2, label="A only")
    partial.submissions.set(seeded["release"].submissions.filter(site=site_a))
    response = _get(client, mps_analyst, "incidents:charts", release="2")
    assert {r.key: r.note for r in response.context["month_trend"]}[last] == (
        "Incomplete: 1 of 2 hospitals"
    )


# --- shares: at home, not located ---------------------------------------------------------


@pytest.fixture
def located_and_not(site_a: HospitalSite, site_b: HospitalSite, codes: None) -> None:
    """Last month, both files in: 20 in Southwark, 13 in Lambeth, 6 at home, 4 vague."""
    month = last_complete_month()
    sub_a, sub_b = make_submission(site_a, month), make_submission(site_b, month)
    make_incidents(sub_a, SOUTHWARK, month + dt.timedelta(days=1), 20)
    make_incidents(sub_b, LAMBETH, month + dt.timedelta(days=2), 13)
    make_unlocated(sub_a, month + dt.timedelta(days=3), 6, "home", start_row=200)
    make_unlocated(sub_b, month + dt.timedelta(days=4), 4, "vague", start_row=300)


def _shares(board: Any) -> dict[str, Any]:
    return {s.key: s for s in board.shares}


def test_shares_at_home_and_not_located_for_a_record_level_user(
    client: Client, mps_analyst: User, located_and_not: None
) -> None:
    response = _get(client, mps_analyst, "incidents:dashboard")
    board = response.context["board"]
    shares = _shares(board)
    # 43 incidents: 6 at home (14.0%), 10 with no place in a borough (23.3%).
    assert (shares["home"].count, shares["home"].total, shares["home"].percent) == (6, 43, 14.0)
    assert shares["not_located"].count == 10 and shares["not_located"].percent == 23.3
    assert "(6 of 43 incidents)" in shares["home"].text
    # Not a borough, so not in the top-boroughs table.
    assert {r.key for r in board.top_boroughs.rows} == {SOUTHWARK, LAMBETH}
    body = response.content.decode()
    assert "14.0%" in body and "23.3%" in body


def test_shares_for_an_aggregate_user_come_from_disclosure_controlled_figures(
    client: Client, aggregate_user: User, located_and_not: None
) -> None:
    board = _get(client, aggregate_user, "incidents:dashboard").context["board"]
    shares = _shares(board)
    # 6 at home is suppressed: words, never a percentage.
    assert shares["home"].count == "*" and shares["home"].percent is None
    assert "0 to 7 incidents at home" in shares["home"].text
    # 10 not located and 43 in all are published perturbed (by up to 4) and rounded; the
    # share is worked out from those published figures, never from 10 / 43.
    count, total = shares["not_located"].count, shares["not_located"].total
    assert count in (10, 15) and total in (40, 45)
    assert shares["not_located"].percent == round(100 * count / total, 1)
    assert "rounded" in shares["not_located"].text


def test_shares_say_when_unlocated_incidents_are_outside_the_users_access(
    client: Client, southwark_analyst: User, located_and_not: None
) -> None:
    board = _get(client, southwark_analyst, "incidents:dashboard").context["board"]
    for share in board.shares:
        assert share.percent is None and share.count is None
        assert share.text.startswith("Not counted: your access covers incidents placed")
