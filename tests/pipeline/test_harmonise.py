"""Dates and times, code harmonisation rules, text cleaning, London time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents import codes
from ingest.pipeline.dates import (
    EXCEL_EPOCH,
    BadValue,
    excel_serial_to_datetime,
    parse_datetime,
    parse_time,
)
from ingest.pipeline.harmonise import (
    LONDON,
    clean_text,
    location_type_from_description,
    london_datetime,
    resolve_location_type,
    resolve_method,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("03/05/2025", (date(2025, 5, 3), None)),
        ("3/5/25", (date(2025, 5, 3), None)),
        ("03-05-2025", (date(2025, 5, 3), None)),
        ("03.05.2025 23:10", (date(2025, 5, 3), time(23, 10))),
        ("2025-05-03", (date(2025, 5, 3), None)),
        ("2025-05-03T23:10:00", (date(2025, 5, 3), time(23, 10))),
        ("2025-05-03 23:10:05+01:00", (date(2025, 5, 3), time(23, 10, 5))),
        ("3 May 2025", (date(2025, 5, 3), None)),
        ("03-May-25 11:10pm", (date(2025, 5, 3), time(23, 10))),
        ("45780", (date(2025, 5, 3), None)),
        ("45780.5", (date(2025, 5, 3), time(12, 0))),
        (45780, (date(2025, 5, 3), None)),
        (45780.75, (date(2025, 5, 3), time(18, 0))),
        (datetime(2025, 5, 3, 23, 10), (date(2025, 5, 3), time(23, 10))),
        (date(2025, 5, 3), (date(2025, 5, 3), None)),
        ("", None),
        (None, None),
    ],
)
def test_parse_datetime(cell: object, expected: object) -> None:
    assert parse_datetime(cell) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "cell",
    [
        "31/02/2025",
        "32/01/2025",
        "12/31/2025",
        "2025-13-45",
        "yesterday",
        "5th Smarch 2025",
        "25:00",
        True,
        time(1, 0),
    ],
)
def test_bad_dates(cell: object) -> None:
    with pytest.raises(BadValue):
        parse_datetime(cell)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("23:10", time(23, 10)),
        ("2310", time(23, 10)),
        ("23.10", time(23, 10)),
        ("11:10 pm", time(23, 10)),
        ("24:00", time(0, 0)),
        ("07:05:09", time(7, 5, 9)),
        (0.5, time(12, 0)),
        (time(1, 2), time(1, 2)),
        ("03/05/2025 23:10", time(23, 10)),
        ("n/k", None),
        ("", None),
        ("unknown", None),
        ("99:99", None),
        (None, None),
    ],
)
def test_parse_time(cell: object, expected: object) -> None:
    assert parse_time(cell) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("cell", ["25:10", "12:61", "noon-ish", "13:00pm", 3.5])
def test_bad_times(cell: object) -> None:
    with pytest.raises(BadValue):
        parse_time(cell)  # type: ignore[arg-type]


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2149, 12, 31)))
def test_uk_and_iso_and_serial_round_trip(d: date) -> None:
    assert parse_datetime(d.strftime("%d/%m/%Y")) == (d, None)
    assert parse_datetime(d.isoformat()) == (d, None)
    serial = (d - EXCEL_EPOCH).days
    assert parse_datetime(str(serial)) == (d, None)
    assert excel_serial_to_datetime(serial + 0.25) == (d, time(6, 0))


@given(st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_time_round_trip(t: time) -> None:
    assert parse_time(t.strftime("%H:%M")) == t
    assert parse_time(t.strftime("%H%M")) == t


# -- codes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "code", "rule"),
    [
        ("Fist", "body_part", "method:label"),
        ("kicked", "body_part", "method:label"),
        ("KNIFE", "knife_sharp", "method:label"),
        ("stabbed", "knife_sharp", "method:label"),
        ("stabbed x2 in chest", "knife_sharp", "method:free_text"),
        ("hit with a bottle", "glass_bottle", "method:free_text"),
        ("bottle", "glass_bottle", "method:label"),
        ("acid thrown", "corrosive", "method:free_text"),
        ("01", "body_part", "method:national_code"),
        ("1", "body_part", "method:national_code"),
        ("03", "knife_sharp", "method:national_code"),
        ("242016008", "knife_sharp", "method:snomed"),
        ("n/k", "not_known", "method:label"),
        ("Spork", None, "method:unknown"),
        ("77", None, "method:unknown_code"),
        ("", None, "method:blank"),
    ],
)
def test_resolve_method(raw: str, code: str | None, rule: str) -> None:
    res = resolve_method(raw)
    assert (res.code, res.rule) == (code, rule)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Street", "street"),
        ("pub", "licensed_premises"),
        ("Pub/club", "licensed_premises"),
        ("bus", "public_transport"),
        ("on the bus", "public_transport"),
        ("Home", "dwelling"),
        ("pt's home", "dwelling"),
        ("02", "street"),
        ("04", "licensed_premises"),
        ("264362003", "dwelling"),
        ("Takeaway", "commercial"),
        ("School/college", "school"),
        ("Custody", "healthcare_custody"),
        ("Park", "park"),
        ("Not known", "not_known"),
    ],
)
def test_resolve_location_type(raw: str, code: str) -> None:
    assert resolve_location_type(raw).code == code


def test_profile_overrides_win() -> None:
    res = resolve_method("Spork", {"spork": "other"})
    assert (res.code, res.rule) == ("other", "method:profile_value")
    assert resolve_location_type("Car", {"car": "other"}).code == "other"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("o/s Brixton stn", "public_transport"),
        ("Black Lion pub, Commercial Road", "licensed_premises"),
        ("outside Tesco Rye Lane SE15", "commercial"),
        ("junction of Mare St and Well St", "street"),
        ("friend's flat", "dwelling"),
        ("n/k", None),
        ("on holiday in Spain", None),
    ],
)
def test_location_type_from_description(text: str, code: str | None) -> None:
    assert location_type_from_description(text) == code


def test_code_tables_consistent() -> None:
    methods, locations = set(codes.Method), set(codes.LocationType)
    assert set(codes.METHOD_LABEL_SYNONYMS.values()) <= methods
    assert set(codes.LOCATION_LABEL_SYNONYMS.values()) <= locations
    assert {e.code for e in codes.NATIONAL_METHOD_CODES} == methods
    assert {e.code for e in codes.NATIONAL_LOCATION_CODES} == locations
    assert {e.code for e in codes.SNOMED_METHOD} == methods
    assert {e.code for e in codes.SNOMED_LOCATION} == locations
    # Nothing unverified is presented as verified.
    assert not any(
        e.verified
        for e in (
            *codes.NATIONAL_METHOD_CODES,
            *codes.SNOMED_METHOD,
            *codes.SNOMED_LOCATION,
            *codes.NATIONAL_LOCATION_CODES,
        )
    )
    assert set(codes.METHOD_LABELS) == methods and set(codes.LOCATION_TYPE_LABELS) == locations


# -- text and time ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "text", "rules"),
    [
        ("  o/s   Brixton\tstn ", "o/s Brixton stn", ("text:whitespace",)),
        ("O/S BRIXTON STN SW9 8HE", "o/s Brixton Stn SW9 8HE", ("text:case",)),
        ("BLACK LION PUB RLH", "Black Lion Pub RLH", ("text:case",)),
        ("- -", "", ("text:placeholder_blanked",)),
        ("n/k", "", ("text:placeholder_blanked",)),
        ("Sainsbury's", "Sainsbury's", ()),
        ('"street"', "street", ("text:whitespace",)),
    ],
)
def test_clean_text(raw: str, text: str, rules: tuple[str, ...]) -> None:
    assert clean_text(raw) == (text, rules)


def test_london_datetime_handles_bst_and_gmt() -> None:
    summer = london_datetime(date(2025, 7, 1), time(23, 0))
    winter = london_datetime(date(2025, 1, 1), time(23, 0))
    assert summer.utcoffset() == timedelta(hours=1)
    assert winter.utcoffset() == timedelta(0)
    assert summer.tzinfo is LONDON
    assert london_datetime(date(2025, 7, 1), None).time() == time(0, 0)
