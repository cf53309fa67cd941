"""A hospital's layout changes: a proposal built from its previous mapping, and the
version whose columns a file has exactly (process_file with ``mapping_versions``)."""

from __future__ import annotations

from ingest.pipeline import ColumnMapping, Field, Options, process_file
from ingest.pipeline.errors import FileErrorCode as E
from ingest.pipeline.mapping import describe_columns, propose_remapping
from ingest.pipeline.types import Cell, MappingVersion, RawRow

from .helpers import ISTV_HEADER, csv_text

ROWS = [
    ["03/05/2025", "23:40", "03/05/2025", "23:10", "Fist", "", "Street", "o/s Brixton stn"],
    ["04/05/2025", "01:20", "03/05/2025", "n/k", "Knife", "", "Pub", "Red Lion, Mare St"],
    ["05/05/2025", "02:00", "05/05/2025", "01:00", "Bottle", "", "Park", "nr the bandstand"],
    ["06/05/2025", "18:30", "06/05/2025", "18:00", "Kicked", "", "Bus", "on the 38 bus"],
]
PREVIOUS = ColumnMapping(
    columns={
        Field.ARRIVAL_DATE: "Arrival Date",
        Field.ARRIVAL_TIME: "Arrival Time",
        Field.ASSAULT_DATE: "Assault Date",
        Field.ASSAULT_TIME: "Assault Time",
        Field.METHOD: "Assault Method",
        Field.METHOD_OTHER: "Method Other",
        Field.LOCATION_TYPE: "Location Type",
        Field.LOCATION_DESCRIPTION: "Location Description",
    },
    values={Field.METHOD: {"spork": "other"}},
)
V1 = MappingVersion(1, PREVIOUS, tuple(ISTV_HEADER))
# The new ED system's export: four columns renamed, one of them to a name that says
# nothing (only its values tell what it holds).
NEW_HEADER = [
    "Arrival Date",
    "Arrival Time",
    "Incident Dt",
    "Assault Time",
    "Weapon used",
    "Method Other",
    "Col7",
    "Where it happened",
]
V2 = MappingVersion(
    2,
    ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Incident Dt",
            Field.METHOD: "Weapon used",
            Field.LOCATION_TYPE: "Col7",
        }
    ),
    tuple(NEW_HEADER),
)


def rows_of(header: list[str], data: list[list[str]]) -> list[RawRow]:
    return [
        (i + 2, dict(zip(header, [v or None for v in r], strict=True))) for i, r in enumerate(data)
    ]


def run(header: list[str], options: Options, rows: list[list[str]] = ROWS):  # type: ignore[no-untyped-def]
    return process_file(
        csv_text(rows, header=header).encode(),
        filename="may.csv",
        site_code="RJ122",
        period=(2025, 5),
        options=options,
    )


def test_renamed_columns_are_matched_by_name_and_by_values() -> None:
    p = propose_remapping(PREVIOUS, ISTV_HEADER, NEW_HEADER, rows_of(NEW_HEADER, ROWS))
    assert dict(p.mapping.columns) == {
        Field.ARRIVAL_DATE: "Arrival Date",
        Field.ARRIVAL_TIME: "Arrival Time",
        Field.ASSAULT_DATE: "Incident Dt",
        Field.ASSAULT_TIME: "Assault Time",
        Field.METHOD: "Weapon used",
        Field.METHOD_OTHER: "Method Other",
        Field.LOCATION_TYPE: "Col7",  # by its values: location-type labels
        Field.LOCATION_DESCRIPTION: "Where it happened",
    }
    assert p.complete and p.unmapped_columns == ()
    # Kept columns are certain; renamed ones carry how sure the match is.
    assert p.confidence[Field.ARRIVAL_DATE] == 1.0
    assert all(0.5 <= p.confidence[f] < 1.0 for f in (Field.ASSAULT_DATE, Field.LOCATION_TYPE))
    assert dict(p.renamed) == {
        "Assault Date": "Incident Dt",
        "Assault Method": "Weapon used",
        "Location Type": "Col7",
        "Location Description": "Where it happened",
    }
    assert p.mapping.values == {Field.METHOD: {"spork": "other"}}  # carried over


def test_value_evidence_tells_apart_two_renamed_coded_columns() -> None:
    header = ["Assault Date", "Code A", "Code B"]
    previous = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Method",
            Field.LOCATION_TYPE: "Place",
        }
    )
    data = [["03/05/2025", "Pub", "Knife"], ["04/05/2025", "Street", "Fist"]]
    p = propose_remapping(
        previous, ["Assault Date", "Method", "Place"], header, rows_of(header, data)
    )
    assert p.mapping.columns[Field.LOCATION_TYPE] == "Code A"
    assert p.mapping.columns[Field.METHOD] == "Code B"


def test_names_from_earlier_versions_count_for_a_field() -> None:
    """Two-digit national codes fit method and location type alike, and "Q1"/"Q2" say
    nothing: the names an earlier version gave the fields decide."""
    v1 = ColumnMapping(
        columns={Field.ASSAULT_DATE: "Date", Field.METHOD: "Q1", Field.LOCATION_TYPE: "Q2"}
    )
    v2 = ColumnMapping(
        columns={Field.ASSAULT_DATE: "Date", Field.METHOD: "Code A", Field.LOCATION_TYPE: "Code B"}
    )
    header = ["Date", "Q2", "Q1"]
    sample = rows_of(header, [["03/05/2025", "01", "02"], ["04/05/2025", "03", "01"]])
    p = propose_remapping(v2, ["Date", "Code A", "Code B"], header, sample, earlier=[v1])
    assert p.mapping.columns[Field.METHOD] == "Q1"
    assert p.mapping.columns[Field.LOCATION_TYPE] == "Q2"
    assert p.confidence[Field.METHOD] == 1.0


def test_separate_date_and_time_that_became_one_date_time_column() -> None:
    header = ["Arrival Date/Time", *ISTV_HEADER[2:]]
    data = [[f"{r[0]} {r[1]}", *r[2:]] for r in ROWS]
    p = propose_remapping(PREVIOUS, ISTV_HEADER, header, rows_of(header, data))
    assert p.mapping.columns[Field.ARRIVAL_AT] == "Arrival Date/Time"
    assert Field.ARRIVAL_DATE not in p.mapping.columns
    assert Field.ARRIVAL_TIME not in p.mapping.columns
    assert p.complete


def test_one_date_time_column_that_was_split_in_two() -> None:
    previous = ColumnMapping(
        columns={
            Field.ARRIVAL_AT: "Arrival",
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Assault Method",
            Field.LOCATION_TYPE: "Location Type",
        }
    )
    header = ["Arrival Date", "Arrival Time", "Assault Date", "Assault Method", "Location Type"]
    data = [[r[0], r[1], r[2], r[4], r[6]] for r in ROWS]
    before = ["Arrival", "Assault Date", "Assault Method", "Location Type"]
    p = propose_remapping(previous, before, header, rows_of(header, data))
    assert p.mapping.columns[Field.ARRIVAL_DATE] == "Arrival Date"
    assert p.mapping.columns[Field.ARRIVAL_TIME] == "Arrival Time"
    assert Field.ARRIVAL_AT not in p.mapping.columns


def test_a_column_that_kept_its_name_but_not_its_meaning_competes_again() -> None:
    """ "Location" held the location type; in the new export it is the description."""
    previous = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Method",
            Field.LOCATION_TYPE: "Location",
            Field.LOCATION_DESCRIPTION: "Location details",
        }
    )
    before = ["Assault Date", "Method", "Location", "Location details"]
    header = ["Assault Date", "Method", "Location Type", "Location"]
    data = [[r[2], r[4], r[6], r[7]] for r in ROWS]
    p = propose_remapping(previous, before, header, rows_of(header, data))
    assert p.mapping.columns[Field.LOCATION_TYPE] == "Location Type"
    assert p.mapping.columns[Field.LOCATION_DESCRIPTION] == "Location"
    assert set(p.renamed) == {("Location", "Location Type"), ("Location details", "Location")}


def test_a_column_the_previous_mapping_left_unused_stays_unused() -> None:
    before = [*ISTV_HEADER, "Notes"]
    after = [c.replace("Assault Method", "Weapon") for c in before]
    previous = ColumnMapping(
        columns={f: c for f, c in PREVIOUS.columns.items() if f is not Field.METHOD_OTHER}
    )
    data = [[*r[:5], "other weapon text", *r[6:], "free text note here"] for r in ROWS]
    p = propose_remapping(previous, before, after, rows_of(after, data))
    assert p.mapping.columns[Field.METHOD] == "Weapon"
    assert Field.METHOD_OTHER not in p.mapping.columns
    assert set(p.unmapped_columns) == {"Method Other", "Notes"}


def test_column_kinds_describe_values_without_copying_them() -> None:
    header = ["Arrival", "Weapon used", "Col7", "Where it happened", "Blank"]
    data: list[list[Cell]] = [
        ["03/05/2025 23:40", "Fist", "Street", "o/s Brixton stn", None],
        ["04/05/2025 01:20", "Knife", "Pub", "Red Lion, Mare St", None],
    ]
    sample = [(i + 2, dict(zip(header, r, strict=True))) for i, r in enumerate(data)]
    kinds = describe_columns(header, sample)
    assert kinds == {
        "Arrival": "dates and times",
        "Weapon used": "assault methods",
        "Col7": "location types",
        "Where it happened": "free text",
        "Blank": "blank in the sample rows",
    }


def test_changed_layout_needs_mapping_with_a_proposal_from_the_current_version() -> None:
    r = run(NEW_HEADER, Options(mapping_versions=[V1]))
    assert r.status == "mapping_needed" and r.rows == [] and r.report.accepted == 0
    assert r.report.mapping_status == "schema_mismatch"
    assert r.report.mapping_version == 1
    assert [e.code for e in r.report.file_errors] == [E.SCHEMA_MISMATCH]
    message = r.report.file_errors[0].message
    assert "(version 1)" in message and "'Assault Method'" in message
    assert "A new mapping is proposed" in message and "without uploading it again" in message
    proposal = r.report.to_json()["proposal"]
    assert proposal is not None and proposal["based_on"] == 1
    assert proposal["mapping"]["columns"]["location_type"] == "Col7"  # type: ignore[index]
    drift = r.report.to_json()["drift"]
    assert drift is not None and "Method Other" in drift["kept"]  # type: ignore[operator]
    assert r.report.column_kinds["Col7"] == "location types"


def test_complete_proposal_is_accepted_when_asked() -> None:
    r = run(NEW_HEADER, Options(mapping_versions=[V1], accept_proposed_mapping=True))
    assert r.status == "ok" and r.report.accepted == len(ROWS)
    assert r.report.mapping_status == "proposed_accepted"
    assert r.report.mapping is not None
    assert r.report.mapping.columns[Field.METHOD] == "Weapon used"
    assert r.report.file_errors == []


def test_incomplete_proposal_is_not_accepted_and_says_why() -> None:
    header = [c for c in NEW_HEADER if c != "Weapon used"]
    rows = [[v for c, v in zip(NEW_HEADER, row, strict=True) if c != "Weapon used"] for row in ROWS]
    r = run(header, Options(mapping_versions=[V1], accept_proposed_mapping=True), rows)
    assert r.status == "mapping_needed" and r.rows == []
    assert r.report.proposal is not None and r.report.proposal.missing_fields == (Field.METHOD,)
    message = r.report.file_errors[0].message
    assert "incomplete, so it was not accepted automatically" in message
    assert "No column could be found for: the assault method" in message


def test_a_file_with_an_earlier_versions_columns_uses_that_version() -> None:
    old = run(ISTV_HEADER, Options(mapping_versions=[V2, V1]))
    assert old.status == "ok" and old.report.mapping_status == "confirmed"
    assert old.report.mapping_version == 1 and old.report.mapping == PREVIOUS
    assert old.report.drift is not None and not old.report.drift.drifted
    new = run(NEW_HEADER, Options(mapping_versions=[V2, V1]))
    assert new.status == "ok" and new.report.mapping_version == 2


def test_personal_data_in_a_changed_layout_is_still_quarantined() -> None:
    header = [*NEW_HEADER, "NHS Number"]
    rows = [[*r, "943 476 5919"] for r in ROWS]
    r = run(header, Options(mapping_versions=[V1]), rows)
    assert r.status == "quarantined"
    assert {e.code for e in r.report.file_errors} == {E.SCHEMA_MISMATCH, E.PERSONAL_DATA}
    assert r.report.unmapped_values == {}
