"""Streaming export writers: CSV, XLSX and GeoJSON over any iterator of row dicts.

Every writer is an iterable of ``bytes`` chunks suitable for ``StreamingHttpResponse``.
Rows are pulled from the source only as chunks are requested, so memory stays constant
whatever the row count (XLSX is the exception in kind, not in bound: the format is a zip
that cannot be emitted before it is complete, so it is built in a temporary file and then
streamed). While the chunks go out, a SHA-256 of the exact bytes and the row
count are kept; both are available once the stream has ended, and ``on_complete`` is
called at that point (the place to write the download's audit row).

CSV and XLSX cells holding text that starts with ``=``, ``+``, ``-``, ``@``, tab, carriage
return or NUL get a leading ``'`` (formula injection) so a spreadsheet shows them as text
instead of running them. Numbers typed as ``int``/``float``/``Decimal`` are written as
numbers: a negative number is data, not a formula. A number that arrives as a *string* is
text and is treated like any other text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar, Final, Self, cast

import xlsxwriter
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from incidents.exports.fields import FieldSpec
from istv_portal.spreadsheet import FORMULA_PREFIXES, neutralise

CHUNK_SIZE: Final = 64 * 1024

Row = Mapping[str, Any]


class ExportNotFinished(RuntimeError):
    """The digest or row count was asked for before the stream was read to the end."""


class HashedStream:
    """A one-shot iterable of byte chunks that hashes and counts what it emits.

    Subclasses implement :meth:`_chunks`. ``on_complete`` is called with the stream once
    the last chunk has been handed over.
    """

    content_type: ClassVar[str]
    extension: ClassVar[str]

    def __init__(self, *, on_complete: Callable[[Self], None] | None = None) -> None:
        self.on_complete = on_complete
        self._hash = hashlib.sha256()
        self._bytes = 0
        self._finished = False
        self._started = False
        # A weak reference: the generator's frame refers to the stream, and a strong one
        # back would make a cycle, delaying its clean-up from the last reference to the
        # garbage collector.
        self._iterator: weakref.ref[Generator[bytes, None, None]] | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise RuntimeError("an export stream can be read only once")
        self._started = True
        iterator = self._emit()
        self._iterator = weakref.ref(iterator)
        return iterator

    def close(self) -> None:
        """Stop reading: the source is released now rather than when the generator is
        garbage-collected (a database COPY is cancelled). ``StreamingHttpResponse`` calls
        this when the response is closed, also after a client went away mid-download.
        Harmless after the stream has ended."""
        iterator = self._iterator() if self._iterator is not None else None
        if iterator is not None:
            iterator.close()

    def _emit(self) -> Generator[bytes, None, None]:
        for chunk in self._chunks():
            if chunk:
                self._hash.update(chunk)
                self._bytes += len(chunk)
                yield chunk
        self._finished = True
        if self.on_complete is not None:
            self.on_complete(cast(Self, self))

    def _chunks(self) -> Iterator[bytes]:
        raise NotImplementedError

    def _require_finished(self) -> None:
        if not self._finished:
            raise ExportNotFinished("the export stream has not been read to the end")

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of every byte emitted."""
        self._require_finished()
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        """How many bytes were emitted."""
        self._require_finished()
        return self._bytes


class ExportStream(HashedStream):
    """An export of rows: subclasses call :meth:`_count_row` (or bump ``_rows``) once per
    data row written."""

    def __init__(
        self,
        rows: Iterable[Row],
        fields: Sequence[FieldSpec],
        *,
        on_complete: Callable[[Self], None] | None = None,
    ) -> None:
        super().__init__(on_complete=on_complete)
        self.rows = rows
        self.fields = tuple(fields)
        self._rows = 0

    def _count_row(self) -> None:
        self._rows += 1

    @property
    def row_count(self) -> int:
        self._require_finished()
        return self._rows


# Written by the csv module as they are: numbers as numbers, None as an empty field,
# dates and times in ISO 8601. None of their text forms can start with a formula
# character except a negative number, which is data. Datetimes go through
# :func:`_csv_datetime` instead.
_CSV_AS_IS: Final = frozenset({int, float, Decimal, type(None), date, time})


def _csv_datetime(value: datetime) -> str:
    """A datetime in ISO 8601 with ``T``: an aware one in local time (``TIME_ZONE``,
    Europe/London) with its UTC offset, e.g. ``2026-07-04T23:15:00+01:00`` in summer and
    ``2026-01-04T23:15:00+00:00`` in winter; microseconds only when there are any.
    ``incidents.masking_sql`` writes the same text."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.get_current_timezone())
    return value.isoformat()


def _csv_value(value: Any) -> Any:
    """Any value that is neither text nor in ``_CSV_AS_IS`` (datetimes, bools, enums,
    UUIDs…)."""
    if isinstance(value, datetime):
        return _csv_datetime(value)
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | date | time):
        return value
    return neutralise(str(value))


class _LineFeedRecords:
    """What ``csv.writer`` writes into: records end in ``\n``, as PostgreSQL's COPY ends
    them, so this writer and ``SqlCsvExport`` give the same bytes.

    The writer is told ``\r\n`` because it quotes fields holding any character of its
    line terminator, and COPY quotes fields holding either ``\r`` or ``\n``; each record
    arrives in one ``write`` call, and its ``\r\n`` is swapped for ``\n`` here.
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def write(self, record: str) -> int:
        return self.buffer.write(record[:-2] + "\n")


class CsvExport(ExportStream):
    """RFC 4180 CSV in UTF-8 (no byte-order mark), header row of field names, records
    ending in ``\n`` (as PostgreSQL writes them), fields quoted when they hold a comma,
    a double quote, ``\r`` or ``\n``."""

    content_type = "text/csv; charset=utf-8"
    extension = "csv"

    def _chunks(self) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(_LineFeedRecords(buffer), lineterminator="\r\n")
        names = [f.name for f in self.fields]
        writer.writerow(names)
        convert, as_is, prefixes = _csv_value, _CSV_AS_IS, FORMULA_PREFIXES
        zone = timezone.get_current_timezone()
        for row in self.rows:
            # Inlined for speed: this runs once per value of every exported row. Text is
            # the commonest type, so it is tested first. Datetimes as _csv_datetime (the
            # zone looked up once: the lookup costs more than the conversion).
            writer.writerow(
                [
                    ("'" + value if value[:1] in prefixes else value)
                    if type(value) is str
                    else value if type(value) in as_is
                    else (
                        value if value.tzinfo is zone or value.tzinfo is None
                        else value.astimezone(zone)
                    ).isoformat() if type(value) is datetime
                    else convert(value)
                    for value in map(row.get, names)
                ]
            )  # fmt: skip
            self._rows += 1
            if buffer.tell() >= CHUNK_SIZE:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        # XML 1.0 cannot carry most control characters (NUL among them): neutralise first
        # so a leading one still earns its prefix, then drop them.
        return ILLEGAL_CHARACTERS_RE.sub("", neutralise(value))
    if value is None or isinstance(value, int | float | Decimal | date | time):
        if isinstance(value, datetime) and timezone.is_aware(value):
            # Excel has no time zones: write local wall-clock time (TIME_ZONE).
            return timezone.make_naive(value)
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(value)))


# A sheet holds at most this many rows (the header included); more continue on a new
# sheet with its own header.
XLSX_MAX_ROWS: Final = 1_048_576
# xlsxwriter options: text is always text (never a formula, a number or a link), and each
# row goes to a temporary file as soon as the next one starts (constant memory).
XLSX_OPTIONS: Final = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
# The number formats openpyxl gives dates and times, so a reader sees the same values.
XLSX_FORMATS: Final = {
    datetime: "yyyy-mm-dd h:mm:ss",
    date: "yyyy-mm-dd",
    time: "h:mm:ss",
}


class _XlsxSheets:
    """The workbook's sheets as rows are added: a new sheet (with the header) whenever
    one is full."""

    def __init__(self, workbook: xlsxwriter.Workbook, title: str, names: Sequence[str]) -> None:
        self.workbook, self.title, self.names = workbook, title, list(names)
        self.formats = {
            kind: workbook.add_format({"num_format": f}) for kind, f in XLSX_FORMATS.items()
        }
        self.count = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.count += 1
        title = self.title if self.count == 1 else f"{self.title} ({self.count})"
        self.sheet = self.workbook.add_worksheet(title)
        for column, name in enumerate(self.names):
            self.sheet.write_string(0, column, name)
        self.row = 0

    def append(self, values: Iterable[Any]) -> None:
        if self.row + 1 >= XLSX_MAX_ROWS:
            self._new_sheet()
        self.row += 1
        row, sheet, formats = self.row, self.sheet, self.formats
        for column, value in enumerate(values):
            if value is None:
                continue
            if type(value) is str:  # the commonest, tested first
                sheet.write_string(row, column, value)
            elif isinstance(value, bool):
                sheet.write_boolean(row, column, value)
            elif isinstance(value, int | float | Decimal):
                sheet.write_number(row, column, float(value))
            elif isinstance(value, datetime):  # naive, local (see _xlsx_value)
                sheet.write_datetime(row, column, value, formats[datetime])
            elif isinstance(value, date):
                sheet.write_datetime(row, column, value, formats[date])
            else:  # a time
                sheet.write_datetime(row, column, value, formats[time])


class XlsxExport(ExportStream):
    """A workbook written by xlsxwriter in constant-memory mode: each row leaves memory
    for xlsxwriter's temporary file as soon as the next one starts; the finished workbook
    is assembled in a temporary file and streamed from there in chunks, so memory does not
    grow with the row count (the disk holds the sheet while it is written). The first
    byte leaves only once every row has been written: the XLSX container cannot be
    produced incrementally. Text is always written as text, never as a formula."""

    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"
    sheet_title = "Incidents"

    def _chunks(self) -> Iterator[bytes]:
        names = [f.name for f in self.fields]
        # xlsxwriter's temporary files live in a folder removed on the way out, also when
        # the source fails or the reader stops early.
        with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as spool:
            workbook = xlsxwriter.Workbook(spool, {**XLSX_OPTIONS, "tmpdir": folder})
            sheets = _XlsxSheets(workbook, self.sheet_title, names)
            for row in self.rows:
                sheets.append([_xlsx_value(row.get(name)) for name in names])
                self._count_row()
            workbook.close()
            spool.seek(0)
            while chunk := spool.read(CHUNK_SIZE):
                yield chunk


class GeoJsonExport(ExportStream):
    """An RFC 7946 FeatureCollection, one Point feature per row (``geometry`` null when
    the row has no coordinates). The coordinate fields go into the geometry; every other
    field is a property. No spreadsheet neutralisation: JSON is not evaluated."""

    content_type = "application/geo+json"
    extension = "geojson"

    def __init__(
        self,
        rows: Iterable[Row],
        fields: Sequence[FieldSpec],
        *,
        on_complete: Callable[[Self], None] | None = None,
        lat_field: str = "lat",
        lon_field: str = "lon",
        id_field: str = "id",
    ) -> None:
        super().__init__(rows, fields, on_complete=on_complete)
        self.lat_field, self.lon_field, self.id_field = lat_field, lon_field, id_field

    def _feature(self, row: Row, names: Sequence[str], encoder: json.JSONEncoder) -> str:
        lat, lon = row.get(self.lat_field), row.get(self.lon_field)
        geometry = (
            None
            if lat is None or lon is None
            else {"type": "Point", "coordinates": [float(lon), float(lat)]}
        )
        feature: dict[str, Any] = {"type": "Feature"}
        if row.get(self.id_field) is not None:
            feature["id"] = row[self.id_field]
        feature["geometry"] = geometry
        feature["properties"] = {name: row.get(name) for name in names}
        return encoder.encode(feature)

    def _chunks(self) -> Iterator[bytes]:
        encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
        names = [f.name for f in self.fields if f.name not in (self.lat_field, self.lon_field)]
        parts: list[str] = ['{"type":"FeatureCollection","features":[']
        size = 0
        separator = ""
        for row in self.rows:
            text = separator + self._feature(row, names, encoder)
            separator = ","
            parts.append(text)
            size += len(text)
            self._count_row()
            if size >= CHUNK_SIZE:
                yield "".join(parts).encode("utf-8")
                parts.clear()
                size = 0
        parts.append("]}")
        yield "".join(parts).encode("utf-8")


EXPORT_FORMATS: Final[dict[str, type[ExportStream]]] = {
    "csv": CsvExport,
    "xlsx": XlsxExport,
    "geojson": GeoJsonExport,
}


class SqlQueryExport(ExportStream):
    """An export whose rows come from one SQL query (masked and formatted by PostgreSQL):
    the query and its parameters, run on ``using`` when the stream is read."""

    def __init__(
        self,
        query: str,
        params: Sequence[Any],
        fields: Sequence[FieldSpec],
        *,
        using: str = DEFAULT_DB_ALIAS,
        on_complete: Callable[[Self], None] | None = None,
    ) -> None:
        super().__init__((), fields, on_complete=on_complete)
        self.query = query
        self.params = list(params)
        self.using = using
