"""A motivated intruder against the real API, with the real aggregate-only grant.

The intruder is the VRU's aggregate-only analyst (``aggregate_user``). It knows the
published rule exactly: "*" means 0 to 7; a shown ``s`` means the true count, moved by
up to ``PERTURBATION`` and rounded to the nearest ``ROUND_TO``, so it lies in
``[max(8, s - 4), s + 4]``. It asks many overlapping questions and combines every answer
with a linear-programming attacker (the tightest bounds any combination of the answers
allows, over real-valued counts, so stronger than any rounding or integer argument).

Each attack asserts, for every hidden count it targets:

* the attacker's bounds contain the truth (the published values are what the rule says);
* the bounds leave at least ``ROUND_TO`` possible counts: no count is recovered exactly,
  and none more closely than rounding alone allows (a shown 10 means 8 to 12: five
  possible counts).

The data are built to be sparse: a borough (Southwark) with 0 to 10 incidents a month
over a year, in four wards, and a busier one (Lambeth) beside it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from scipy.optimize import linprog

from hospitals.models import Submission
from incidents.models import Incident
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    SOUTHWARK,
    incident_row,
    incidents_create,
    release_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/aggregates/"
SUPPRESS_MAX, ROUND_TO, PERTURBATION = 7, 5, 4
YEAR = 2025
MONTHLY = [3, 0, 7, 10, 1, 5, 8, 2, 9, 4, 6, 10]  # Southwark: 0 to 10 a month
WARDS = ["E05000101", "E05000102", "E05000103", "E05000104"]


@dataclass
class World:
    rows: list[Incident]
    submissions: list[Submission]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # throttle counters


@pytest.fixture
def sparse(site_a, aggregate_user) -> World:
    rng = random.Random(20261204)
    rows: list[dict[str, Any]] = []
    for month, n in enumerate(MONTHLY, start=1):
        for _ in range(n):
            when = dt.datetime(YEAR, month, rng.randint(1, 28), rng.randint(0, 23), tzinfo=LONDON)
            row = incident_row(SOUTHWARK, when=when)
            row["ward_code"] = rng.choice(WARDS)
            rows.append(row)
        for _ in range(40):  # a busier borough beside it
            when = dt.datetime(YEAR, month, rng.randint(1, 28), rng.randint(0, 23), tzinfo=LONDON)
            rows.append(incident_row(LAMBETH, when=when))
    submission = submission_create(site_a, period=dt.date(YEAR, 1, 1))
    created = incidents_create(submission, rows)
    return World(rows=created, submissions=[submission])


def shown_interval(value: Any) -> tuple[float, float]:
    """What the intruder knows from one published value."""
    if value == "*":
        return 0, SUPPRESS_MAX
    half = ROUND_TO // 2
    return max(SUPPRESS_MAX + 1, value - half - PERTURBATION), value + half + PERTURBATION


@dataclass
class Answer:
    cells: Sequence[int]  # the attacker's variables this published value sums
    value: Any


def attack(n_vars: int, answers: Sequence[Answer], target: int) -> tuple[float, float]:
    """The tightest bounds on variable ``target`` that every answer together allows."""
    rows, limits = [], []
    for answer in answers:
        low, high = shown_interval(answer.value)
        row = np.zeros(n_vars)
        row[list(answer.cells)] = 1
        rows += [row, -row]
        limits += [high, -low]
    bounds = [(0, None)] * n_vars
    cost = np.zeros(n_vars)
    cost[target] = 1
    low = linprog(cost, A_ub=rows, b_ub=limits, bounds=bounds, method="highs")
    high = linprog(-cost, A_ub=rows, b_ub=limits, bounds=bounds, method="highs")
    assert low.status == 0 and high.status == 0, "the published answers are inconsistent"
    return low.fun, -high.fun


def candidates(low: float, high: float) -> int:
    """How many whole counts the bounds leave."""
    return math.floor(high + 1e-6) - math.ceil(low - 1e-6) + 1


def assert_protected(truth: Sequence[int], answers: Sequence[Answer]) -> None:
    for target, true in enumerate(truth):
        low, high = attack(len(truth), answers, target)
        assert low - 1e-6 <= true <= high + 1e-6, (target, true, low, high)
        assert candidates(low, high) >= ROUND_TO, (target, true, low, high)


def total(client: Any, **params: Any) -> Any:
    """One published number: the total of a one-group answer (never refused)."""
    response = client.get(URL, {"group_by": "borough", "borough": SOUTHWARK, **params})
    assert response.status_code == 200, response.content
    return response.json()["total"]


def _truth(rows: Sequence[Incident], key: Callable[[Incident], Any], keys: Sequence[Any]) -> list:
    return [sum(1 for r in rows if r.borough_code == SOUTHWARK and key(r) == k) for k in keys]


# --- the presence attack -------------------------------------------------------------------


def test_presence_probe_is_refused(sparse, api_as, aggregate_user) -> None:
    """The probe that once listed one row per incident: LSOA x week x hour for a sparse
    borough and month. Refused up front, with advice, and nothing about the cells."""
    response = api_as(aggregate_user).get(
        URL,
        {
            "group_by": "lsoa,week,hour",
            "borough": SOUTHWARK,
            "assault_date_from": f"{YEAR}-03-01",
            "assault_date_to": f"{YEAR}-03-31",
        },
    )
    assert response.status_code == 400
    message = response.json()["group_by"][0]
    assert "Choose fewer dimensions" in message
    assert "results" not in response.json()


def test_shape_of_an_answer_says_nothing(sparse, api_as, aggregate_user) -> None:
    """Every month is listed whether it had 0, 1 or 7 incidents, and all of those look
    alike: the number and the keys of the rows are fixed by the question, not the data."""
    client = api_as(aggregate_user)
    params = {
        "group_by": "month",
        "borough": SOUTHWARK,
        "assault_date_from": f"{YEAR}-01-01",
        "assault_date_to": f"{YEAR}-12-31",
    }
    body = client.get(URL, params).json()
    counts = {r["month"]: r["count"] for r in body["results"]}
    assert list(counts) == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    for month, n in enumerate(MONTHLY, start=1):
        if n <= SUPPRESS_MAX:
            assert counts[f"{YEAR}-{month:02d}"] == "*"  # 0 (February) included
    # The same question about a borough with no incidents at all has the same shape.
    empty = client.get(URL, {**params, "borough": "E09000001"})
    assert empty.status_code in (200, 400)
    if empty.status_code == 200:
        assert [r["month"] for r in empty.json()["results"]] == list(counts)


# --- differencing ------------------------------------------------------------------------------


def test_differencing_overlapping_date_ranges(sparse, api_as, aggregate_user) -> None:
    """Every window of whole days within April, from each start day to each end day: the
    intruder combines them all to find each day's count."""
    client = api_as(aggregate_user)
    days = [dt.date(YEAR, 4, d) for d in range(1, 29)]
    answers = []
    for i, start in enumerate(days[::3]):
        for end in days[i * 3 :: 2]:
            value = total(
                client, assault_date_from=start.isoformat(), assault_date_to=end.isoformat()
            )
            answers.append(Answer(range(days.index(start), days.index(end) + 1), value))
    truth = _truth(sparse.rows, lambda r: r.assault_date, days)
    assert sum(truth) == MONTHLY[3]
    assert_protected(truth, answers)


def test_differencing_hour_ranges(sparse, api_as, aggregate_user) -> None:
    """Hour ranges over the year (wrapping past midnight too): each hour's count."""
    client = api_as(aggregate_user)
    year = {"assault_date_from": f"{YEAR}-01-01", "assault_date_to": f"{YEAR}-12-31"}
    answers = []
    for low in range(0, 24, 2):
        for high in range(low, 24, 3):
            answers.append(
                Answer(range(low, high + 1), total(client, hour_from=low, hour_to=high, **year))
            )
    for low, high in ((22, 1), (20, 3), (23, 0)):
        hours = [*range(low, 24), *range(0, high + 1)]
        answers.append(Answer(hours, total(client, hour_from=low, hour_to=high, **year)))
    truth = _truth(sparse.rows, lambda r: r.assault_hour, list(range(24)))
    assert_protected(truth, answers)


def test_differencing_geographies(sparse, api_as, aggregate_user) -> None:
    """Every set of wards in the borough, and the borough itself: each ward's count."""
    client = api_as(aggregate_user)
    answers = [Answer(range(len(WARDS)), total(client))]
    for mask in range(1, 2 ** len(WARDS)):
        chosen = [i for i in range(len(WARDS)) if mask >> i & 1]
        answers.append(Answer(chosen, total(client, ward=[WARDS[i] for i in chosen])))
    truth = _truth(sparse.rows, lambda r: r.ward_code, WARDS)
    assert sum(truth) == sum(MONTHLY)
    assert_protected(truth, answers)


def test_repeating_a_query_gains_nothing(sparse, api_as, aggregate_user) -> None:
    """The same question always gets the same answer (no fresh noise to average away),
    on the API, its export and the pages alike."""
    client = api_as(aggregate_user)
    params = {"group_by": "month", "borough": SOUTHWARK}
    first = client.get(URL, params).json()
    for _ in range(5):
        assert client.get(URL, params).json() == first
    export = client.get("/api/v1/exports/aggregates.csv", params)
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().splitlines()[1:]
    # The export repeats the answer cell for cell, the reason for a hidden count included.
    assert {tuple(line.split(",")) for line in lines} == {
        (r["month"], str(r["count"]), r["suppressed"] or "") for r in first["results"]
    }


def test_sum_of_fine_cells_against_the_coarse_total(sparse, api_as, aggregate_user) -> None:
    """Weekdays of a year and the year's total, plus each month's total: no weekday's
    count follows from the total minus the others."""
    client = api_as(aggregate_user)
    year = {"assault_date_from": f"{YEAR}-01-01", "assault_date_to": f"{YEAR}-12-31"}
    body = client.get(URL, {"group_by": "weekday", "borough": SOUTHWARK, **year}).json()
    answers = [Answer([r["weekday"] - 1], r["count"]) for r in body["results"]]
    answers.append(Answer(range(7), body["total"]))
    for weekday in range(1, 8):  # and each weekday asked alone, and all but it
        answers.append(Answer([weekday - 1], total(client, weekday=[weekday], **year)))
        rest = [d for d in range(1, 8) if d != weekday]
        answers.append(Answer([d - 1 for d in rest], total(client, weekday=rest, **year)))
    truth = _truth(sparse.rows, lambda r: r.assault_weekday, list(range(1, 8)))
    assert_protected(truth, answers)


def test_pinned_release_against_the_current_one(sparse, api_as, aggregate_user, site_a) -> None:
    """A corrected re-upload adds one incident in June. Asking the same question pinned
    to the old release and of the current data does not reveal the change, nor June's
    count."""
    client = api_as(aggregate_user)
    old = sparse.submissions[0]
    release_create(1, [old])
    june = {"assault_date_from": f"{YEAR}-06-01", "assault_date_to": f"{YEAR}-06-30"}
    corrected = submission_create(site_a, period=dt.date(YEAR, 1, 1), version=2)
    copies = [
        {f.name: getattr(r, f.name) for f in Incident._meta.concrete_fields if f.name not in
         ("id", "submission", "site", "source_row", "record_key")}
        for r in Incident.objects.filter(submission=old)
    ]  # fmt: skip
    copies.append(incident_row(SOUTHWARK, when=dt.datetime(YEAR, 6, 15, 20, tzinfo=LONDON)))
    incidents_create(corrected, copies)
    old.status = Submission.Status.SUPERSEDED
    old.save(update_fields=["status"])
    pinned_june = total(client, release=1, **june)
    current_june = total(client, **june)
    pinned_year = total(client, release=1)
    current_year = total(client)
    # Variables: June before the correction, the added incident, the rest of the year.
    answers = [
        Answer([0], pinned_june),
        Answer([0, 1], current_june),
        Answer([0, 2], pinned_year),
        Answer([0, 1, 2], current_year),
    ]
    truth = [MONTHLY[5], 1, sum(MONTHLY) - MONTHLY[5]]
    for target in (0, 1):
        low, high = attack(3, answers, target)
        assert low - 1e-6 <= truth[target] <= high + 1e-6
        assert candidates(low, high) >= ROUND_TO


# --- bounded work ------------------------------------------------------------------------------

FINE_GROUPINGS = [
    "lsoa,month",
    "lsoa,hospital",
    "lsoa,method",
    "borough,lsoa",
    "lsoa,ward,hospital",
]


@pytest.fixture
def london_areas() -> None:
    """Every London LSOA (4,994) and ward (704), as many as the real gazetteer holds, so the
    grids of fine groupings have their real size (boundaries are not needed here)."""
    from accounts.geography import LONDON_BOROUGHS
    from incidents.geocoding.models import Area

    boroughs = sorted(LONDON_BOROUGHS)
    Area.objects.bulk_create(
        [
            Area(kind=Area.Kind.LSOA, code=f"E01{i:06d}", name=f"LSOA {i}",
                 parent_code=boroughs[i % len(boroughs)], geometry="{}")
            for i in range(4994)
        ]
        + [
            Area(kind=Area.Kind.WARD, code=f"E05{i:06d}", name=f"Ward {i}",
                 parent_code=boroughs[i % len(boroughs)], geometry="{}")
            for i in range(704)
        ]
    )  # fmt: skip


@pytest.mark.parametrize("grouping", FINE_GROUPINGS)
def test_fine_groupings_are_answered_or_refused_never_left_running(
    sparse, london_areas, api_as, aggregate_user, grouping, django_assert_max_num_queries
) -> None:
    """The groupings that once ran past the web worker's timeout (secondary suppression
    over thousands of cells): now a clear 400 with advice, decided before anything is
    counted when the grid is too large, never a 500 or a timeout."""
    client = api_as(aggregate_user)
    with django_assert_max_num_queries(40):
        response = client.get(URL, {"group_by": grouping})
    assert response.status_code == 400
    assert "groups" in response.json()["group_by"][0]
