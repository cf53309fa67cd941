"""Hidden counts are marked the same way everywhere an aggregate appears, and trends keep
every point of their range (docs/disclosure-and-exports.md, "Markers").

The cell-key method hides a cell for one reason only, its own small count (0 to
``DISCLOSURE_SUPPRESS_MAX``): the marker is ``*``, the machine-readable reason
``small_count``. No cell is hidden to protect another, so no cell may carry any other
reason. The tests check invariants against the true counts, not the rule's constants.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import api_token_create
from hospitals.models import HospitalSite
from incidents import monitoring
from incidents.disclosure import SUPPRESSED, DisclosurePolicy, cell_key_note
from incidents.models import Incident
from incidents.workspace.dashboard import dashboard_months
from istv_portal.periods import add_months, last_complete_month
from tests.factories import login_verified
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import make_incidents, make_submission

pytestmark = pytest.mark.django_db

# True counts per month, oldest first: 0, small, on the threshold's both sides, large.
PATTERN = {SOUTHWARK: [3, 20, 8, 0, 12, 30], LAMBETH: [2, 7, 25, 9, 1, 18]}


@pytest.fixture
def months(site_a: HospitalSite, areas: None, codes: None) -> list[dt.date]:
    last = last_complete_month()
    span = [add_months(last, i - 5) for i in range(6)]
    for index, month in enumerate(span):
        submission = make_submission(site_a, month)
        for borough, counts in PATTERN.items():
            make_incidents(
                submission,
                borough,
                month + dt.timedelta(days=3),
                counts[index],
                start_row=1000 * (1 + index) + (500 if borough == LAMBETH else 0),
            )
    return span


def _range(span: list[dt.date]) -> dict[str, Any]:
    end = add_months(span[-1], 1) - dt.timedelta(days=1)
    return {
        "borough": [SOUTHWARK, LAMBETH],
        "assault_date_from": span[0].isoformat(),
        "assault_date_to": end.isoformat(),
    }


def _api(user: User) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(actor=user, name='t', days=1).key}"
    )
    return client


def _true_counts(*dims: str) -> Counter[tuple[str, ...]]:
    field = {"borough": "borough_code", "month": "assault_month"}
    out: Counter[tuple[str, ...]] = Counter()
    for row in Incident.objects.filter(submission__status="published").values(
        *(field[d] for d in dims)
    ):
        key = tuple(
            v.strftime("%Y-%m") if isinstance(v, dt.date) else v
            for v in (row[field[d]] for d in dims)
        )
        out[key] += 1
    return out


def _table_cells(html: str, dimension: str) -> dict[str, tuple[str, str]]:
    """``{row label: (shown text, data-suppressed or "")}`` of a count table on a page."""
    table = html.split(f'data-dimension="{dimension}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    cells = re.findall(
        r'<th scope="row" class="govuk-table__header">([^<]*)</th>\s*'
        r'<td class="govuk-table__cell govuk-table__cell--numeric"'
        r'(?: data-suppressed="([^"]*)" aria-label="[^"]*")?>([^<]*)</td>',
        body,
    )
    return {label: (shown, reason) for label, reason, shown in cells}


def test_every_hidden_cell_has_the_small_count_reason_and_no_other(
    aggregate_user: User, months: list[dt.date]
) -> None:
    body = (
        _api(aggregate_user)
        .get("/api/v1/aggregates/", {**_range(months), "group_by": "borough,month"})
        .json()
    )
    truth = _true_counts("borough", "month")
    rows = body["results"]
    assert len(rows) == 2 * len(months)  # the full grid, zeros included
    # The same keys on every row, hidden or shown: the shape says nothing.
    assert {frozenset(r) for r in rows} == {frozenset({"borough", "month", "count", "suppressed"})}
    for row in rows:
        true = truth[(row["borough"], row["month"])]
        small = true <= settings.DISCLOSURE_SUPPRESS_MAX
        assert (row["count"] == "*") is small, row
        assert row["suppressed"] == ("small_count" if small else None), row
    # Hidden cells of different true sizes (0, 1, 3, 7) are indistinguishable.
    hidden = [r for r in rows if r["count"] == "*"]
    assert len({truth[(r["borough"], r["month"])] for r in hidden}) > 1
    assert {(r["count"], r["suppressed"]) for r in hidden} == {("*", "small_count")}


def test_record_level_answers_are_unchanged(mps_analyst: User, months: list[dt.date]) -> None:
    body = (
        _api(mps_analyst).get("/api/v1/aggregates/", {**_range(months), "group_by": "month"}).json()
    )
    assert not body["disclosure_control"]["applied"]
    assert all(set(r) == {"month", "count"} for r in body["results"])


def test_web_table_api_csv_and_xlsx_mark_the_same_cells(
    client: Client, aggregate_user: User, months: list[dt.date]
) -> None:
    params = _range(months)
    login_verified(client, aggregate_user)
    page = client.get(reverse("incidents:explore"), params).content.decode()
    web = _table_cells(page, "month")
    assert len(web) == len(months)

    api = _api(aggregate_user)
    answer = api.get("/api/v1/aggregates/", {**params, "group_by": "month"}).json()["results"]
    from_api = {r["month"]: (str(r["count"]), r["suppressed"] or "") for r in answer}

    csv_response = api.get("/api/v1/exports/aggregates.csv", {**params, "group_by": "month"})
    csv_rows = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    from_csv = {r["month"]: (r["count"], r["suppressed"]) for r in csv_rows}

    xlsx_response = api.get("/api/v1/exports/aggregates.xlsx", {**params, "group_by": "month"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_response.streaming_content))).active
    header, *values = list(sheet.iter_rows(values_only=True))
    from_xlsx = {
        row["month"]: (str(row["count"]), row["suppressed"] or "")
        for row in (dict(zip(header, v, strict=True)) for v in values)
    }
    assert web == from_api == from_csv == from_xlsx
    # Both kinds of cell occur, so the comparison covers the marker and the numbers.
    assert {reason for _, reason in web.values()} == {"", "small_count"}


def test_a_hidden_first_month_stays_in_the_trend_table_chart_and_note(
    client: Client, aggregate_user: User, months: list[dt.date]
) -> None:
    login_verified(client, aggregate_user)
    params = {**_range(months), "borough": SOUTHWARK}
    response = client.get(reverse("incidents:charts"), params)
    assert response.status_code == 200
    trend = response.context["month_trend"]
    # Every month of the range, in order, the first one (3 incidents) included.
    assert [r.key for r in trend] == [f"{m:%Y-%m}" for m in months]
    chart = response.context["chart_data"]["month"]
    truth = _true_counts("borough", "month")
    for index, row in enumerate(trend):
        small = truth[(SOUTHWARK, row.key)] <= settings.DISCLOSURE_SUPPRESS_MAX
        assert (row.count == "*") is small
        assert chart["suppressed"][index] == ("small_count" if small else None)
        if small:
            assert chart["values"][index] is None and chart["incomplete"][index] is None
    first = f"{months[0]:%B %Y}"
    assert trend[0].suppressed == "small_count"
    assert first in response.context["month_trend_note"]
    html = response.content.decode()
    assert f"{first} is hidden" in html or first in html.split("data-trend-note", 1)[1][:600]
    assert re.search(
        rf'data-key="{months[0]:%Y-%m}"[^>]*>\s*<th[^>]*>[^<]*</th>\s*<td[^>]*'
        r'data-suppressed="small_count"[^>]*>\*</td>',
        html,
    )


def test_the_dashboard_trend_keeps_a_hidden_first_month(
    client: Client, aggregate_user: User, site_a: HospitalSite, areas: None, codes: None
) -> None:
    span = dashboard_months()
    first = make_submission(site_a, span[0])
    make_incidents(first, SOUTHWARK, span[0] + dt.timedelta(days=1), 3)
    for month in span[1:]:
        make_incidents(
            make_submission(site_a, month), LAMBETH, month + dt.timedelta(days=1), 20, start_row=100
        )
    login_verified(client, aggregate_user)
    response = client.get(reverse("incidents:dashboard"))
    board = response.context["board"]
    assert [r.key for r in board.trend_rows] == [f"{m:%Y-%m}" for m in span]
    assert board.trend_rows[0].count == "*" and board.trend_rows[0].suppressed == "small_count"
    assert all(r.suppressed is None for r in board.trend_rows[1:])
    chart = response.context["trend_chart"]
    assert len(chart["labels"]) == len(span)
    assert chart["values"][0] is None and chart["suppressed"][0] == "small_count"
    assert f"{span[0]:%B %Y} is hidden" in board.trend_note
    html = response.content.decode()
    assert html.count("data-disclosure") == 1  # one note for the whole page


def test_counts_in_words_agree_for_one_many_and_hidden() -> None:
    template = Template(
        "{% load counts %}{{ n|incidents }}|{{ n|count_words }} "
        '{{ n|agree:"incident matches,incidents match" }}'
    )
    limit = settings.DISCLOSURE_SUPPRESS_MAX

    def say(n: object) -> str:
        return template.render(Context({"n": n}))

    assert say(1) == "1 incident|1 incident matches"
    assert say(2) == "2 incidents|2 incidents match"
    assert say(0) == "0 incidents|0 incidents match"
    assert say(1250) == "1,250 incidents|1,250 incidents match"
    assert say("*") == f"0 to {limit} incidents|0 to {limit} incidents match"
    assert "*" not in say("*")


def test_summary_lines_agree_on_the_pages(
    client: Client,
    mps_analyst: User,
    aggregate_user: User,
    site_a: HospitalSite,
    areas: None,
    codes: None,
) -> None:
    month = last_complete_month()
    make_incidents(make_submission(site_a, month), SOUTHWARK, month + dt.timedelta(days=2), 1)
    login_verified(client, mps_analyst)
    explore = client.get(reverse("incidents:explore")).content.decode()
    assert "<strong>1</strong> incident matches the filter." in explore
    board = client.get(reverse("incidents:dashboard")).content.decode()
    assert re.search(r'workspace-figure__value">1</span> incident</p>', board)

    client.logout()
    login_verified(client, aggregate_user)
    params = {"borough": SOUTHWARK}
    charts = client.get(reverse("incidents:charts"), params).content.decode()
    limit = settings.DISCLOSURE_SUPPRESS_MAX
    assert f"<strong>0 to {limit}</strong> incidents match the filter." in charts
    assert "* incident" not in charts and "1 incidents" not in charts


def test_every_count_table_is_a_focusable_labelled_region(
    client: Client, aggregate_user: User, months: list[dt.date]
) -> None:
    login_verified(client, aggregate_user)
    for name in ("incidents:dashboard", "incidents:charts", "incidents:explore"):
        html = client.get(reverse(name), _range(months)).content.decode()
        tables = re.findall(r"<table [^>]*>", html)
        wraps = re.findall(r'(<div [^>]*>)\s*<table class="govuk-table workspace-', html)
        assert wraps and len(wraps) == len([t for t in tables if "workspace-" in t]), name
        for wrap in wraps:
            assert 'tabindex="0"' in wrap and 'role="region"' in wrap, wrap
            assert re.search(r'aria-label="[^"]+"', wrap), wrap


def test_the_monitoring_report_explains_the_marker_once(
    seeded: dict[str, Any], private_storage: Any
) -> None:
    monitoring.monitoring_report_generate(release=seeded["release"])
    html = (private_storage / "monitoring" / "release-1" / "report.html").read_text("utf-8")
    note = cell_key_note(DisclosurePolicy.from_settings())
    assert len(monitoring.TABLES) > 1 and html.count(note) == 1
    # It must not claim cells hidden to protect others: the method hides none.
    assert "further cells are suppressed" not in html


def test_a_record_level_trend_shows_an_empty_month_as_zero(
    client: Client, mps_analyst: User, months: list[dt.date]
) -> None:
    login_verified(client, mps_analyst)
    response = client.get(reverse("incidents:charts"), {**_range(months), "borough": SOUTHWARK})
    trend = response.context["month_trend"]
    assert [r.key for r in trend] == [f"{m:%Y-%m}" for m in months]
    assert [r.count for r in trend] == PATTERN[SOUTHWARK]  # exact, the empty month as 0
    assert all(r.suppressed is None for r in trend)
    weeks = [r.key for r in response.context["week_trend"]]
    assert weeks == sorted(weeks) and len(weeks) >= 4 * len(months)


@pytest.mark.parametrize(
    ("count", "shown"), [(13204, "13,204"), (999, "999"), (0, "0"), (SUPPRESSED, SUPPRESSED)]
)
def test_a_count_cell_shows_thousands_separators_and_the_marker_as_it_is(
    count: object, shown: str
) -> None:
    html = Template("{% load counts %}{% count_cell count %}").render(Context({"count": count}))
    assert re.search(r">([^<]*)</td>", html).group(1) == shown  # type: ignore[union-attr]
    assert ("data-suppressed" in html) is (count == SUPPRESSED)
