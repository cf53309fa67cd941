"""The quality scorecard of one submission.

Pure computation: the submission service gathers the inputs (accepted rows, geocode
outcomes, the report counts, the site's history and London's totals) and stores
``Scorecard.to_json()`` on the submission. Nothing here reads the database.

Volume is judged against the site's own history in a seasonal-aware way: a month is
flagged only when it is beyond the threshold from *both* the site's 12-month median and
the same month last year (when known), so a summer peak the site also had last summer is
not called a spike.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypedDict, cast

from incidents.geocoding import classify
from ingest.pipeline import HarmonisedRow
from istv_portal.periods import Period, due_date

# Harmonised codes that mean "the hospital did not say".
NOT_KNOWN = "not_known"
UNKNOWN_CODE_ERRORS = ("V007_UNKNOWN_METHOD", "V008_UNKNOWN_LOCATION_TYPE")
MIN_HISTORY_MONTHS = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Bars a submission must meet to be published automatically (settings)."""

    max_set_aside_share: float = 0.05
    min_geocoded_share: float = 0.5
    max_unknown_code_share: float = 0.05
    volume_change: float = 0.4  # flag beyond ±40 % of the expected volume

    @classmethod
    def from_settings(cls, values: Mapping[str, float] | None) -> Thresholds:
        return cls(**{k: float(v) for k, v in (values or {}).items()})


@dataclass(frozen=True, slots=True)
class History:
    """The site's accepted-row counts by month (first of month → count), and London's."""

    site_months: Mapping[date, int] = field(default_factory=dict)
    london_months: Mapping[date, int] = field(default_factory=dict)
    london_this_month: int = 0  # other sites' accepted rows for this period


@dataclass(slots=True)
class Volume:
    count: int
    median_12m: float | None
    same_month_last_year: int | None
    ratio_to_median: float | None
    ratio_to_last_year: float | None
    flag: str  # "", "drop", "spike", "no_history"


@dataclass(slots=True)
class LondonShare:
    share_this_month: float | None
    share_12m: float | None
    flag: str  # "", "low", "high", "no_history"


@dataclass(slots=True)
class Timeliness:
    due: str
    uploaded: str
    days_late: int
    on_time: bool


class VolumeJSON(TypedDict):
    count: int
    median_12m: float | None
    same_month_last_year: int | None
    ratio_to_median: float | None
    ratio_to_last_year: float | None
    flag: str


class LondonShareJSON(TypedDict):
    share_this_month: float | None
    share_12m: float | None
    flag: str


class TimelinessJSON(TypedDict):
    due: str
    uploaded: str
    days_late: int
    on_time: bool


class ScorecardJSON(TypedDict):
    """``Scorecard.to_json()``: the scorecard stored on a submission."""

    rows_read: int
    accepted: int
    set_aside: int
    set_aside_share: float
    completeness: dict[str, float]
    geocoded_by_precision: dict[str, int]
    geocoded_share: float
    unknown_code_share: float
    timeliness: TimelinessJSON
    volume: VolumeJSON
    london: LondonShareJSON
    passes: bool
    failed_checks: list[str]


@dataclass(slots=True)
class Scorecard:
    rows_read: int
    accepted: int
    set_aside: int
    set_aside_share: float
    completeness: dict[str, float]
    geocoded_by_precision: dict[str, int]
    geocoded_share: float
    unknown_code_share: float
    timeliness: Timeliness
    volume: Volume
    london: LondonShare
    passes: bool = False
    failed_checks: list[str] = field(default_factory=list)

    def to_json(self) -> ScorecardJSON:
        # asdict() is typed dict[str, Any]; its keys are these fields, hence the cast.
        return cast(ScorecardJSON, asdict(self))


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def completeness(rows: Sequence[HarmonisedRow]) -> dict[str, float]:
    """Share of accepted rows with each ISTV item present (and known)."""
    n = len(rows)
    other = [r for r in rows if r.method_code == "other"]
    return {
        "arrival_date": _share(sum(r.arrival_at is not None for r in rows), n),
        "arrival_time": _share(sum(r.arrival_time_known for r in rows), n),
        "assault_date": _share(n, n),
        "assault_time": _share(sum(r.assault_time_known for r in rows), n),
        "method": _share(sum(r.method_code != NOT_KNOWN for r in rows), n),
        "method_other_text": _share(sum(bool(r.method_other) for r in other), len(other))
        if other
        else 1.0,
        "location_type": _share(sum(r.location_type_code != NOT_KNOWN for r in rows), n),
        "location_description": _share(sum(bool(r.location_description) for r in rows), n),
    }


def timeliness(period: Period, uploaded: date) -> Timeliness:
    due = due_date(period)
    late = max(0, (uploaded - due).days)
    return Timeliness(due.isoformat(), uploaded.isoformat(), late, late == 0)


def _months_before(period: Period, n: int) -> list[date]:
    """The ``n`` months before ``period``, latest first."""
    return [period.shifted(-i).start for i in range(1, n + 1)]


def volume(count: int, period: Period, history: History, threshold: float) -> Volume:
    previous = [
        history.site_months[m] for m in _months_before(period, 12) if m in history.site_months
    ]
    last_year = history.site_months.get(date(period.year - 1, period.month, 1))
    if len(previous) < MIN_HISTORY_MONTHS:
        return Volume(count, None, last_year, None, None, "no_history")
    median = float(statistics.median(previous))
    r_median = round(count / median, 3) if median else None
    r_last = round(count / last_year, 3) if last_year else None
    ratios = [r for r in (r_median, r_last) if r is not None]
    flag = ""
    if ratios and all(r < 1 - threshold for r in ratios):
        flag = "drop"
    elif ratios and all(r > 1 + threshold for r in ratios):
        flag = "spike"
    return Volume(count, median, last_year, r_median, r_last, flag)


def london_share(count: int, period: Period, history: History, threshold: float) -> LondonShare:
    total = history.london_this_month + count
    share = round(count / total, 4) if total else None
    months = _months_before(period, 12)
    site_12 = sum(history.site_months.get(m, 0) for m in months)
    london_12 = sum(history.london_months.get(m, 0) for m in months)
    if not london_12 or not site_12 or share is None:
        return LondonShare(share, None, "no_history")
    typical = round(site_12 / london_12, 4)
    flag = ""
    if share < typical * (1 - threshold):
        flag = "low"
    elif share > typical * (1 + threshold):
        flag = "high"
    return LondonShare(share, typical, flag)


# Rows the geocoder answers without a point by design, labelled by their class: a home is
# never placed (privacy), abroad and outside London are not on a London map, and an
# unknown description (blank, "not known") has nothing to place; completeness counts the
# blank ones. The placed share is measured over the other rows, the ones that describe a
# place in London; with home and unknown rows counted against it, every ED's file failed.
NOT_PLACED_BY_DESIGN = frozenset(
    {classify.HOME, classify.ABROAD, classify.OUTSIDE_LONDON, classify.UNKNOWN}
)
NOT_PLACED = frozenset({"unplaced", "pending", *NOT_PLACED_BY_DESIGN})


def placed_share(by_precision: Mapping[str, int]) -> float:
    """Of the rows that describe a place in London, the share placed on the map (1.0 when
    no row does: nothing could have been placed)."""
    placeable = sum(n for p, n in by_precision.items() if p not in NOT_PLACED_BY_DESIGN)
    placed = sum(n for p, n in by_precision.items() if p not in NOT_PLACED)
    return _share(placed, placeable) if placeable else 1.0


def build_scorecard(
    *,
    rows: Sequence[HarmonisedRow],
    precisions: Sequence[str],
    rows_read: int,
    set_aside: int,
    errors_by_code: Mapping[str, int],
    period: Period,
    uploaded: date,
    history: History,
    thresholds: Thresholds,
) -> Scorecard:
    """``precisions`` has one entry per accepted row: a geocoder precision (``street``,
    ``postcode_unit`` …), ``unplaced`` (geocoded, no point), a class not placed by design
    (``home`` …) or ``pending``."""
    by_precision = Counter(precisions)
    # Values no rule could map. A recorded "not known" is an answer, not an unknown code:
    # it counts against completeness instead (ED data has many; flagging them flagged
    # every file).
    unknown = sum(errors_by_code.get(code, 0) for code in UNKNOWN_CODE_ERRORS)
    card = Scorecard(
        rows_read=rows_read,
        accepted=len(rows),
        set_aside=set_aside,
        set_aside_share=_share(set_aside, rows_read),
        completeness=completeness(rows),
        geocoded_by_precision=dict(sorted(by_precision.items())),
        geocoded_share=placed_share(by_precision),
        unknown_code_share=_share(unknown, rows_read),
        timeliness=timeliness(period, uploaded),
        volume=volume(len(rows), period, history, thresholds.volume_change),
        london=london_share(len(rows), period, history, thresholds.volume_change),
    )
    failed = []
    if card.set_aside_share > thresholds.max_set_aside_share:
        failed.append("set_aside_share")
    if card.geocoded_share < thresholds.min_geocoded_share:
        failed.append("geocoded_share")
    if card.unknown_code_share > thresholds.max_unknown_code_share:
        failed.append("unknown_code_share")
    if card.volume.flag in ("drop", "spike"):
        failed.append("volume")
    if not rows:
        failed.append("no_rows")
    card.failed_checks = failed
    card.passes = not failed
    return card


# The order ``build_scorecard`` lists failed checks in (kept when one is re-judged).
CHECK_ORDER = ("set_aside_share", "geocoded_share", "unknown_code_share", "volume", "no_rows")


def with_geocodes(
    card: Mapping[str, Any], by_precision: Mapping[str, int], thresholds: Thresholds
) -> dict[str, Any]:
    """A stored scorecard (``Scorecard.to_json()``) with its geocode figures recomputed.

    Used when rows stored ``pending`` are geocoded later (the retry job): the counts by
    precision, the placed share and the geocode check change; every other figure was
    measured on the file and stays as it was, so the submission page stays truthful.
    """
    out = dict(card)
    counts = {str(p): int(n) for p, n in sorted(by_precision.items()) if n}
    out["geocoded_by_precision"] = counts
    out["geocoded_share"] = placed_share(counts)
    failed = {str(c) for c in card.get("failed_checks") or ()} - {"geocoded_share"}
    if out["geocoded_share"] < thresholds.min_geocoded_share:
        failed.add("geocoded_share")
    out["failed_checks"] = sorted(
        failed, key=lambda c: CHECK_ORDER.index(c) if c in CHECK_ORDER else len(CHECK_ORDER)
    )
    out["passes"] = not out["failed_checks"]
    return out
