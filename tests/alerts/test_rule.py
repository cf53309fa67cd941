"""The alert rule (incidents/alerts.py, docs/alerts.md): seasonal baseline, trend,
fallback and the Poisson exceedance decision, on made-up monthly series."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from scipy.stats import poisson

from incidents.alert_digests import evaluate, shown_expected
from incidents.alerts import RECENT, SEASONAL, exceedance_p, expectation, is_alert
from incidents.disclosure import SUPPRESSED, DisclosurePolicy
from istv_portal.periods import add_months

MONTH = dt.date(2025, 11, 1)
P_VALUE = 0.01
MIN_OBSERVED = 5


def months_before(month: dt.date, count: int) -> list[dt.date]:
    return [add_months(month, -k) for k in range(1, count + 1)]


def flat(level: float, months: int = 39, month: dt.date = MONTH) -> dict[dt.date, float]:
    return dict.fromkeys(months_before(month, months), level)


def alerts(series: dict[dt.date, float], observed: int, month: dt.date = MONTH) -> bool:
    expect = expectation(series, month)
    assert expect is not None
    return is_alert(observed, expect.expected, p_value=P_VALUE, min_observed=MIN_OBSERVED)


def test_a_seeded_spike_fires() -> None:
    series = flat(10)
    expect = expectation(series, MONTH)
    assert expect is not None
    assert (expect.method, expect.years, expect.expected) == (SEASONAL, 3, 10)
    assert alerts(series, 30)
    assert not alerts(series, 12)  # ordinary noise around 10


def test_a_high_december_every_year_is_not_an_alert() -> None:
    december = dt.date(2025, 12, 1)
    series = flat(10, month=december)
    for years in (1, 2, 3):
        series[add_months(december, -12 * years)] = 40
    expect = expectation(series, december)
    assert expect is not None and expect.expected == pytest.approx(40)
    assert not alerts(series, 44, december)
    # The same count in a month that is usually quiet is an alert.
    assert alerts(series, 44, MONTH)


def test_recent_trend_raises_the_expectation_within_its_clamp() -> None:
    series = flat(10)
    for month in months_before(MONTH, 3):
        series[month] = 15  # the last three months ran 1.5 times last years' level
    expect = expectation(series, MONTH)
    assert expect is not None
    assert expect.trend == pytest.approx(1.5) and expect.expected == pytest.approx(15)
    assert not alerts(series, 22)
    for month in months_before(MONTH, 3):
        series[month] = 100
    expect = expectation(series, MONTH)
    assert expect is not None and expect.trend == 2.0 and expect.expected == pytest.approx(20)


def test_without_an_earlier_year_the_previous_months_are_the_baseline() -> None:
    # Eleven months of history: the same month a year before is not among them.
    series = dict(zip(months_before(MONTH, 11), [8, 12] * 5 + [10], strict=True))
    expect = expectation(series, MONTH)
    assert expect is not None
    assert (expect.method, expect.years, expect.trend, expect.expected) == (RECENT, 0, 1.0, 10)
    assert alerts(series, 25) and not alerts(series, 13)


def test_no_history_gives_no_expectation() -> None:
    assert expectation({}, MONTH) is None
    # A month only after the compared one is no history either.
    assert expectation({add_months(MONTH, 1): 10.0}, MONTH) is None


def test_exceedance_is_the_poisson_upper_tail() -> None:
    assert exceedance_p(1, 1.0) == pytest.approx(1 - math.exp(-1))
    assert exceedance_p(30, 10.0) == pytest.approx(float(poisson.sf(29, 10.0)))
    assert exceedance_p(0, 10.0) == 1.0
    assert exceedance_p(3, 0.0) == 0.0


def test_small_counts_and_falls_never_alert() -> None:
    # Nothing expected and 4 seen: very unlikely, but below the minimum count.
    assert not is_alert(4, 0.0, p_value=P_VALUE, min_observed=MIN_OBSERVED)
    assert is_alert(5, 0.0, p_value=P_VALUE, min_observed=MIN_OBSERVED)
    assert not is_alert(2, 40.0, p_value=P_VALUE, min_observed=1)


def test_published_figures_decide_for_users_under_disclosure_control() -> None:
    policy = DisclosurePolicy(suppress_max=7, round_to=5, perturbation_max=4)
    months = months_before(MONTH, 39)
    counts = dict.fromkeys(months, 10)
    moved = evaluate(
        {**counts, MONTH: 30},
        MONTH,
        set(months),
        policy=policy,
        p_value=P_VALUE,
        min_observed=MIN_OBSERVED,
    )
    assert moved is not None and (moved.observed, moved.expected) == (30, 10)
    # A hidden month never alerts, whatever lies behind the "*".
    hidden = {**counts, MONTH: SUPPRESSED}
    assert evaluate(hidden, MONTH, set(months), policy=policy, p_value=0.5, min_observed=1) is None
    # Hidden months of history count as the middle of their range (3.5 here).
    quiet = dict.fromkeys(months, SUPPRESSED)
    moved = evaluate(
        {**quiet, MONTH: 15},
        MONTH,
        set(months),
        policy=policy,
        p_value=P_VALUE,
        min_observed=MIN_OBSERVED,
    )
    assert moved is not None and moved.expected == SUPPRESSED
    assert moved.p_value == pytest.approx(float(poisson.sf(14, 3.5)))


def test_incomplete_months_are_not_history() -> None:
    months = months_before(MONTH, 39)
    counts = dict.fromkeys(months, 10)
    for years in (1, 2, 3):
        counts[add_months(MONTH, -12 * years)] = 2  # partial months, low
    complete = {m for m in months if m.month != MONTH.month}
    moved = evaluate(
        {**counts, MONTH: 14},
        MONTH,
        complete,
        policy=None,
        p_value=P_VALUE,
        min_observed=MIN_OBSERVED,
    )
    assert moved is None  # judged against the last 12 months (10), not the partial 2s


def test_expected_is_shown_like_a_published_cell_under_disclosure_control() -> None:
    policy = DisclosurePolicy(suppress_max=7, round_to=5, perturbation_max=4)
    assert shown_expected(12.4, None) == 12
    assert shown_expected(12.4, policy) == 10
    assert shown_expected(13.0, policy) == 15
    assert shown_expected(6.2, policy) == SUPPRESSED
