"""Parsers: every format and encoding, header detection, XLSX features, safe XML, ECDS."""

from __future__ import annotations

import codecs
from datetime import date, datetime

import pytest

from ingest.pipeline.errors import FileErrorCode as E
from ingest.pipeline.errors import PipelineFileError
from ingest.pipeline.intake import accept_upload
from ingest.pipeline.limits import Limits
from ingest.pipeline.parsers import (
    XmlLayout,
    detect_delimiter,
    ecds_mapping,
    parse_upload,
    xsd_text,
)
from ingest.pipeline.parsers.common import find_header_row
from ingest.pipeline.types import Field, FileFormat, ParsedFile

from .helpers import GOOD_RECORD, GOOD_ROW, ISTV_HEADER, NOW, csv_text, istv_xml, xlsx_bytes


def parse(data: bytes, name: str, **kw: object) -> ParsedFile:
    limits = kw.pop("limits", Limits())
    up = accept_upload(data, filename=name, limits=limits)  # type: ignore[arg-type]
    return parse_upload(up, limits=limits, **kw)  # type: ignore[arg-type]


ROW2 = ["04/05/2025", "01:20", "03/05/2025", "n/k", "Knife", "", "Pub", "Sainsbury\u2019s Rye Lane"]


@pytest.mark.parametrize(
    ("encoding", "sep", "name"),
    [
        ("utf-8", ",", "a.csv"),
        ("utf-8-sig", ",", "a.csv"),
        ("cp1252", ",", "a.csv"),
        ("utf-8", ";", "a.csv"),
        ("utf-8", "|", "a.csv"),
        ("utf-16", "\t", "a.tsv"),  # Excel "Unicode text"
        ("utf-16", "\t", "a.csv"),  # same, saved with a .csv name
        ("utf-16-le", "\t", "a.tsv"),
    ],
)
def test_delimited_encodings(encoding: str, sep: str, name: str) -> None:
    data = csv_text([GOOD_ROW, ROW2], sep=sep).encode(encoding)
    parsed = parse(data, name)
    assert parsed.columns == ISTV_HEADER
    rows = list(parsed.rows)
    assert [n for n, _ in rows] == [2, 3]
    assert rows[1][1]["Location Description"] == "Sainsbury\u2019s Rye Lane"
    assert rows[0][1]["Method Other"] is None  # blank cells are None
    assert parsed.delimiter == sep
    assert parsed.format is (FileFormat.TSV if sep == "\t" else FileFormat.CSV)


def test_bom_stripped_from_first_header() -> None:
    data = codecs.BOM_UTF8 + csv_text([GOOD_ROW]).encode()
    assert parse(data, "a.csv").columns[0] == "Arrival Date"


def test_header_found_below_title_rows() -> None:
    text = csv_text([GOOD_ROW], title=["St Thomas' ED ISTV return,,,", "Period: May 2025", ""])
    parsed = parse(text.encode(), "a.csv")
    assert parsed.header_row == 4
    assert parsed.columns == ISTV_HEADER
    assert next(iter(parsed.rows))[0] == 5  # row numbers count title rows


def test_quoted_fields_with_commas_and_newlines() -> None:
    row = [
        '"03/05/2025"',
        "23:40",
        "03/05/2025",
        "23:10",
        "Fist",
        "",
        "Street",
        '"junction of Mare St, Well St\nnr bus stop"',
    ]
    rows = list(parse(csv_text([row, GOOD_ROW]).encode(), "a.csv").rows)
    assert rows[0][1]["Location Description"] == "junction of Mare St, Well St\nnr bus stop"


def test_short_and_long_rows() -> None:
    text = csv_text([GOOD_ROW[:3], [*GOOD_ROW, "extra"]])
    rows = list(parse(text.encode(), "a.csv").rows)
    assert rows[0][1]["Location Description"] is None
    assert rows[1][1]["column_9"] == "extra"


def test_blank_rows_skipped() -> None:
    text = csv_text([GOOD_ROW, [""] * 8, GOOD_ROW])
    assert [n for n, _ in parse(text.encode(), "a.csv").rows] == [2, 4]


def test_no_header_row() -> None:
    text = "01/05/2025,02/05/2025\r\n03/05/2025,04/05/2025\r\n"
    with pytest.raises(PipelineFileError) as info:
        parse(text.encode(), "a.csv")
    assert info.value.code is E.NO_HEADER


def test_duplicate_and_blank_header_names() -> None:
    parsed = parse(b"Date,Date,,Method\r\n01/05/2025,02/05/2025,x,Fist\r\n", "a.csv")
    assert parsed.columns == ["Date", "Date (2)", "column_3", "Method"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("Title\na|b|c\n1|2|3\n4|5|6\n", "|"),
    ],
)
def test_detect_delimiter(text: str, expected: str) -> None:
    assert detect_delimiter(text) == expected


def test_find_header_row_prefers_labels_over_data() -> None:
    rows = [["ISTV return"], [], ["Date", "Method", "Location"], ["01/05/2025", "Fist", "x"]]
    assert find_header_row(rows) == 2


# -- XLSX -----------------------------------------------------------------------------
def xlsx_rows() -> list[list[object]]:
    return [
        ["King's College Hospital - ISTV return"],
        ["Period: May 2025"],
        [],
        ["Arrival Date/Time", "Date of Assault", "Time of Assault", "Method", "Location"],
        [NOW, "03/05/2025", "23:10", "Fist", "Street"],
        [45780.5, 45780, "n/k", "Knife", "Pub"],
        [NOW, date(2025, 5, 3), None, "Bottle", "Home"],
    ]


def test_xlsx_title_rows_dates_and_serials() -> None:
    parsed = parse(xlsx_bytes({"ISTV": xlsx_rows()}), "a.xlsx")
    assert parsed.format is FileFormat.XLSX
    assert parsed.header_row == 4
    assert parsed.columns[0] == "Arrival Date/Time"
    rows = list(parsed.rows)
    assert [n for n, _ in rows] == [5, 6, 7]
    assert rows[0][1]["Arrival Date/Time"] == NOW
    assert rows[0][1]["Date of Assault"] == "03/05/2025"  # UK date kept as text
    assert rows[1][1]["Arrival Date/Time"] == 45780.5  # unformatted Excel serial
    assert rows[2][1]["Date of Assault"] in (date(2025, 5, 3), datetime(2025, 5, 3))


def test_xlsx_first_visible_sheet_or_chosen() -> None:
    data = xlsx_bytes({"Notes": [["Read me", "x"], ["a", "b"]], "Data": xlsx_rows()})
    assert parse(data, "a.xlsx").sheet == "Notes"
    chosen = parse(data, "a.xlsx", sheet="Data")
    assert chosen.sheet == "Data" and chosen.columns[1] == "Date of Assault"
    with pytest.raises(PipelineFileError) as info:
        parse(data, "a.xlsx", sheet="Missing")
    assert info.value.code is E.SHEET_NOT_FOUND


def test_xlsx_merged_cells_fill_their_range() -> None:
    rows = xlsx_rows()
    rows[5][4] = None  # merged with the cell above
    data = xlsx_bytes({"S": rows}, merges={"S": ["A1:E1", "E5:E6"]})
    parsed = parse(data, "a.xlsx")
    assert parsed.header_row == 4  # the merged title is not mistaken for a header
    got = list(parsed.rows)
    assert got[1][1]["Location"] == "Street"


def test_xlsx_sheet_too_large() -> None:
    data = xlsx_bytes({"S": xlsx_rows()})
    with pytest.raises(PipelineFileError) as info:
        parse(data, "a.xlsx", limits=Limits(max_rows=5))
    assert info.value.code is E.SHEET_TOO_LARGE
    with pytest.raises(PipelineFileError) as info:
        parse(data, "a.xlsx", limits=Limits(max_columns=3))
    assert info.value.code is E.SHEET_TOO_LARGE


# -- XML ------------------------------------------------------------------------------
def test_xml_parsed_with_header() -> None:
    parsed = parse(istv_xml([GOOD_RECORD, {"AssaultDateTime": "2025-05-04"}]), "a.xml")
    assert parsed.format is FileFormat.XML
    assert parsed.header.site_code == "RJ122"
    assert parsed.header.period_start == date(2025, 5, 1)
    assert parsed.header.period_end == date(2025, 5, 31)
    rows = list(parsed.rows)
    assert rows[0] == (1, {**dict.fromkeys(parsed.columns), **GOOD_RECORD})
    assert rows[1][1]["AssaultMethod"] is None


def test_xml_with_namespace_accepted() -> None:
    parsed = parse(istv_xml([GOOD_RECORD], ns="urn:example:istv"), "a.xml")
    assert len(list(parsed.rows)) == 1


@pytest.mark.parametrize(
    "prolog",
    [
        # billion laughs
        '<!DOCTYPE ISTVSubmission [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
        # XXE
        '<!DOCTYPE ISTVSubmission [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        # external DTD
        '<!DOCTYPE ISTVSubmission SYSTEM "http://example.invalid/istv.dtd">',
        # parameter entity
        '<!DOCTYPE ISTVSubmission [<!ENTITY % p SYSTEM "http://example.invalid/p">%p;]>',
    ],
)
def test_xml_dtd_entities_refused(prolog: str) -> None:
    rec = {**GOOD_RECORD, "AssaultLocationDescription": "&xxe;" if "xxe" in prolog else "x"}
    data = istv_xml([rec], prolog=prolog)
    with pytest.raises(PipelineFileError) as info:
        parse(data, "a.xml")
    assert info.value.code in (E.XML_FORBIDDEN, E.XML_MALFORMED)
    assert "root:" not in str(info.value)  # no file contents echoed


def test_xml_forbidden_is_the_code_for_billion_laughs() -> None:
    data = istv_xml([GOOD_RECORD], prolog='<!DOCTYPE x [<!ENTITY a "lol">]>')
    with pytest.raises(PipelineFileError) as info:
        parse(data, "a.xml")
    assert info.value.code is E.XML_FORBIDDEN


def test_xml_malformed() -> None:
    with pytest.raises(PipelineFileError) as info:
        parse(b"<ISTVSubmission><SubmissionHeader></ISTVSubmission>", "a.xml")
    assert info.value.code is E.XML_MALFORMED
    assert "line" in info.value.message


def test_html_renamed_xml_wrong_root() -> None:
    with pytest.raises(PipelineFileError) as info:
        parse(b"<html><body>hi</body></html>", "a.xml")
    assert info.value.code is E.XML_WRONG_ROOT


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (istv_xml([{**GOOD_RECORD, "PatientName": "x"}]), "unexpected element"),
        (istv_xml([GOOD_RECORD], site="R!"), "SiteCode"),
        (istv_xml([GOOD_RECORD], start="May 2025"), "ReportingPeriodStartDate"),
        (b"<ISTVSubmission><AssaultRecord/></ISTVSubmission>", "SubmissionHeader"),
    ],
)
def test_xml_schema_invalid(data: bytes, fragment: str) -> None:
    with pytest.raises(PipelineFileError) as info:
        parse(data, "a.xml")
    assert info.value.code is E.XML_SCHEMA_INVALID
    assert any(fragment in d for d in info.value.details) or fragment in info.value.message


def test_xml_schema_rule_enforced_beyond_xsd_sample() -> None:
    records = [GOOD_RECORD] * 30 + [{**GOOD_RECORD, "NHSNumber": "x"}]
    with pytest.raises(PipelineFileError) as info:
        parse(istv_xml(records), "a.xml")
    assert info.value.code is E.XML_SCHEMA_INVALID
    assert "AssaultRecord[31]" in info.value.details[0]


def test_xml_configurable_element_names() -> None:
    layout = XmlLayout(
        root="ISTV",
        header="Head",
        period_start="Start",
        period_end="End",
        site_code="Site",
        record="Assault",
        fields=((Field.ASSAULT_AT, "When"), (Field.METHOD, "How"), (Field.LOCATION_TYPE, "Where")),
    )
    data = (
        b"<ISTV><Head><Start>2025-05-01</Start><End>2025-05-31</End><Site>RJ122</Site></Head>"
        b"<Assault><When>2025-05-02</When><How>01</How><Where>02</Where></Assault></ISTV>"
    )
    parsed = parse(data, "a.xml", xml_layout=layout)
    assert next(iter(parsed.rows))[1] == {"When": "2025-05-02", "How": "01", "Where": "02"}
    assert 'name="When"' in xsd_text(layout)
    assert layout.mapping().columns[Field.METHOD] == "How"


# -- ECDS -----------------------------------------------------------------------------
def test_ecds_shape_detected_and_mapped() -> None:
    header = [
        "EC_ARRIVAL_DATE",
        "EC_ARRIVAL_TIME",
        "EC_INJURY_DATE",
        "EC_INJURY_TIME",
        "EC_INJURY_INTENT_SNOMED_CT",
        "EC_INJURY_MECHANISM_SNOMED_CT",
        "EC_PLACE_OF_INJURY_SNOMED_CT",
        "ASSAULT_LOCATION_DESCRIPTION",
    ]
    row = [
        "2025-05-03",
        "23:40",
        "2025-05-03",
        "23:10",
        "276746005",
        "242016008",
        "285202004",
        "o/s Brixton stn",
    ]
    parsed = parse(csv_text([row], header=header).encode(), "ecds.csv")
    assert parsed.format is FileFormat.ECDS
    mapping = ecds_mapping(parsed.columns)
    assert mapping is not None
    assert mapping.columns[Field.INJURY_INTENT] == "EC_INJURY_INTENT_SNOMED_CT"
    assert ecds_mapping(ISTV_HEADER) is None
