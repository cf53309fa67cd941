"""The alert rule for saved queries: is a month's count above what its history leads us to
expect (docs/alerts.md)? Pure functions over month → count series, no database.

The expectation for a month ``M``:

* **Seasonal baseline**: the mean of the same calendar month in up to ``EARLIER_YEARS``
  earlier years (those present in the series: complete months only).
* **Recent trend**: the ``TREND_MONTHS`` months before ``M`` against the same months of
  those earlier years (their mean), as a ratio clamped to ``TREND_CLAMP``, so a query that
  has been running higher (or lower) lately expects more (or less) this month too. With
  no comparable months, or none in the earlier years, the factor is 1.
* **Fallback**: with no earlier year, the mean of the (up to 12) previous months present.
  With nothing at all, there is no expectation and no alert.

The decision is a one-sided Poisson exceedance test: ``P(X >= observed)`` for ``X`` Poisson
with the expected count as its mean must be below the threshold (``ALERT_P_VALUE``), and
the observed count must reach a minimum (``ALERT_MIN_OBSERVED``) so that one or two
incidents where none were expected never alert. Only rises alert, never falls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import fmean

from scipy.stats import poisson

from istv_portal.periods import add_months

EARLIER_YEARS = 3
TREND_MONTHS = 3
TREND_CLAMP = (0.5, 2.0)
FALLBACK_MONTHS = 12
SEASONAL = "seasonal"
RECENT = "recent_mean"


@dataclass(frozen=True)
class Expectation:
    """What a month was expected to hold, and how that was worked out."""

    expected: float
    method: str  # SEASONAL or RECENT
    years: int  # earlier years in the seasonal baseline (0 for the fallback)
    trend: float  # the clamped recent-trend factor applied (1.0 when none)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def trend_factor(series: Mapping[dt.date, float], month: dt.date, years: list[int]) -> float:
    """The recent months against the same months ``years`` earlier, clamped; 1.0 when
    there is nothing to compare (a month missing on either side is left out of both)."""
    recent_months = [
        m
        for m in (add_months(month, -k) for k in range(1, TREND_MONTHS + 1))
        if m in series and all(add_months(m, -12 * y) in series for y in years)
    ]
    if not recent_months:
        return 1.0
    recent = sum(series[m] for m in recent_months)
    before = fmean(sum(series[add_months(m, -12 * y)] for m in recent_months) for y in years)
    if before <= 0:
        return 1.0
    return clamp(recent / before, *TREND_CLAMP)


def expectation(series: Mapping[dt.date, float], month: dt.date) -> Expectation | None:
    """The expected count for ``month`` (a first day) from the other months of ``series``
    (first days → counts; only months whose data is complete belong in it)."""
    years = [y for y in range(1, EARLIER_YEARS + 1) if add_months(month, -12 * y) in series]
    if years:
        baseline = fmean(series[add_months(month, -12 * y)] for y in years)
        factor = trend_factor(series, month, years)
        return Expectation(baseline * factor, SEASONAL, len(years), factor)
    previous = [
        series[m]
        for m in (add_months(month, -k) for k in range(1, FALLBACK_MONTHS + 1))
        if m in series
    ]
    if not previous:
        return None
    return Expectation(fmean(previous), RECENT, 0, 1.0)


def exceedance_p(observed: int, expected: float) -> float:
    """``P(X >= observed)`` for ``X ~ Poisson(expected)``: how surprising the count is."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0  # nothing was expected, and something came
    return float(poisson.sf(observed - 1, expected))


def is_alert(observed: int, expected: float, *, p_value: float, min_observed: int) -> bool:
    """The rule: enough incidents, more than expected, and unlikely by chance alone."""
    return (
        observed >= min_observed
        and observed > expected
        and exceedance_p(observed, expected) < p_value
    )
