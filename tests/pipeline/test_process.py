"""process_file end to end: statuses, whole-file errors, guard, report, malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.pipeline import ColumnMapping, Field, Options, process_file
from ingest.pipeline.errors import FileErrorCode as E
from ingest.pipeline.limits import Limits
from ingest.pipeline.types import MappingVersion
from ingest.pipeline.validation import RowCode
from ingest.synthetic import GeneratorOptions, generate
from istv_portal.periods import Period

from .helpers import GOOD_RECORD, GOOD_ROW, ISTV_HEADER, csv_text, istv_xml, rezip, xlsx_bytes

ACCEPT = Options(accept_proposed_mapping=True)
BAD_ROW = ["03/05/2025", "23:40", "31/02/2025", "23:10", "Spork", "", "Street", "x"]


def run(data: bytes, name: str = "a.csv", options: Options = ACCEPT, **kw: object):  # type: ignore[no-untyped-def]
    return process_file(
        data,
        filename=name,
        site_code=kw.pop("site", "RJ122"),  # type: ignore[arg-type]
        period=kw.pop("period", (2025, 5)),
        options=options,
        **kw,
    )  # type: ignore[arg-type]


def test_ok_with_set_aside_rows() -> None:
    r = run(csv_text([GOOD_ROW, BAD_ROW]).encode())
    assert r.status == "ok"
    rep = r.report
    assert (rep.rows_read, rep.accepted, rep.set_aside) == (2, 1, 1)
    assert rep.errors_by_code == {RowCode.BAD_DATE: 1, RowCode.UNKNOWN_METHOD: 1}
    assert len(r.rows) == 1 and r.rows[0].source_row == 2
    assert r.set_aside[0].source_row == 3
    errors = {i.code for i in r.set_aside[0].issues if i.severity == "error"}
    assert errors == {RowCode.BAD_DATE, RowCode.UNKNOWN_METHOD}
    # The ISTV template's own layout: read with its mapping, nothing to propose.
    assert rep.mapping_status == "confirmed" and rep.proposal is None
    assert r.intake is not None and r.intake.format == "csv"


def test_reject_all_mode() -> None:
    r = run(
        csv_text([GOOD_ROW, BAD_ROW]).encode(),
        options=Options(accept_proposed_mapping=True, reject_on_invalid_rows=True),
    )
    assert r.status == "rejected" and r.rows == []
    assert r.report.set_aside == 1


def test_unseen_layout_needs_mapping() -> None:
    header = [("Weapon" if h == "Assault Method" else h) for h in ISTV_HEADER]  # not the template
    r = run(csv_text([GOOD_ROW], header=header).encode(), options=Options())
    assert r.status == "mapping_needed"
    assert r.rows == []
    assert r.report.proposal is not None and r.report.proposal.complete
    assert r.report.to_json()["proposal"]["mapping"]["columns"]["method"] == "Weapon"  # type: ignore[index]


def test_a_proposal_is_accepted_when_asked() -> None:
    header = [("Weapon" if h == "Assault Method" else h) for h in ISTV_HEADER]
    r = run(csv_text([GOOD_ROW], header=header).encode())
    assert r.status == "ok" and r.report.mapping_status == "proposed_accepted"


def test_the_istv_template_needs_no_mapping_even_against_another_sites_layout() -> None:
    """A site whose confirmed mapping is its own export can still send the template."""
    own = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Incident Dt",
            Field.METHOD: "Weapon",
            Field.LOCATION_TYPE: "Col7",
        }
    )
    version = MappingVersion(1, own, ("Incident Dt", "Weapon", "Col7"))
    r = run(csv_text([GOOD_ROW]).encode(), options=Options(mapping_versions=[version]))
    assert r.status == "ok" and r.report.accepted == 1
    assert (
        r.report.mapping is not None and r.report.mapping.columns[Field.METHOD] == "Assault Method"
    )
    assert r.report.file_errors == []


def test_a_missing_optional_column_is_not_a_changed_layout() -> None:
    keep = [i for i, h in enumerate(ISTV_HEADER) if h != "Location Description"]
    header = [ISTV_HEADER[i] for i in keep]
    mapping = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Assault Method",
            Field.LOCATION_TYPE: "Location Type",
            Field.LOCATION_DESCRIPTION: "Location Description",
        }
    )
    r = run(csv_text([[GOOD_ROW[i] for i in keep]], header=header).encode(), mapping=mapping)
    assert r.status == "ok" and r.report.accepted == 1 and r.report.file_errors == []
    assert r.rows[0].location_description == ""
    missing = [i for i in r.report.issues if i.code == RowCode.OPTIONAL_COLUMN_MISSING]
    assert [(i.column, i.row, i.severity) for i in missing] == [
        ("Location Description", None, "warning")
    ]


def test_incomplete_proposal_is_not_accepted() -> None:
    r = run(b"Arrival Date,Comments\r\n03/05/2025,x\r\n")
    assert r.status == "mapping_needed"


def test_stored_mapping_used_and_schema_mismatch_loads_nothing() -> None:
    mapping = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Weapon",
            Field.LOCATION_TYPE: "Location Type",
        }
    )
    r = run(
        csv_text([GOOD_ROW]).encode(),
        mapping=mapping,
        options=Options(previous_columns=["Assault Date", "Weapon", "Location Type"]),
    )
    assert r.status == "mapping_needed"  # was "rejected": a changed layout is proposed
    assert r.rows == [] and r.report.accepted == 0
    assert [e.code for e in r.report.file_errors] == [E.SCHEMA_MISMATCH]
    assert "'Weapon'" in r.report.file_errors[0].message
    assert r.report.mapping_status == "schema_mismatch"
    assert r.report.drift is not None and r.report.drift.drifted


def test_stored_mapping_confirmed() -> None:
    mapping = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Assault Method",
            Field.LOCATION_TYPE: "Location Type",
        },
        values={Field.METHOD: {"spork": "other"}},
    )
    r = run(csv_text([GOOD_ROW, BAD_ROW]).encode(), mapping=mapping, options=Options())
    assert r.report.mapping_status == "confirmed"
    assert r.report.errors_by_code == {RowCode.BAD_DATE: 1}  # Spork mapped by the profile


def test_pii_quarantines_whole_file_without_values() -> None:
    header = [*ISTV_HEADER, "NHS Number"]
    rows = [[*GOOD_ROW, "943 476 5919"], [*BAD_ROW, ""]]
    r = run(csv_text(rows, header=header).encode())
    assert r.status == "quarantined"
    assert r.rows == [] and r.set_aside == []
    assert r.report.pii_findings_by_kind == {"nhs_number": 1}
    f = r.report.pii_findings[0]
    assert (f.kind, f.column, f.rows) == ("nhs_number", "NHS Number", [2])
    dumped = json.dumps(r.report.to_json())
    assert "943 476 5919" not in dumped and "9434765919" not in dumped
    assert E.PERSONAL_DATA in r.report.errors_by_code


def test_pii_in_unmapped_file_still_quarantined() -> None:
    r = run(
        csv_text([[*GOOD_ROW, "Zz Test"]], header=[*ISTV_HEADER, "Surname"]).encode(),
        options=Options(),
    )
    assert r.status == "quarantined"


def test_pii_in_description_redacted_not_quarantined() -> None:
    row = [*GOOD_ROW[:7], '"o/s Tesco, call 07700 900123"']
    r = run(csv_text([row]).encode())
    assert r.status == "ok"
    assert r.rows[0].location_description == "o/s Tesco, call [redacted]"
    assert r.report.redactions_by_kind == {"phone": 1}
    assert "07700" not in json.dumps(r.report.to_json())


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (
            istv_xml([GOOD_RECORD], prolog='<!DOCTYPE x [<!ENTITY a "b">]>'),
            "a.xml",
            E.XML_FORBIDDEN,
        ),
        (istv_xml([{**GOOD_RECORD, "Extra": "1"}]), "a.xml", E.XML_SCHEMA_INVALID),
        (b"MZ\x00\x00binary", "a.csv", E.NOT_TEXT),
        (b"a,b\r\n", "a.exe", E.EXTENSION_NOT_ALLOWED),
        (csv_text([]).encode(), "a.csv", E.NO_ROWS),
    ],
)
def test_whole_file_invalid_rejected_with_reason(data: bytes, name: str, code: E) -> None:
    r = run(data, name)
    assert r.status == "rejected"
    assert r.rows == [] and r.report.accepted == 0
    assert r.report.file_errors[0].code == code
    assert r.report.errors_by_code[code] == 1


def test_zip_bomb_rejected() -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    bomb = rezip(data, add={"xl/media/pad.xml": b"<a/>" + b" " * (4 * 1024 * 1024)})
    r = run(bomb, "a.xlsx")
    assert r.status == "rejected" and r.report.file_errors[0].code == E.ZIP_BOMB


def test_xml_site_and_period_checked() -> None:
    ok = run(istv_xml([GOOD_RECORD]), "a.xml", options=Options())
    assert ok.status == "ok" and ok.report.mapping_status == "confirmed"
    assert ok.rows[0].method_code == "body_part"
    assert ok.header.site_code == "RJ122"
    other_site = run(istv_xml([GOOD_RECORD], site="RJZ01"), "a.xml")
    assert other_site.report.file_errors[0].code == E.SITE_MISMATCH
    alias = run(
        istv_xml([GOOD_RECORD], site="RJ1OLD"),
        "a.xml",
        options=Options(site_aliases=frozenset({"RJ1OLD"})),
    )
    assert alias.status == "ok"
    other_month = run(istv_xml([GOOD_RECORD], start="2025-06-01", end="2025-06-30"), "a.xml")
    assert other_month.report.file_errors[0].code == E.PERIOD_MISMATCH


def test_from_path_and_report_is_json(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"  # stored under a generated name; the original is metadata
    path.write_bytes(csv_text([[*GOOD_ROW[:7], "Sainsbury\u2019s"]]).encode("cp1252"))
    r = process_file(
        path, filename="../../etc/x.csv", site_code="RJ122", period=Period(2025, 5), options=ACCEPT
    )
    assert r.status == "ok"
    assert r.intake is not None and r.intake.original_name == "x.csv"
    assert r.intake.encoding == "cp1252"
    assert r.rows[0].location_description == "Sainsbury\u2019s"
    json.dumps(r.report.to_json())


def test_issue_list_capped_but_counts_complete() -> None:
    rows = [
        [f"{d:02d}/05/2025", "23:40", "31/02/2025", "23:10", "Fist", "", "Street", "x"]
        for d in range(1, 29)
    ]
    r = run(
        csv_text(rows).encode(),
        options=Options(accept_proposed_mapping=True, limits=Limits(max_report_issues=5)),
    )
    assert len(r.report.issues) == 5 and r.report.issues_truncated
    assert r.report.errors_by_code[RowCode.BAD_DATE] == 28


def test_keep_rows_false_counts_only() -> None:
    r = run(
        csv_text([GOOD_ROW, BAD_ROW]).encode(),
        options=Options(accept_proposed_mapping=True, keep_rows=False),
    )
    assert r.status == "ok" and r.rows == [] and r.report.accepted == 1


def test_every_generated_layout_processes(tmp_path: Path) -> None:
    files = generate(
        tmp_path,
        GeneratorOptions(months=1, start=Period(2025, 6), seed=4, scale=0.3, fault_rate=0.05),
    )
    layouts = set()
    for f in files:
        r = process_file(
            f.path, filename=f.path.name, site_code=f.site_code, period=f.period, options=ACCEPT
        )
        assert r.status == "ok", (f.layout, r.report.file_errors)
        assert r.report.rows_read == f.rows
        assert r.report.set_aside >= f.faults  # every injected fault is caught
        assert r.report.accepted + r.report.set_aside == f.rows
        layouts.add(f.layout)
    assert len(layouts) == 7


def test_generated_pii_files_are_quarantined(tmp_path: Path) -> None:
    files = generate(
        tmp_path,
        GeneratorOptions(
            months=1,
            start=Period(2025, 6),
            seed=4,
            scale=0.3,
            with_pii=True,
            sites=("RJ122", "RJ231", "RJ224"),
        ),
    )
    statuses = {}
    for f in files:
        r = process_file(
            f.path, filename=f.path.name, site_code=f.site_code, period=f.period, options=ACCEPT
        )
        statuses[f.layout] = r.status
    # Tabular layouts carry an NHS number column; XML only redactable free text.
    assert statuses == {
        "csv_utf8_istv": "quarantined",
        "xlsx_titled": "quarantined",
        "istv_xml": "ok",
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: t.encode("utf-8")),
        st.lists(
            st.lists(
                st.sampled_from(["03/05/2025", "Fist", "", "n/k", "x,y", '"', "\t"]),
                min_size=1,
                max_size=9,
            ),
            max_size=6,
        ).map(lambda rows: "\r\n".join(",".join(r) for r in rows).encode()),
    ),
    name=st.sampled_from(["a.csv", "a.tsv", "a.xml", "a.xlsx"]),
)
def test_arbitrary_bytes_never_crash(data: bytes, name: str) -> None:
    """Malformed input ends in a status with reasons, never an exception."""
    r = run(data, name)
    assert r.status in {"ok", "rejected", "quarantined", "mapping_needed"}
    if r.status == "rejected":
        assert r.report.file_errors or r.report.set_aside
    json.dumps(r.report.to_json())


def test_damaged_workbooks_never_crash() -> None:
    """Random byte damage to a real workbook: always a status, never an exception."""
    import random

    base = xlsx_bytes({"S": [ISTV_HEADER, GOOD_ROW]})
    rng = random.Random(0)
    seen = set()
    for _ in range(150):
        damaged = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        r = run(bytes(damaged), "a.xlsx")
        assert r.status in {"ok", "rejected", "mapping_needed"}
        seen.update(e.code for e in r.report.file_errors)
    assert E.ZIP_CORRUPT in seen


def test_guard_runs_even_when_the_file_is_refused() -> None:
    """A schema-mismatched or wrong-site file with personal data is still quarantined."""
    mapping = ColumnMapping(
        columns={
            Field.ASSAULT_DATE: "Assault Date",
            Field.METHOD: "Weapon",
            Field.LOCATION_TYPE: "Location Type",
        }
    )
    data = csv_text([[*GOOD_ROW, "943 476 5919"]], header=[*ISTV_HEADER, "Ref"]).encode()
    r = run(data, mapping=mapping, options=Options())
    assert r.status == "quarantined"
    assert {e.code for e in r.report.file_errors} == {E.SCHEMA_MISMATCH, E.PERSONAL_DATA}
    rec = {**GOOD_RECORD, "AssaultLocationDescription": "x"}
    wrong_site = run(istv_xml([rec], site="RJZ01"), "a.xml")
    assert wrong_site.status == "rejected"
