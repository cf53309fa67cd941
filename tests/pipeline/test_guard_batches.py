"""The guard reads rows in batches: the same findings, row numbers and counts as one row
at a time, wherever in a long file the personal data sits."""

from __future__ import annotations

from ingest.pipeline import Options, process_file
from ingest.pipeline.pii import PiiScanner
from ingest.pipeline.process import GUARD_BATCH_ROWS
from ingest.pipeline.types import RawRow

from .helpers import GOOD_ROW, ISTV_HEADER, csv_text

COLUMNS = [*ISTV_HEADER, "Ref", "Notes"]
FREE = frozenset({"Location Description"})


def _rows(n: int, planted: dict[int, tuple[str, str]]) -> list[RawRow]:
    """``n`` clean rows (numbered from 2, as after a header) with values planted by row."""
    rows: list[RawRow] = []
    for number in range(2, n + 2):
        values: dict[str, str | None] = dict(zip(COLUMNS, [*GOOD_ROW, "A1", None], strict=True))
        # Free text with digits and an address-like phrase: never a finding here.
        values["Location Description"] = f"flat {number} 123 456 Rye Lane, dob unknown"
        if number in planted:
            column, value = planted[number]
            values[column] = value
        rows.append((number, values))  # type: ignore[arg-type]
    return rows


def _findings(scanner: PiiScanner) -> list[tuple[str, str, int, list[int]]]:
    return [(f.kind, f.column, f.count, list(f.rows)) for f in scanner.results()]


def test_batches_find_exactly_what_row_by_row_finds() -> None:
    planted = {
        3: ("Ref", "943 476 5919"),  # NHS number
        GUARD_BATCH_ROWS + 40: ("Notes", "call 07700 900123"),  # mobile
        GUARD_BATCH_ROWS + 41: ("Notes", "x@example.com"),
        2 * GUARD_BATCH_ROWS + 7: ("Ref", "DOB 01/02/1990"),
        2 * GUARD_BATCH_ROWS + 8: ("Ref", "0123456789"),  # leading 0: never an NHS number
        2 * GUARD_BATCH_ROWS + 9: ("Location Description", "NHS 943 476 5919"),  # redacted later
    }
    rows = _rows(3 * GUARD_BATCH_ROWS + 5, planted)
    one_by_one = PiiScanner(COLUMNS, FREE, text_only=True)
    for number, values in rows:
        one_by_one.scan(number, values)
    batched = PiiScanner(COLUMNS, FREE, text_only=True)
    for start in range(0, len(rows), GUARD_BATCH_ROWS):
        batched.scan_rows(rows[start : start + GUARD_BATCH_ROWS])
    assert _findings(batched) == _findings(one_by_one)
    assert {(kind, column) for kind, column, _, _ in _findings(batched)} == {
        ("nhs_number", "Ref"),
        ("phone", "Notes"),
        ("email", "Notes"),
        ("date_of_birth", "Ref"),
        ("phone", "Ref"),
    }
    assert batched.counts_by_kind() == one_by_one.counts_by_kind()


def test_a_clean_batch_has_no_findings_even_with_digits_in_free_text() -> None:
    scanner = PiiScanner(COLUMNS, FREE, text_only=True)
    scanner.scan_rows(_rows(GUARD_BATCH_ROWS, {}))
    assert not scanner.blocked


def test_a_header_that_announces_names_is_found_in_every_batch() -> None:
    columns = [*ISTV_HEADER, "Surname"]
    rows = [
        (number, dict(zip(columns, [*GOOD_ROW, "Zz Test" if number == 900 else ""], strict=True)))
        for number in range(2, 1002)
    ]
    scanner = PiiScanner(columns, FREE, text_only=True)
    for start in range(0, len(rows), GUARD_BATCH_ROWS):
        scanner.scan_rows(rows[start : start + GUARD_BATCH_ROWS])  # type: ignore[arg-type]
    assert _findings(scanner) == [("person_name", "Surname", 1, [900])]


def test_personal_data_deep_in_a_long_file_quarantines_it() -> None:
    header = [*ISTV_HEADER, "Reference"]
    late = 2 * GUARD_BATCH_ROWS + 100
    rows = [
        [*GOOD_ROW[:7], f"o/s {i} Rye Lane", "943 476 5919" if i == late else f"R{i}"]
        for i in range(late + 50)
    ]
    result = process_file(
        csv_text(rows, header=header).encode(),
        filename="long.csv",
        site_code="RJ122",
        period=(2025, 5),
        options=Options(accept_proposed_mapping=True),
    )
    assert result.status == "quarantined" and result.rows == []
    assert result.report.rows_read == late + 50
    finding = result.report.pii_findings[0]
    assert (finding.kind, finding.column, finding.rows) == ("nhs_number", "Reference", [late + 2])
