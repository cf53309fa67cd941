"""Row validation: every code, all problems at once, values only where safe."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from ingest.pipeline.limits import Limits
from ingest.pipeline.types import Cell, ColumnMapping, Field, Severity
from ingest.pipeline.validation import RowCode, RowValidator, safe_value
from istv_portal.periods import Period

MAPPING = ColumnMapping(
    columns={
        Field.ARRIVAL_DATE: "Arrival Date",
        Field.ARRIVAL_TIME: "Arrival Time",
        Field.ASSAULT_DATE: "Assault Date",
        Field.ASSAULT_TIME: "Assault Time",
        Field.METHOD: "Method",
        Field.METHOD_OTHER: "Method Other",
        Field.LOCATION_TYPE: "Location Type",
        Field.LOCATION_DESCRIPTION: "Where",
    }
)
GOOD: dict[str, Cell] = {
    "Arrival Date": "03/05/2025",
    "Arrival Time": "23:40",
    "Assault Date": "03/05/2025",
    "Assault Time": "23:10",
    "Method": "Fist",
    "Method Other": None,
    "Location Type": "Street",
    "Where": "o/s Brixton stn",
}


def validator(**limits: int) -> RowValidator:
    return RowValidator(mapping=MAPPING, period=Period(2025, 5), limits=Limits(**limits))


def codes_of(**changes: Cell) -> list[str]:
    out = validator().check(7, {**GOOD, **changes})
    return [i.code for i in out.issues]


def test_good_row_harmonised() -> None:
    out = validator().check(7, GOOD)
    assert out.issues == []
    row = out.row
    assert row is not None
    assert row.source_row == 7
    assert row.assault_at == datetime(2025, 5, 3, 23, 10, tzinfo=row.assault_at.tzinfo)
    assert str(row.assault_at.tzinfo) == "Europe/London"
    assert row.arrival_at is not None and row.arrival_at.hour == 23 and row.arrival_time_known
    assert row.assault_time_known
    assert (row.method_code, row.method_raw) == ("body_part", "Fist")
    assert (row.location_type_code, row.location_type_raw) == ("street", "Street")
    assert row.location_description == "o/s Brixton stn"
    assert (row.assault_month, row.assault_weekday, row.assault_hour) == (date(2025, 5, 1), 5, 23)
    assert row.rules == ["method:label", "location_type:label"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Assault Date": None}, RowCode.MISSING_MANDATORY),
        ({"Method": None}, RowCode.MISSING_MANDATORY),
        ({"Location Type": " "}, RowCode.MISSING_MANDATORY),
        ({"Assault Date": "31/02/2025"}, RowCode.BAD_DATE),
        ({"Arrival Date": "2025-13-45"}, RowCode.BAD_DATE),
        ({"Assault Time": "25:99"}, RowCode.BAD_TIME),
        ({"Assault Time": "23:50", "Arrival Time": "23:40"}, RowCode.ASSAULT_AFTER_ARRIVAL),
        ({"Assault Date": "04/05/2025", "Assault Time": None}, RowCode.ASSAULT_AFTER_ARRIVAL),
        ({"Assault Date": "01/04/2025"}, RowCode.ASSAULT_TOO_EARLY),
        ({"Arrival Date": "20/06/2025", "Assault Date": "20/06/2025"}, RowCode.OUTSIDE_PERIOD),
        ({"Method": "Spork"}, RowCode.UNKNOWN_METHOD),
        ({"Location Type": "77"}, RowCode.UNKNOWN_LOCATION_TYPE),
        ({"Where": "x" * 256}, RowCode.TEXT_TOO_LONG),
        ({"Method": "Other", "Method Other": "y" * 300}, RowCode.TEXT_TOO_LONG),
    ],
)
def test_error_codes(changes: dict[str, Cell], code: RowCode) -> None:
    out = validator().check(9, {**GOOD, **changes})
    assert out.row is None
    errors = [i for i in out.issues if i.severity is Severity.ERROR]
    assert [i.code for i in errors] == [code]
    assert errors[0].row == 9
    assert errors[0].message and errors[0].message[0].isupper()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Assault Time": "n/k"}, RowCode.TIME_NOT_KNOWN),
        ({"Arrival Date": None, "Arrival Time": None}, RowCode.ARRIVAL_MISSING),
        ({"Method": "Other"}, RowCode.OTHER_WITHOUT_TEXT),
        ({"Where": None}, RowCode.DESCRIPTION_MISSING),
        ({"Where": "call 07700 900123"}, RowCode.TEXT_REDACTED),
        ({"Location Type": "n/k", "Where": "o/s Brixton stn"}, RowCode.LOCATION_TYPE_INFERRED),
    ],
)
def test_warning_codes_accept_the_row(changes: dict[str, Cell], code: RowCode) -> None:
    out = validator().check(9, {**GOOD, **changes})
    assert out.row is not None
    assert [i.code for i in out.issues] == [code]
    assert out.issues[0].severity is Severity.WARNING
    assert code in out.row.warnings


def test_time_not_known_flags() -> None:
    row = validator().check(2, {**GOOD, "Assault Time": "n/k"}).row
    assert row is not None
    assert not row.assault_time_known and row.assault_hour is None
    assert row.assault_at.time() == time(0, 0)


def test_inferred_location_type_and_redaction_recorded_in_lineage() -> None:
    row = (
        validator()
        .check(2, {**GOOD, "Location Type": "unknown", "Where": "o/s Brixton stn tel 07700 900123"})
        .row
    )
    assert row is not None
    assert row.location_type_code == "public_transport"
    assert "location_type:from_description" in row.rules
    assert "location_description:redacted" in row.rules
    assert row.location_description == "o/s Brixton stn tel [redacted]"
    assert row.redactions == 1


def test_every_problem_reported_at_once() -> None:
    out = validator().check(
        5,
        {
            **GOOD,
            "Assault Date": "32/01/2025",
            "Method": "Spork",
            "Location Type": None,
            "Where": "z" * 300,
        },
    )
    assert sorted(i.code for i in out.issues if i.severity is Severity.ERROR) == sorted(
        [RowCode.BAD_DATE, RowCode.UNKNOWN_METHOD, RowCode.MISSING_MANDATORY, RowCode.TEXT_TOO_LONG]
    )


def test_values_shown_only_where_safe() -> None:
    out = validator().check(
        5, {**GOOD, "Assault Date": "32/01/2025", "Method": "Spork", "Where": "secret " * 60}
    )
    by_code = {i.code: i for i in out.issues}
    assert by_code[RowCode.BAD_DATE].value == "32/01/2025"
    assert by_code[RowCode.UNKNOWN_METHOD].value == "Spork"
    assert by_code[RowCode.TEXT_TOO_LONG].value is None  # free text never echoed
    long_method = validator().check(5, {**GOOD, "Method": "hit by someone called " + "x" * 40})
    assert all(i.value is None for i in long_method.issues)
    phone_method = validator().check(5, {**GOOD, "Method": "07700 900123"})
    assert all(i.value is None for i in phone_method.issues)
    assert safe_value("  Spork ") == "Spork"


def test_duplicate_rows() -> None:
    v = validator()
    assert v.check(2, GOOD).row is not None
    dup = v.check(3, dict(GOOD))
    assert dup.row is None and [i.code for i in dup.issues] == [RowCode.DUPLICATE_ROW]
    assert "row 2" in dup.issues[0].message
    assert v.check(4, {**GOOD, "Arrival Time": "23:41"}).row is not None


def test_limits_are_settings() -> None:
    early = {**GOOD, "Assault Date": "25/04/2025"}
    assert validator().check(2, early).row is not None  # 8 days: inside the default 28
    out = validator(max_days_before_arrival=7).check(2, early)
    assert [i.code for i in out.issues] == [RowCode.ASSAULT_TOO_EARLY]
    edge = {**GOOD, "Arrival Date": "02/06/2025", "Assault Date": "02/06/2025"}
    assert validator().check(2, edge).row is not None  # within the 3-day grace
    assert validator(period_grace_days=0).check(2, edge).row is None
    assert validator(max_text=10).check(2, GOOD).row is None


def test_combined_datetime_columns() -> None:
    mapping = ColumnMapping(
        columns={
            Field.ARRIVAL_AT: "Arrival",
            Field.ASSAULT_AT: "Assault",
            Field.METHOD: "M",
            Field.LOCATION_TYPE: "L",
        }
    )
    v = RowValidator(mapping=mapping, period=Period(2025, 5))
    row = v.check(
        2,
        {
            "Arrival": datetime(2025, 5, 3, 23, 40),
            "Assault": "2025-05-03",
            "M": "01",
            "L": "02",
        },
    ).row
    assert row is not None
    assert row.arrival_time_known and not row.assault_time_known
    assert row.method_code == "body_part"


def test_not_assault_intent_set_aside() -> None:
    mapping = ColumnMapping(columns={**MAPPING.columns, Field.INJURY_INTENT: "Intent"})
    v = RowValidator(mapping=mapping, period=Period(2025, 5))
    out = v.check(2, {**GOOD, "Intent": "1234567"})
    assert out.row is None and out.issues[0].code == RowCode.NOT_ASSAULT
    assert v.check(3, {**GOOD, "Intent": "276746005"}).row is not None


def test_codes_are_unique_and_stable() -> None:
    values = [c.value for c in RowCode]
    assert len(values) == len(set(values))
    assert RowCode.MISSING_MANDATORY == "V001_MISSING_MANDATORY"
    assert all(v[:1] in "VW" and v[1:4].isdigit() for v in values)


@pytest.mark.parametrize(
    ("changes", "code", "column"),
    [
        # The time is what is not known: the time column, not the date column.
        ({"Assault Time": "n/k"}, RowCode.TIME_NOT_KNOWN, "Assault Time"),
        # The free text that was redacted: its own column, each named once.
        ({"Where": "call 07700 900123"}, RowCode.TEXT_REDACTED, "Where"),
        (
            {"Method": "Other", "Method Other": "tel 07700 900123"},
            RowCode.TEXT_REDACTED,
            "Method Other",
        ),
    ],
)
def test_warnings_name_the_column_they_concern(
    changes: dict[str, Cell], code: RowCode, column: str
) -> None:
    out = validator().check(9, {**GOOD, **changes})
    assert [(i.code, i.column) for i in out.issues if i.code == code] == [(code, column)]


def test_redaction_in_both_free_text_columns_names_each() -> None:
    out = validator().check(
        9,
        {
            **GOOD,
            "Method": "Other",
            "Method Other": "tel 07700 900123",
            "Where": "ring 07700 900124",
        },
    )
    assert out.row is not None
    assert [i.column for i in out.issues if i.code == RowCode.TEXT_REDACTED] == [
        "Method Other",
        "Where",
    ]
    assert out.row.warnings.count(RowCode.TEXT_REDACTED) == 1


def test_time_not_known_in_a_combined_column_names_that_column() -> None:
    combined = RowValidator(
        mapping=ColumnMapping(
            columns={
                Field.ASSAULT_AT: "Assault Date/Time",
                Field.METHOD: "Method",
                Field.LOCATION_TYPE: "Location Type",
                Field.LOCATION_DESCRIPTION: "Where",
            }
        ),
        period=Period(2025, 5),
    )
    row = {
        "Assault Date/Time": "03/05/2025",
        "Method": "Fist",
        "Location Type": "Street",
        "Where": "Mare St",
    }
    out = combined.check(4, row)
    assert [(i.code, i.column) for i in out.issues if i.code == RowCode.TIME_NOT_KNOWN] == [
        (RowCode.TIME_NOT_KNOWN, "Assault Date/Time")
    ]
