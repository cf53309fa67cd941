"""Personal-data guard: NHS check digits, look-alikes, headers, redaction; never values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.pipeline.pii import (
    REDACTED,
    PiiScanner,
    header_kind,
    kinds_in_text,
    nhs_number_valid,
    redact,
)


def check_digit(nine: str) -> int:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    return (11 - total % 11) % 11


# The published NHS example number, and synthetic test-range numbers.
VALID = ["9434765919", "9990000026", "4010232137"]


@pytest.mark.parametrize("number", VALID)
def test_known_valid_numbers(number: str) -> None:
    assert nhs_number_valid(number)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_mod11_property(nine: str) -> None:
    cd = check_digit(nine)
    if cd == 10 or len(set(nine)) == 1:
        return  # no valid number with this stem
    number = nine + str(cd)
    if len(set(number)) == 1:
        return
    assert nhs_number_valid(number)
    for wrong in set("0123456789") - {str(cd)}:
        assert not nhs_number_valid(nine + wrong)


@pytest.mark.parametrize("fmt", ["{a}{b}{c}", "{a} {b} {c}", "{a}-{b}-{c}", "NHS no {a} {b} {c}."])
def test_nhs_number_found_in_text(fmt: str) -> None:
    n = VALID[0]
    assert "nhs_number" in kinds_in_text(fmt.format(a=n[:3], b=n[3:6], c=n[6:]))


@pytest.mark.parametrize(
    "text",
    [
        "0207946000",  # 10-digit phone-like number (leading 0: never an NHS number)
        "0207946001",  # phone-like and failing the check
        "0161496000",
        "943 476 5918",  # right shape, wrong check digit
        "1111111111",  # passes mod 11 trivially but is not a number anyone has
        "03/05/2025 23:10",
        "2025-05-03T23:10:00",
        "23:10",
        "10 past 5",
        "M25 junction 2",
        "45780.5",
        "on the 123 bus",
        "12345678901",  # 11 digits
    ],
)
def test_look_alikes_do_not_trip_nhs(text: str) -> None:
    assert "nhs_number" not in kinds_in_text(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("call 07700 900123", "phone"),
        ("tel: 020 7946 0000", "phone"),
        ("+44 7700 900123", "phone"),
        ("(01632) 960 001", "phone"),
        ("pt.email@example.com", "email"),
        ("DOB 01/02/1990", "date_of_birth"),
        ("d.o.b. 1/2/90", "date_of_birth"),
    ],
)
def test_other_kinds(text: str, kind: str) -> None:
    assert kind in kinds_in_text(text)


@pytest.mark.parametrize(
    "text", ["03/05/2025", "23:10", "E1 6AN", "o/s Brixton stn", "Dobson Road", "SE15 4ST"]
)
def test_ordinary_values_are_clean(text: str) -> None:
    assert kinds_in_text(text) == []


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Patient Name", "person_name"),
        ("Surname", "person_name"),
        ("Forename", "person_name"),
        ("First name", "person_name"),
        ("Name", "person_name"),
        ("DOB", "date_of_birth"),
        ("Date of Birth", "date_of_birth"),
        ("Home Postcode", "address"),
        ("Patient Address", "address"),
        ("Postcode", "address"),
        ("NHS Number", "nhs_number"),
        ("Hospital No", "nhs_number"),
    ],
)
def test_header_kinds(header: str, kind: str) -> None:
    assert header_kind(header) == kind


@pytest.mark.parametrize(
    "header",
    [
        "Location Name",
        "Site Code",
        "Incident Postcode",
        "Assault location address",
        "Location Description",
        "Place of incident",
        "Arrival Date",
        "Name of pub",
        "Method",
    ],
)
def test_headers_that_must_not_trip(header: str) -> None:
    assert header_kind(header) is None


def test_scanner_reports_column_rows_kinds_never_values() -> None:
    nhs = "943 476 5919"
    scanner = PiiScanner(["Arrival", "Notes", "Patient Name", "Where"], frozenset({"Where"}))
    scanner.scan(
        2,
        {
            "Arrival": "03/05/2025",
            "Notes": f"nhs {nhs}",
            "Patient Name": "Zz Test",
            "Where": "call 07700 900123",
        },
    )
    scanner.scan(
        3,
        {
            "Arrival": "03/05/2025",
            "Notes": "x@example.com",
            "Patient Name": None,
            "Where": "street",
        },
    )
    scanner.scan(4, {"Arrival": 9434765919, "Notes": "", "Patient Name": "  ", "Where": ""})
    results = scanner.results()
    summary = {(f.kind, f.column): (f.rows, f.count) for f in results}
    assert summary == {
        ("nhs_number", "Notes"): ([2], 1),
        ("email", "Notes"): ([3], 1),
        ("person_name", "Patient Name"): ([2], 1),
        ("nhs_number", "Arrival"): ([4], 1),  # a number cell in a spreadsheet
    }
    assert scanner.counts_by_kind() == {"nhs_number": 2, "email": 1, "person_name": 1}
    text = repr(results)
    for secret in (nhs, "Zz Test", "x@example.com", "9434765919", "07700"):
        assert secret not in text


def test_free_text_columns_are_not_findings() -> None:
    scanner = PiiScanner(["Where"], frozenset({"Where"}))
    scanner.scan(2, {"Where": "o/s Tesco, call 07700 900123"})
    assert not scanner.blocked


@pytest.mark.parametrize(
    ("text", "expected", "kinds"),
    [
        ("o/s Tesco, call 07700 900123", f"o/s Tesco, call {REDACTED}", ["phone"]),
        (
            "friend's flat, email a.b@example.com pls",
            f"friend's flat, email {REDACTED} pls",
            ["email"],
        ),
        ("pt's home NHS 943 476 5919", f"pt's home NHS {REDACTED}", ["nhs_number"]),
        ("DOB 01/02/1990 at home", f"{REDACTED} at home", ["date_of_birth"]),
        ("outside Mr Smith's house", f"outside {REDACTED} house", ["person_name"]),
        ("o/s Brixton stn", "o/s Brixton stn", []),
        ("on the 123 bus, 03/05/2025", "on the 123 bus, 03/05/2025", []),
    ],
)
def test_redact(text: str, expected: str, kinds: list[str]) -> None:
    out, found = redact(text)
    assert out == expected
    assert found == kinds
