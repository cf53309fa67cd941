"""Streaming exports: formula neutralisation, hashing, laziness, memory, packaging."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from incidents.exports import (
    EXPORT_FORMATS,
    INCIDENT_FIELDS,
    CsvExport,
    ExportNotFinished,
    FieldSpec,
    GeoJsonExport,
    Recipient,
    XlsxExport,
    ZipPackage,
    build_manifest,
    data_dictionary,
    data_dictionary_csv,
    manifest_json,
    neutralise,
)

HYPERLINK = '=HYPERLINK("http://x")'
PREFIXED = ["=1+1", "+44 20", "-2+3", "@SUM(A1)", "\tlead tab", "\rlead return", "\0lead nul"]
TEXT = FieldSpec("text", "Text", "Free text.")
NUMBER = FieldSpec("number", "Number", "A number.", "number")


def incident(i: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": i,
        "hospital": "RJ122",
        "assault_date": date(2025, 3, 1) + timedelta(days=i % 28),
        "assault_time": time(23, 15),
        "arrival_datetime": datetime(2025, 3, 2, 0, 40, tzinfo=UTC),
        "borough": "E09000028",
        "ward": "E05011095",
        "lsoa": "E01003968",
        "lat": 51.5028,
        "lon": -0.0877,
        "precision": "exact",
        "method": "knife_sharp",
        "location_type": "street",
        "location_description": "Outside the station on the high road",
    }
    row.update(changes)
    return row


def rows(n: int) -> Iterator[dict[str, Any]]:
    """``n`` fresh row dicts, generated one at a time."""
    template = incident(0)
    for i in range(1, n + 1):
        yield {**template, "id": i}


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def read_xlsx(data: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(data), read_only=False).active
    assert sheet is not None
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def xlsx_cells(data: bytes) -> list[Any]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [row[0] for row in sheet.iter_rows(min_row=2)]


# --- neutralisation of formula-like cells ------------------------------------------------------


@pytest.mark.parametrize("text", PREFIXED)
def test_neutralise_prefixes_every_dangerous_first_character(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["", "Patient's home", " =not first", "5 High St", "'quoted"])
def test_neutralise_leaves_other_text_alone(text):
    assert neutralise(text) == text


@pytest.mark.parametrize("text", PREFIXED)
def test_csv_cells_are_neutralised(text):
    data = b"".join(CsvExport([{"text": text}], [TEXT]))
    assert read_csv(data) == [["text"], ["'" + text]]


@pytest.mark.parametrize("text", PREFIXED)
def test_xlsx_cells_are_neutralised_and_stay_text(text):
    data = b"".join(XlsxExport([{"text": text}], [TEXT]))
    (cell,) = xlsx_cells(data)
    assert cell.data_type == "s"
    # NUL cannot be stored in XLSX at all, so it is dropped after the prefix is added; a
    # carriage return is written as the _x000D_ escape, which spreadsheets read back as
    # one (openpyxl leaves it as it is).
    assert cell.value.replace("_x000D_", "\r") == "'" + text.replace("\0", "")


def test_hyperlink_fixture_round_trips_as_text():
    row = incident(1, location_description=HYPERLINK)
    csv_rows = read_csv(b"".join(CsvExport([row], INCIDENT_FIELDS)))
    assert csv_rows[1][-1] == "'" + HYPERLINK
    xlsx_rows = read_xlsx(b"".join(XlsxExport([row], INCIDENT_FIELDS)))
    assert xlsx_rows[1][-1] == "'" + HYPERLINK
    (cell,) = xlsx_cells(b"".join(XlsxExport([{"text": HYPERLINK}], [TEXT])))
    assert cell.data_type == "s"  # not "f": no formula


def test_numbers_stay_numbers_and_numeric_text_stays_text():
    values = [-5, -0.0877, Decimal("-1.50"), 0, "-5"]
    data = b"".join(CsvExport([{"number": v} for v in values], [NUMBER]))
    assert [r[0] for r in read_csv(data)[1:]] == ["-5", "-0.0877", "-1.50", "0", "'-5"]
    cells = xlsx_cells(b"".join(XlsxExport([{"number": v} for v in values], [NUMBER])))
    assert [c.value for c in cells] == [-5, -0.0877, -1.5, 0, "'-5"]
    assert [c.data_type for c in cells] == ["n", "n", "n", "n", "s"]


def test_csv_writes_dates_times_booleans_and_empty_values(settings):
    settings.TIME_ZONE = "Europe/London"
    names = ("d", "t", "dt", "summer", "naive", "b", "none", "other")
    fields = [FieldSpec(n, n, n) for n in names]
    row = {
        "d": date(2025, 1, 2),
        "t": time(9, 5),
        "dt": datetime(2025, 1, 2, 9, 5, tzinfo=UTC),
        "summer": datetime(2025, 7, 4, 22, 15, 0, 250, tzinfo=UTC),
        "naive": datetime(2025, 7, 4, 23, 15),
        "b": True,
        "none": None,
        "other": type("Code", (), {"__str__": lambda self: "=bad"})(),
    }
    (_, line) = read_csv(b"".join(CsvExport([row], fields)))
    # Aware datetimes in local time (Europe/London) with their UTC offset, ISO 8601.
    assert line == [
        "2025-01-02",
        "09:05:00",
        "2025-01-02T09:05:00+00:00",
        "2025-07-04T23:15:00.000250+01:00",
        "2025-07-04T23:15:00",
        "true",
        "",
        "'=bad",
    ]


def test_xlsx_writes_aware_datetimes_as_local_wall_clock(settings):
    settings.TIME_ZONE = "Europe/London"
    field = FieldSpec("dt", "When", "When.", "datetime")
    summer = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    (cell,) = xlsx_cells(b"".join(XlsxExport([{"dt": summer}], [field])))
    assert cell.value == datetime(2025, 7, 1, 13, 0)  # BST


# --- GeoJSON --------------------------------------------------------------------------------------


def test_geojson_is_a_valid_feature_collection_with_null_geometry_without_a_point():
    source = [incident(1), incident(2, lat=None, lon=None, location_description=HYPERLINK)]
    collection = json.loads(b"".join(GeoJsonExport(source, INCIDENT_FIELDS)))
    assert collection["type"] == "FeatureCollection"
    first, second = collection["features"]
    assert first["type"] == "Feature" and first["id"] == 1
    assert first["geometry"] == {"type": "Point", "coordinates": [-0.0877, 51.5028]}
    assert "lat" not in first["properties"] and "lon" not in first["properties"]
    assert first["properties"]["assault_date"] == "2025-03-02"
    assert second["geometry"] is None
    assert second["properties"]["location_description"] == HYPERLINK  # JSON is not run


def test_geojson_of_nothing_is_an_empty_collection():
    stream = GeoJsonExport(iter(()), INCIDENT_FIELDS)
    assert json.loads(b"".join(stream)) == {"type": "FeatureCollection", "features": []}
    assert stream.row_count == 0


def test_geojson_spans_many_chunks_and_still_parses():
    chunks = list(GeoJsonExport(rows(3000), INCIDENT_FIELDS))
    assert len(chunks) > 3
    assert len(json.loads(b"".join(chunks))["features"]) == 3000


# --- hashing, counts, completion ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPORT_FORMATS))
def test_sha256_and_row_count_describe_exactly_the_bytes_emitted(name):
    completed = []
    stream = EXPORT_FORMATS[name](rows(2500), INCIDENT_FIELDS, on_complete=completed.append)
    with pytest.raises(ExportNotFinished):
        _ = stream.sha256
    chunks = list(stream)
    data = b"".join(chunks)
    assert stream.sha256 == hashlib.sha256(data).hexdigest()
    assert stream.row_count == 2500
    assert stream.size == len(data)
    assert completed == [stream]
    with pytest.raises(RuntimeError, match="only once"):
        iter(stream)


def test_csv_header_is_the_field_names_in_order():
    header, *body = read_csv(b"".join(CsvExport(rows(3), INCIDENT_FIELDS)))
    assert header == [f.name for f in INCIDENT_FIELDS]
    assert len(body) == 3 and body[0][0] == "1"


# --- laziness and memory ------------------------------------------------------------------------


class Exploding:
    """A source that counts what is pulled and fails after ``limit`` rows."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pulled = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(1, 10**9):
            if self.pulled >= self.limit:
                raise RuntimeError("source exhausted on purpose")
            self.pulled += 1
            yield incident(i)


@pytest.mark.parametrize("kind", [CsvExport, GeoJsonExport])
def test_rows_are_pulled_only_as_chunks_are_sent(kind):
    source = Exploding(limit=20_000)
    stream = kind(source, INCIDENT_FIELDS)
    assert source.pulled == 0  # building the response pulls nothing
    chunks = iter(stream)
    first = next(chunks)
    assert first
    assert 0 < source.pulled < 2_000  # one 64 KiB chunk's worth, not everything
    with pytest.raises(RuntimeError, match="on purpose"):
        for _ in chunks:
            pass
    with pytest.raises(ExportNotFinished):
        _ = stream.row_count


def test_xlsx_pulls_nothing_until_read():
    source = Exploding(limit=10)
    stream = XlsxExport(source, INCIDENT_FIELDS)
    assert source.pulled == 0
    with pytest.raises(RuntimeError, match="on purpose"):
        b"".join(stream)


def read_measuring_memory(stream: Any) -> tuple[int, int]:
    """Bytes streamed and the peak memory traced while reading them."""
    tracemalloc.start()
    try:
        size = sum(len(chunk) for chunk in stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, peak


@pytest.mark.slow
def test_csv_memory_stays_small_over_200000_rows():
    stream = CsvExport(rows(200_000), INCIDENT_FIELDS)
    size, peak = read_measuring_memory(stream)
    assert stream.row_count == 200_000
    assert size > 25_000_000  # the output is far larger than what was held
    assert peak < 2_000_000, f"peak {peak} bytes"


@pytest.mark.slow
def test_xlsx_memory_is_bounded_by_the_spool():
    stream = XlsxExport(rows(1_000), INCIDENT_FIELDS)
    size, peak = read_measuring_memory(stream)
    assert stream.row_count == 1_000 and size > 0
    assert peak < 16_000_000, f"peak {peak} bytes"


# --- data dictionary, manifest and package -------------------------------------------------------


def test_incident_fields_and_data_dictionary():
    assert [f.name for f in INCIDENT_FIELDS] == [
        "id", "hospital", "hospital_label", "assault_date", "assault_time",
        "arrival_datetime", "borough", "borough_label", "ward", "ward_label", "lsoa", "lat",
        "lon", "precision", "geo_class", "method", "method_label", "location_type",
        "location_type_label", "location_description",
    ]  # fmt: skip
    entries = data_dictionary(INCIDENT_FIELDS)
    assert all(e["label"] and len(e["description"]) > 10 for e in entries)
    table = read_csv(data_dictionary_csv(INCIDENT_FIELDS))
    assert table[0] == ["field", "label", "type", "description"]
    assert [r[0] for r in table[1:]] == [f.name for f in INCIDENT_FIELDS]


def manifest_for(stream: Any, when: datetime | None = None) -> dict[str, Any]:
    return dict(
        build_manifest(
            query={"borough": ["E09000028"], "assault_date_from": date(2025, 1, 1)},
            release="2025-06",
            row_count=stream.row_count,
            export_format=stream.extension,
            recipient=Recipient("analyst@example.org", ["MOPAC", "VRU"]),
            generated_at=when or datetime(2025, 7, 1, 13, 30, tzinfo=timezone(timedelta(hours=1))),
            data_file_name=f"incidents.{stream.extension}",
            data_sha256=stream.sha256,
            data_bytes=stream.size,
            fields=[f.name for f in stream.fields],
            disclosure_note=None,
            purpose="Licensing review",
        )
    )


def test_manifest_contents():
    stream = CsvExport(rows(4), INCIDENT_FIELDS)
    data = b"".join(stream)
    manifest = json.loads(manifest_json(manifest_for(stream)))  # type: ignore[arg-type]
    assert manifest["query"] == {"borough": ["E09000028"], "assault_date_from": "2025-01-01"}
    assert manifest["release"] == "2025-06"
    assert manifest["row_count"] == 4 and manifest["format"] == "csv"
    assert manifest["generated_for"] == {
        "email": "analyst@example.org",
        "organisations": ["MOPAC", "VRU"],
    }
    assert manifest["generated_at"] == "2025-07-01T12:30:00Z"
    assert manifest["data_file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["data_file"]["bytes"] == len(data)
    assert manifest["fields"][-1] == "location_description"
    assert manifest["disclosure_control"] is None
    assert manifest["purpose"] == "Licensing review"


def test_manifest_refuses_a_naive_timestamp():
    stream = CsvExport([], INCIDENT_FIELDS)
    b"".join(stream)
    with pytest.raises(ValueError, match="timezone-aware"):
        manifest_for(stream, when=datetime(2025, 1, 1))


def test_zip_package_streams_data_dictionary_and_manifest():
    source = [incident(i, location_description=HYPERLINK) for i in range(1, 301)]
    expected = b"".join(CsvExport(source, INCIDENT_FIELDS))
    package = ZipPackage(
        CsvExport(source, INCIDENT_FIELDS),
        base_name="incidents-2025-06",
        dictionary=data_dictionary_csv(INCIDENT_FIELDS),
        manifest=lambda data: manifest_json(manifest_for(data)),  # type: ignore[arg-type]
        timestamp=datetime(2025, 7, 1, tzinfo=UTC),
    )
    blob = b"".join(package)
    assert package.sha256 == hashlib.sha256(blob).hexdigest() and package.size == len(blob)
    archive = zipfile.ZipFile(io.BytesIO(blob))
    assert archive.testzip() is None
    assert archive.namelist() == ["incidents-2025-06.csv", "data-dictionary.csv", "manifest.json"]
    assert archive.read("incidents-2025-06.csv") == expected
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["data_file"]["sha256"] == hashlib.sha256(expected).hexdigest()
    assert manifest["row_count"] == 300
    assert archive.read("data-dictionary.csv") == data_dictionary_csv(INCIDENT_FIELDS)


def test_zip_package_sends_bytes_before_the_source_is_exhausted():
    source = Exploding(limit=30_000)
    package = ZipPackage(
        CsvExport(source, INCIDENT_FIELDS),
        base_name="incidents",
        dictionary=b"",
        manifest=lambda data: b"{}",
    )
    sent = 0
    with pytest.raises(RuntimeError, match="on purpose"):
        for chunk in package:
            sent += len(chunk)
    assert sent > 0  # compressed data went out while rows were still being read
    assert source.pulled == 30_000
