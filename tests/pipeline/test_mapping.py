"""Mapping proposals for unseen layouts, and schema drift."""

from __future__ import annotations

import pytest

from ingest.pipeline.mapping import detect_drift, missing_columns, propose_mapping
from ingest.pipeline.types import Cell, ColumnMapping, Field, RawRow
from ingest.synthetic import LAYOUTS


def rows_of(header: list[str], data: list[list[Cell]]) -> list[RawRow]:
    return [(i + 2, dict(zip(header, r, strict=True))) for i, r in enumerate(data)]


def test_fuzzy_headers_from_a_trust_export() -> None:
    header = [
        "Attendance Date",
        "Arrival Time",
        "Date of Assault",
        "Time of Assault",
        "Weapon",
        "Weapon (other)",
        "Place of incident",
        "Where did the assault happen",
        "Notes",
    ]
    data: list[list[Cell]] = [
        ["03/05/2025", "23:40", "03/05/2025", "23:10", "Fist", "", "Street", "o/s Brixton stn", ""],
        [
            "04/05/2025",
            "01:20",
            "03/05/2025",
            "n/k",
            "Knife",
            "",
            "Pub",
            "Black Lion pub, Commercial Road",
            "x",
        ],
        ["05/05/2025", "02:00", "05/05/2025", "01:00", "Other", "dog", "Home", "pt's home", ""],
    ]
    p = propose_mapping(header, rows_of(header, data))
    assert dict(p.mapping.columns) == {
        Field.ARRIVAL_DATE: "Attendance Date",
        Field.ARRIVAL_TIME: "Arrival Time",
        Field.ASSAULT_DATE: "Date of Assault",
        Field.ASSAULT_TIME: "Time of Assault",
        Field.METHOD: "Weapon",
        Field.METHOD_OTHER: "Weapon (other)",
        Field.LOCATION_TYPE: "Place of incident",
        Field.LOCATION_DESCRIPTION: "Where did the assault happen",
    }
    assert p.complete
    assert p.unmapped_columns == ("Notes",)
    assert all(0.5 <= c <= 1.0 for c in p.confidence.values())


def test_combined_datetime_header() -> None:
    header = ["Arrival Date/Time", "Assault Date", "Assault Method", "Location", "Location details"]
    data: list[list[Cell]] = [
        ["03/05/2025 23:40", "03/05/2025", "Fist", "Street", "o/s Brixton stn"],
        ["04/05/2025 01:20", "03/05/2025", "Bottle", "Pub", "Red Lion pub"],
    ]
    p = propose_mapping(header, rows_of(header, data))
    assert p.mapping.columns[Field.ARRIVAL_AT] == "Arrival Date/Time"
    assert Field.ARRIVAL_DATE not in p.mapping.columns
    assert p.mapping.columns[Field.LOCATION_TYPE] == "Location"
    assert p.mapping.columns[Field.LOCATION_DESCRIPTION] == "Location details"


def test_location_column_decided_by_values() -> None:
    """'Location' holding free text is the description, not the type."""
    header = ["Incident Date", "Method", "Location Type", "Location"]
    data: list[list[Cell]] = [
        ["03/05/2025", "Fist", "Street", "junction of Mare St and Well St"],
        ["03/05/2025", "Knife", "Bus", "on the 38 bus nr Angel"],
        ["04/05/2025", "Kicked", "Pub", "outside the Red Lion, Commercial Rd"],
    ]
    p = propose_mapping(header, rows_of(header, data))
    assert p.mapping.columns[Field.LOCATION_TYPE] == "Location Type"
    assert p.mapping.columns[Field.LOCATION_DESCRIPTION] == "Location"
    assert p.mapping.columns[Field.ASSAULT_DATE] == "Incident Date"


@pytest.mark.parametrize(
    "layout", [lay for lay in LAYOUTS if lay.kind != "xml"], ids=lambda layout: layout.name
)
def test_every_generated_layout_is_proposed_exactly(layout: object) -> None:
    from ingest.synthetic import Layout

    assert isinstance(layout, Layout)
    header = list(layout.columns.values())
    sample = {
        Field.ARRIVAL_DATE: "03/05/2025",
        Field.ARRIVAL_TIME: "23:40",
        Field.ARRIVAL_AT: "03/05/2025 23:40",
        Field.ASSAULT_DATE: "03/05/2025",
        Field.ASSAULT_TIME: "23:10",
        Field.METHOD: "Fist" if layout.codes != "snomed" else "242014006",
        Field.METHOD_OTHER: "",
        Field.LOCATION_TYPE: "Street" if layout.codes != "snomed" else "285202004",
        Field.LOCATION_DESCRIPTION: "o/s Brixton stn",
        Field.INJURY_INTENT: "276746005",
    }
    rows = rows_of(header, [[sample[f] for f in layout.columns]])
    p = propose_mapping(header, rows)
    assert dict(p.mapping.columns) == dict(layout.columns)


def test_incomplete_proposal_lists_missing_fields() -> None:
    header = ["Arrival Date", "Comments"]
    p = propose_mapping(header, rows_of(header, [["03/05/2025", "x"]]))
    assert not p.complete
    assert set(p.missing_fields) == {Field.ASSAULT_AT, Field.METHOD, Field.LOCATION_TYPE}


def test_missing_columns() -> None:
    mapping = ColumnMapping(columns={Field.METHOD: "Weapon", Field.LOCATION_TYPE: "Place"})
    assert missing_columns(mapping, ["Weapon", "Where"]) == ["Place"]
    assert ColumnMapping.from_json(mapping.to_json()) == mapping


def test_drift() -> None:
    prev = ["Arrival Date", "Assault Date", "Weapon", "Place of incident", "Notes"]
    cur = ["Assault Date", "Arrival date", "Weapon used", "Place of incident", "Ward"]
    d = detect_drift(prev, cur)
    assert d.drifted
    assert d.renamed == (("Arrival Date", "Arrival date"), ("Weapon", "Weapon used"))
    assert d.removed == ("Notes",)
    assert d.added == ("Ward",)
    assert d.to_json()["renamed"] == [["Arrival Date", "Arrival date"], ["Weapon", "Weapon used"]]


def test_no_drift_and_reorder_only() -> None:
    assert not detect_drift(["a", "b"], ["a", "b"]).drifted
    d = detect_drift(["a", "b"], ["b", "a"])
    assert not d.drifted and d.reordered
