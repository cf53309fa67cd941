"""The GeoJSON written by PostgreSQL and the XLSX written by xlsxwriter, against their
reference writers.

The GeoJSON of ``incident_geojson_export`` (the masked SELECT of incidents/masking_sql.py,
one Feature per row, fetched in batches) must be exactly the bytes of
``GeoJsonExport(masker.mask_many(rows))`` for every access, as the CSV's COPY must be those
of ``CsvExport``. The XLSX must hold the values the earlier openpyxl writer held, with
text neutralised the same way and never written as a formula.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from accounts.access import EffectiveAccess
from accounts.audit.models import Action, AuditEvent
from hospitals.models import HospitalSite
from incidents.csv_lines import incident_export
from incidents.exports import FieldSpec, GeoJsonExport, XlsxExport, neutralise
from incidents.exports.labels import with_labels
from incidents.exports.sql_lines import BATCH_ROWS, SqlGeoJsonExport
from incidents.exports.sql_xlsx import SqlXlsxExport
from incidents.masking import RAW_FIELDS, Masker
from incidents.masking_sql import _xml_text, _xml_text_py, incident_geojson_export
from incidents.models import HarmonisedCode, Incident
from tests.exports.test_copy_export import (  # noqa: F401 (the fixture)
    ACCESSES,
    ALL,
    AWKWARD,
    TOWER_HAMLETS,
    _row,
    fields_for,
    incidents,
)
from tests.workspace_api.conftest import COUNTS, _fresh_caches, world  # noqa: F401
from tests.workspace_api.factories import (
    SOUTHWARK,
    geography_create,
    incidents_create,
    site_get,
    submission_create,
)

pytestmark = pytest.mark.django_db


def masked_rows(queryset: QuerySet[Incident], masker: Masker) -> Iterable[dict[str, Any]]:
    rows = queryset.order_by("-assault_at", "-id").values(*RAW_FIELDS).iterator(chunk_size=50)
    return with_labels(masker.mask_many(rows))


def python_geojson(queryset: QuerySet[Incident], access: EffectiveAccess) -> bytes:
    """The reference: the Python masker and GeoJSON writer, as the view used them."""
    masker = Masker.for_access(access)
    return b"".join(GeoJsonExport(masked_rows(queryset, masker), fields_for(masker)))


def sql_geojson(queryset: QuerySet[Incident], access: EffectiveAccess) -> bytes:
    masker = Masker.for_access(access)
    return b"".join(incident_geojson_export(queryset, masker, fields_for(masker)))


@pytest.mark.parametrize("name", sorted(ACCESSES))
def test_geojson_bytes_equal_the_python_path(incidents, name) -> None:  # noqa: F811
    access = ACCESSES[name]
    expected = python_geojson(incidents, access)
    assert expected.count(b'"type":"Feature"') > 100
    assert sql_geojson(incidents, access) == expected


def test_geojson_carries_awkward_text_as_json_and_keeps_to_scope(incidents) -> None:  # noqa: F811
    """Formula-like text, control characters and unicode arrive as the JSON strings of
    the stored text (JSON is not a spreadsheet: nothing is prefixed); a borough the user
    sees only as counts contributes no feature."""
    access = ACCESSES["partly aggregate"]
    data = sql_geojson(incidents, access)
    features = json.loads(data)["features"]
    texts = {f["properties"]["location_description"] for f in features}
    assert {'=HYPERLINK("http://x")', "\tleading tab"} <= texts
    assert "Café £5 — naïve" in texts
    assert not any(f["properties"]["borough"] == TOWER_HAMLETS for f in features)
    in_scope = set(
        incidents.filter(borough_code__in=sorted(access.record_boroughs)).values_list(
            "id", flat=True
        )
    )
    assert {f["id"] for f in features} == in_scope
    assert {f["properties"]["precision"] for f in features} >= {"snapped", "venue"}
    assert any(f["geometry"] is None for f in features)


def test_geojson_of_nothing_and_of_a_slice(incidents) -> None:  # noqa: F811
    access = ACCESSES["mixed per borough"]
    empty = Incident.objects.none()
    assert sql_geojson(empty, access) == python_geojson(empty, access)
    assert sql_geojson(empty, access) == b'{"type":"FeatureCollection","features":[]}'
    sliced = incidents.order_by("-assault_at", "-id")[:7]
    masker = Masker.for_access(access)
    expected = b"".join(
        GeoJsonExport(with_labels(masker.mask_many(sliced.values(*RAW_FIELDS))), fields_for(masker))
    )
    assert sql_geojson(sliced, access) == expected
    assert len(json.loads(expected)["features"]) == 7


def test_geojson_stream_counts_hashes_and_spans_batches(db) -> None:
    geography_create()
    submission = submission_create(site_get("RJ122", ALL[0]))
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    n = BATCH_ROWS * 2 + 5
    incidents_create(
        submission,
        (
            _row(ALL[i % 3], when=start + dt.timedelta(minutes=i), description=f"place {i}")
            for i in range(n)
        ),
    )
    access = ACCESSES["snapped"]
    masker = Masker.for_access(access)
    completed: list[Any] = []
    stream = incident_export(Incident.objects.all(), masker, fields_for(masker), "geojson")
    assert isinstance(stream, SqlGeoJsonExport)
    assert stream.content_type == "application/geo+json" and stream.extension == "geojson"
    stream.on_complete = completed.append
    data = b"".join(stream)
    assert data == python_geojson(Incident.objects.all(), access)
    assert stream.row_count == n == len(json.loads(data)["features"])
    assert stream.sha256 == hashlib.sha256(data).hexdigest() and stream.size == len(data)
    assert completed == [stream]


def test_geojson_stopped_early_leaves_the_connection_usable(db) -> None:
    geography_create()
    submission = submission_create(site_get("RJ122", ALL[0]))
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    incidents_create(
        submission, (_row(ALL[0], when=start + dt.timedelta(minutes=i)) for i in range(3000))
    )
    masker = Masker.for_access(ACCESSES["exact pan-London"])
    stream = incident_geojson_export(Incident.objects.all(), masker, fields_for(masker))
    chunks = iter(stream)
    next(chunks)
    next(chunks)
    stream.close()
    assert not stream.finished
    assert Incident.objects.count() == 3000  # the cursor's savepoint was rolled back
    again = incident_geojson_export(Incident.objects.all(), masker, fields_for(masker))
    assert len(json.loads(b"".join(again))["features"]) == 3000


# --- XLSX ----------------------------------------------------------------------------------


def openpyxl_reference(rows: Iterable[dict[str, Any]], fields: Sequence[FieldSpec]) -> bytes:
    """The workbook the earlier writer produced (openpyxl, write-only): the reference for
    values and neutralisation."""

    def value(v: Any) -> Any:
        if isinstance(v, str):
            return ILLEGAL_CHARACTERS_RE.sub("", neutralise(v))
        if isinstance(v, dt.datetime) and timezone.is_aware(v):
            return timezone.make_naive(v)
        return v

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Incidents")
    names = [f.name for f in fields]
    sheet.append(names)
    for row in rows:
        sheet.append([value(row.get(name)) for name in names])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text(value: Any) -> Any:
    """Text as a spreadsheet shows it: ``_xHHHH_`` escapes (xlsxwriter's, for control
    characters) decoded, and line ends as XML reads them (openpyxl wrote ``\r`` raw, which
    an XML parser turns into ``\n``)."""
    if not isinstance(value, str):
        return value
    text = re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), value)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sheet_values(data: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    rows = [
        [None if v == "" else _text(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    for row in rows:  # a row's trailing empty cells may or may not be listed
        while row and row[-1] is None:
            row.pop()
    return [tuple(row) for row in rows]


def same_cells(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> bool:
    """Equal cell for cell; floats to 1e-13 relative (openpyxl wrote 15 or 16 significant
    digits, the SQL path writes the exact double)."""
    return len(ours) == len(theirs) and all(
        math.isclose(a, b, rel_tol=1e-13) if isinstance(a, float) else a == b
        for a, b in zip(ours, theirs, strict=True)
    )


def formulas(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]


AWKWARD_XLSX = [
    *AWKWARD,
    "\x01=control then formula",
    "bell\x07inside",
    "\x0bvertical tab",
    None,
    "tab\tinside",
    "ünïcødé ✓ 😀",
]


def test_xlsx_values_equal_the_openpyxl_writer(settings) -> None:
    settings.TIME_ZONE = "Europe/London"
    fields = [
        FieldSpec("id", "ID", "", "integer"),
        FieldSpec("text", "Text", ""),
        FieldSpec("when", "When", "", "datetime"),
        FieldSpec("day", "Day", "", "date"),
        FieldSpec("lat", "Latitude", "", "number"),
    ]
    london = dt.timezone(dt.timedelta(hours=1))
    rows = [
        {
            "id": i,
            "text": text,
            "when": dt.datetime(2025, 7, 4, 22, 15, i, tzinfo=dt.UTC) if i % 2 else None,
            "day": dt.date(2025, 1, 1) + dt.timedelta(days=i),
            "lat": [51.501234, -0.0, 1.5e-05, None][i % 4],
        }
        for i, text in enumerate(AWKWARD_XLSX)
    ]
    rows.append({"id": 99, "text": "-5", "when": dt.datetime(2025, 1, 1, 1, tzinfo=london)})
    ours = b"".join(XlsxExport(iter(rows), fields))
    reference = openpyxl_reference(rows, fields)
    expected = sheet_values(reference)
    got = sheet_values(ours)
    assert got == expected
    # "=control then formula" loses its control character in both; openpyxl then wrote it
    # as a formula, xlsxwriter writes text as text.
    assert formulas(reference) and formulas(ours) == []
    texts = {row[1] for row in got[1:]}
    assert {'\'=HYPERLINK("http://x")', "'-", "'@SUM(A1)", "'\tleading tab"} <= texts
    assert "bellinside" in texts and "'-5" in texts and "ünïcødé ✓ 😀" in texts
    assert got[2][2] == dt.datetime(2025, 7, 4, 23, 15, 1)  # local wall-clock time


def test_incident_xlsx_has_the_masked_rows_of_the_reference(incidents) -> None:  # noqa: F811
    """Same rows, order and values as the earlier writer over the masker's rows (masked
    precisions, labels, free text where allowed), and no out-of-scope row. Labels that
    need escaping in XML (rendered in Python, unlike the rest) come out as text."""
    HarmonisedCode.objects.filter(kind="location_type").update(label=" Pub & bar <x> ")
    HospitalSite.objects.update(name="St Mary's & St Paul's\x07")
    for name in ("mixed per borough", "partly aggregate", "pan-London with unlocated"):
        access = ACCESSES[name]
        masker = Masker.for_access(access)
        fields = fields_for(masker)
        stream = incident_export(incidents, masker, fields, "xlsx")
        assert isinstance(stream, SqlXlsxExport)
        data = b"".join(stream)
        expected = sheet_values(openpyxl_reference(masked_rows(incidents, masker), fields))
        got = sheet_values(data)
        assert len(got) > 100 and len(got) == len(expected)
        for ours, theirs in zip(got, expected, strict=True):
            assert same_cells(ours, theirs), (ours, theirs)
        assert formulas(data) == []
        assert stream.row_count == len(got) - 1
        assert stream.sha256 == hashlib.sha256(data).hexdigest()
        # A plain zip, as spreadsheet programs expect: intact, each member's sizes in its
        # header (no trailing data descriptor, flag bit 3).
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            assert package.testzip() is None
            assert all(not info.flag_bits & 0x08 for info in package.infolist())
        header = got[0]
        boroughs = {row[header.index("borough")] for row in got[1:]}
        assert boroughs <= set(access.record_boroughs) | {None}
        if name == "partly aggregate":
            assert TOWER_HAMLETS not in boroughs


def test_xlsx_continues_on_a_new_sheet_when_one_is_full(monkeypatch) -> None:
    from incidents.exports import streams

    monkeypatch.setattr(streams, "XLSX_MAX_ROWS", 4)
    fields = [FieldSpec("n", "n", "", "integer")]
    stream = XlsxExport(iter({"n": i} for i in range(7)), fields)
    workbook = load_workbook(io.BytesIO(b"".join(stream)), read_only=True)
    sheets = [[r[0] for r in ws.iter_rows(values_only=True)] for ws in workbook.worksheets]
    assert workbook.sheetnames == ["Incidents", "Incidents (2)", "Incidents (3)"]
    assert sheets == [["n", 0, 1, 2], ["n", 3, 4, 5], ["n", 6]]
    assert stream.row_count == 7


def test_incident_xlsx_continues_on_a_new_sheet_when_one_is_full(incidents, monkeypatch) -> None:  # noqa: F811
    from incidents.exports import sql_xlsx

    monkeypatch.setattr(sql_xlsx, "XLSX_MAX_ROWS", 100)
    access = ACCESSES["exact pan-London"]
    masker = Masker.for_access(access)
    fields = fields_for(masker)
    stream = incident_export(incidents, masker, fields, "xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(stream)), read_only=True)
    header = tuple(f.name for f in fields)
    ids = []
    for number, sheet in enumerate(workbook.worksheets, start=1):
        assert sheet.title == ("Incidents" if number == 1 else f"Incidents ({number})")
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == header and 1 < len(values) <= 100
        # The sheet's stated extent is the rows it holds (readers size the sheet by it).
        assert (sheet.max_row, sheet.max_column) == (len(values), len(header))
        ids += [row[0] for row in values[1:]]
    assert len(workbook.worksheets) > 2
    expected = [row["id"] for row in masked_rows(incidents, masker)]
    assert ids == expected and stream.row_count == len(expected)


# --- through the API: package, manifest, audit, scope ---------------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "xlsx"])
def test_api_package_has_the_right_manifest_audit_and_scope(
    world,  # noqa: F811
    api_as,
    southwark_analyst,
    fmt,
) -> None:
    """The zipped download of the SQL-written formats: the manifest's hash and row count
    describe the data file, both audit events are written (the completed one with the
    hash of the bytes sent), and only rows of the analyst's borough are in it."""
    response = api_as(southwark_analyst).get(
        f"/api/v1/exports/incidents.{fmt}", {"purpose": "Licensing review", "package": "zip"}
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(body))
    data = archive.read(f"incidents.{fmt}")
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["data_file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["data_file"]["bytes"] == len(data)
    assert manifest["row_count"] == COUNTS[SOUTHWARK] == manifest["data_file"]["row_count"]
    if fmt == "geojson":
        features = json.loads(data)["features"]
        boroughs = {f["properties"]["borough"] for f in features}
        assert len(features) == COUNTS[SOUTHWARK]
    else:
        rows = sheet_values(data)
        boroughs = {row[rows[0].index("borough")] for row in rows[1:]}
        assert len(rows) - 1 == COUNTS[SOUTHWARK]
        assert any(v == '\'=HYPERLINK("http://x")' for row in rows for v in row)
    assert boroughs == {SOUTHWARK}
    events = list(AuditEvent.objects.filter(action=Action.DATA_DOWNLOADED).order_by("id"))
    assert [e.details["stage"] for e in events] == ["started", "completed"]
    done = events[-1].details
    assert done["format"] == fmt and done["rows"] == COUNTS[SOUTHWARK]
    assert done["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    "text",
    ["plain", "fish & chips <b>", "_x0041_ literal", "a\rb", "bell\x07", "\x01\x02", "_x00zz_"],
)
def test_xml_text_in_sql_is_the_python_rule(text) -> None:
    """A worksheet's text cells are escaped in SQL (``_xml_text``) and its labels in Python
    (``_xml_text_py``): the two give the same XML text, or both none."""
    sql, params = _xml_text("%s::text", [text])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        (escaped,) = cursor.fetchone()
    assert escaped == (_xml_text_py(text) or None)
