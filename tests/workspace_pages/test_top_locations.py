"""Top locations and the licensing view: ranking, the previous equal period, scope, the
aggregate-user threshold and rounding, the API against the page, the CSV against the page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from incidents.workspace import top_locations
from istv_portal.periods import add_months
from tests.factories import login_verified

from .top_locations_data import places  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _page(client: Client, user: User, name: str = "incidents:top_locations", **params: Any):
    login_verified(client, user)
    return client.get(reverse(name), params)


def _ranked(response: Any) -> list[tuple[str, str, Any, Any]]:
    return [(p.name, p.kind, p.count, p.previous_count) for p in response.context["result"].places]


def test_places_are_ranked_with_the_previous_equal_period(
    client: Client,
    mps_analyst: User,
    places: dict[str, Any],  # noqa: F811
) -> None:
    response = _page(client, mps_analyst)
    assert response.status_code == 200
    # Default period: the last 12 complete months against the 12 before them.
    assert _ranked(response) == [
        ("Brixton Road", "street", 9, 0),
        ("Borough High Street", "street", 8, 6),
        ("The Ship", "licensed_premises", 4, 4),
        ("Whitechapel Road", "street", 3, 0),
    ]
    first = response.context["result"].places[1]
    assert first.change == 2
    assert sum(sum(row) for row in first.hour_of_week) == 8
    assert [(m["method"], m["count"]) for m in first.methods] == [("knife", 8)]
    body = response.content.decode()
    assert 'aria-current="page">Top locations' in body
    assert "place=Borough%20High%20Street" in body
    event = AuditEvent.objects.filter(actor=mps_analyst, action="data.viewed").last()
    assert event is not None and event.details["endpoint"] == "pages/top_locations"


def test_an_explicit_date_range_is_compared_with_the_days_just_before(
    client: Client,
    mps_analyst: User,
    places: dict[str, Any],  # noqa: F811
) -> None:
    month = places["month"]
    last = add_months(month, 1) - dt.timedelta(days=1)
    response = _page(
        client, mps_analyst, assault_date_from=month.isoformat(), assault_date_to=last.isoformat()
    )
    result = response.context["result"]
    assert result.previous.last == month - dt.timedelta(days=1)
    assert (result.previous.last - result.previous.first) == (last - month)
    # The year-before rows are outside the previous month: nothing to compare with.
    assert {p.name: p.previous_count for p in result.places}["Borough High Street"] == 0


def test_a_borough_analyst_never_sees_places_outside_scope(
    client: Client,
    southwark_analyst: User,
    places: dict[str, Any],  # noqa: F811
) -> None:
    response = _page(client, southwark_analyst)
    ranked = _ranked(response)
    assert {name for name, *_ in ranked} == {"Borough High Street", "The Ship"}
    # Every counted row is a Southwark row of the period (12 named last month).
    assert sum(count for _, _, count, _ in ranked) == 12
    body = response.content.decode()
    assert "Brixton Road" not in body and "Whitechapel Road" not in body
    # Asking for another borough's place by name finds nothing, and says nothing.
    other = _page(client, southwark_analyst, place="Brixton Road")
    assert _ranked(other) == []


def test_place_filter_lists_that_places_incidents(
    client: Client,
    southwark_analyst: User,
    places: dict[str, Any],  # noqa: F811
) -> None:
    response = _page(client, southwark_analyst, "incidents:explore", place="Borough High Street")
    assert response.status_code == 200
    assert response.context["total"] == 14  # 8 last month + 6 a year before


def test_aggregate_users_see_only_places_at_the_threshold_rounded(
    client: Client,
    aggregate_user: User,
    places: dict[str, Any],  # noqa: F811
    settings: Any,
) -> None:
    settings.TOP_LOCATIONS_MIN_COUNT = 9
    response = _page(client, aggregate_user)
    result = response.context["result"]
    assert [p.name for p in result.places] == ["Brixton Road"]
    count = result.places[0].count
    assert isinstance(count, int) and count % settings.DISCLOSURE_ROUND_TO == 0
    assert abs(count - 9) <= settings.DISCLOSURE_PERTURBATION_MAX + settings.DISCLOSURE_ROUND_TO
    body = response.content.decode()
    assert 'id="top-locations-disclosure"' in body
    for below in ("Borough High Street", "The Ship", "Whitechapel Road"):
        assert below not in body
    # No link to records for an aggregate-only viewer.
    assert "place=" not in body
    settings.TOP_LOCATIONS_MIN_COUNT = 10
    assert _ranked(_page(client, aggregate_user)) == []


def test_the_api_answers_what_the_page_shows(
    client: Client,
    mps_analyst: User,
    aggregate_user: User,
    places: dict[str, Any],  # noqa: F811
    settings: Any,
) -> None:
    settings.TOP_LOCATIONS_MIN_COUNT = 9
    for user in (mps_analyst, aggregate_user):
        page = _page(client, user).context["result"]
        api = client.get(reverse("api:top-locations"))
        assert api.status_code == 200
        body = api.json()
        assert [(r["name"], r["kind"], r.get("count")) for r in body["results"]] == [
            (p.name, p.kind, p.count) for p in page.places
        ]
        assert body["disclosure_control"]["applied"] is (user == aggregate_user)
        assert [r.get("previous_count") for r in body["results"]] == [
            p.previous_count if p.previous_count != "*" else None for p in page.places
        ]


def test_licensing_csv_sums_equal_the_page_table(
    client: Client,
    mps_analyst: User,
    places: dict[str, Any],  # noqa: F811
) -> None:
    page = _page(client, mps_analyst, "incidents:licensing")
    assert page.status_code == 200
    view = page.context["view"]
    assert [p.name for p in view.places] == ["The Ship"]  # licensed premises only
    shown = {p.name: sum(sum(row) for row in p.hour_of_week) for p in view.places}
    assert shown == {"The Ship": 4}  # the last 12 months only
    response = _page(client, mps_analyst, "incidents:licensing_csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    summed: dict[str, int] = {}
    for row in rows:
        summed[row["premises"]] = summed.get(row["premises"], 0) + int(row["incidents"])
    assert summed == shown
    assert len(rows) == 7 * 9
    event = AuditEvent.objects.filter(actor=mps_analyst, action="data.downloaded").last()
    assert event is not None and event.details["endpoint"] == "downloads/licensing.csv"


def test_licensing_csv_needs_the_download_right(
    client: Client,
    mopac_analyst: User,
    places: dict[str, Any],  # noqa: F811
) -> None:
    assert _page(client, mopac_analyst, "incidents:licensing_csv").status_code == 403
    assert not AuditEvent.objects.filter(actor=mopac_analyst, action="data.downloaded").exists()


def test_a_range_from_the_calendars_first_years_has_an_empty_previous_period() -> None:
    """A typed start such as year 0214 must not overflow the date arithmetic (a 500)."""
    for first in (dt.date(214, 2, 10), dt.date.min, dt.date(1, 1, 5)):
        previous = top_locations.Period(first, dt.date(2026, 12, 4)).previous()
        assert previous.first <= previous.last <= max(first, dt.date.min)


@pytest.mark.parametrize(
    ("matched", "shown"),
    [
        ("station: Peckham Rye", "Peckham Rye"),
        ("street: London Bridge Street", "London Bridge Street"),
        ("licensed_premises: The Swan", "The Swan"),
        ("Brixton Road", "Brixton Road"),
        ("Junction: A2 / A202", "A2 / A202"),
        ("12: 30 club", "12: 30 club"),  # not a kind prefix
    ],
)
def test_a_place_is_shown_without_the_geocoders_kind_prefix(matched: str, shown: str) -> None:
    place = top_locations.Place(name=matched, kind="street", count=10, previous_count=8)
    assert place.label == shown
    assert place.as_json()["name"] == matched  # the key the place filter and the API use
