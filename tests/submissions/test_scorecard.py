"""The quality scorecard: completeness, timeliness, seasonal-aware volume, London share."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from ingest.pipeline import HarmonisedRow
from ingest.scorecard import History, Thresholds, build_scorecard, volume
from istv_portal.periods import Period, due_date

LONDON = ZoneInfo("Europe/London")
MAY = Period(2025, 5)


def _row(n: int, *, method: str = "body_part", time_known: bool = True) -> HarmonisedRow:
    at = datetime(2025, 5, 3, 22, 0, tzinfo=LONDON)
    return HarmonisedRow(
        source_row=n,
        arrival_at=at,
        arrival_time_known=True,
        assault_at=at,
        assault_time_known=time_known,
        method_code=method,
        method_raw="Fist",
        method_other="",
        location_type_code="street",
        location_type_raw="Street",
        location_description="Mare St",
        assault_month=date(2025, 5, 1),
        assault_weekday=5,
        assault_hour=22,
    )


def _history(site: dict[date, int], london: dict[date, int] | None = None, now: int = 0) -> History:
    return History(site, london or {}, now)


def test_due_date_is_the_due_day_of_the_following_month() -> None:
    assert due_date(MAY) == date(2025, 6, 15)
    assert due_date(Period(2025, 12)) == date(2026, 1, 15)


def test_card_counts_completeness_geocoding_unknowns_and_lateness() -> None:
    rows = [
        _row(i, time_known=i % 2 == 0, method="not_known" if i == 0 else "body_part")
        for i in range(10)
    ]
    card = build_scorecard(
        rows=rows,
        precisions=["street"] * 6 + ["unplaced"] * 2 + ["pending"] * 2,
        rows_read=12,
        set_aside=2,
        errors_by_code={"V007_UNKNOWN_METHOD": 1},
        period=MAY,
        uploaded=date(2025, 7, 10),
        history=_history({}),
        thresholds=Thresholds(),
    )
    assert card.completeness["assault_time"] == 0.5
    assert card.completeness["method"] == 0.9
    assert card.geocoded_by_precision == {"pending": 2, "street": 6, "unplaced": 2}
    assert card.geocoded_share == 0.6
    # Only the value no rule could map: the row recorded as "not known" is an answer
    # (counted against completeness above), not an unknown code.
    assert card.unknown_code_share == round(1 / 12, 4)
    assert card.timeliness.days_late == 25 and not card.timeliness.on_time
    assert card.volume.flag == "no_history"
    assert not card.passes and "set_aside_share" in card.failed_checks
    assert card.to_json()["timeliness"]["due"] == "2025-06-15"


def _geocode_check(precisions: list[str]) -> tuple[float, bool]:
    card = build_scorecard(
        rows=[_row(i) for i in range(len(precisions))],
        precisions=precisions,
        rows_read=len(precisions),
        set_aside=0,
        errors_by_code={},
        period=MAY,
        uploaded=date(2025, 6, 10),
        history=_history({}),
        thresholds=Thresholds(min_geocoded_share=0.5),
    )
    return card.geocoded_share, "geocoded_share" in card.failed_checks


def test_rows_not_placed_by_design_do_not_fail_the_geocode_check() -> None:
    """A typical ED month: a fifth at home, a fifth with no place described, a few abroad
    or outside London. Of the rows that describe a place, 3 in 4 are placed: the file
    passes, though fewer than half of all its rows are on the map."""
    by_design = ["home"] * 22 + ["unknown"] * 18 + ["abroad", "outside_london"]
    described = ["street"] * 30 + ["venue"] * 13 + ["unplaced"] * 15
    share, failed = _geocode_check(by_design + described)
    assert share == round(43 / 58, 4)
    assert not failed


def test_places_described_but_not_found_fail_the_geocode_check() -> None:
    """The same month where the geocoder found few of the places described (a wrong
    column mapped as the location, say) still fails."""
    by_design = ["home"] * 22 + ["unknown"] * 18
    described = ["street"] * 10 + ["unplaced"] * 40 + ["pending"] * 10
    share, failed = _geocode_check(by_design + described)
    assert share == round(10 / 60, 4)
    assert failed


def test_a_file_with_no_place_described_is_not_failed_for_geocoding() -> None:
    assert _geocode_check(["home"] * 5 + ["unknown"] * 3) == (1.0, False)


def _months(values: list[int]) -> dict[date, int]:
    """Monthly counts starting May 2024 (the 12 months before May 2025)."""
    out, p = {}, Period(2024, 5)
    for v in values:
        out[p.start] = v
        p = Period(p.year + p.month // 12, p.month % 12 + 1)
    return out


def test_seasonal_peak_seen_last_year_is_not_a_spike() -> None:
    # Last May 150, the rest of the year ~100: 150 this May is seasonal, not a spike.
    history = _history(_months([150] + [100] * 11))
    assert volume(150, MAY, history, 0.4).flag == ""
    assert volume(160, MAY, history, 0.4).ratio_to_last_year == round(160 / 150, 3)


def test_drop_and_spike_beyond_both_references_are_flagged() -> None:
    history = _history(_months([100] * 12))
    assert volume(40, MAY, history, 0.4).flag == "drop"
    assert volume(200, MAY, history, 0.4).flag == "spike"
    assert volume(120, MAY, history, 0.4).flag == ""


def test_london_share_compares_with_the_sites_usual_share() -> None:
    site = _months([100] * 12)
    london = _months([1000] * 12)
    rows = [_row(i) for i in range(30)]
    card = build_scorecard(
        rows=rows,
        precisions=["street"] * 30,
        rows_read=30,
        set_aside=0,
        errors_by_code={},
        period=MAY,
        uploaded=date(2025, 6, 5),
        history=_history(site, london, now=900),
        thresholds=Thresholds(),
    )
    assert card.london.share_12m == 0.1
    assert card.london.share_this_month == round(30 / 930, 4)
    assert card.london.flag == "low"
    assert card.volume.flag == "drop"
