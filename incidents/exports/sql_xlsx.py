"""A record-level XLSX whose rows PostgreSQL writes as worksheet XML.

xlsxwriter's cell API costs some microseconds a cell (a type check, a cell object, XML
written per cell at the next row), a few thousand rows a second for twenty columns. Here
the masked SELECT (``incidents.masking_sql.masked_xlsx_query``) returns each row's
``<row>`` XML with the values ``XlsxExport`` would write; the rows are fetched in batches
(``sql_lines.fetch_batches``), given their row numbers and spooled, as bytes, to one
temporary file per worksheet.

xlsxwriter then writes the rest of the workbook (styles and their number formats, each
sheet with its header row, workbook, content types) as a small package, and the package
that leaves is that one with the spooled rows spliced into each sheet's ``<sheetData>``
and its ``<dimension>`` set to the rows it holds. It is zipped here (into a temporary
file, then sent): deflate at level 1, several times faster than xlsxwriter's level 6 over
the hundreds of megabytes of XML a million rows make, for a somewhat larger file. The
only xlsxwriter internal this relies on is a format's ``_get_xf_index`` (the style number
the rows' date cells name), hence the exact pin in requirements/base.txt;
tests/exports/test_sql_exports.py reads the result back against the reference writer.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import date, datetime
from typing import IO, Any, Final, Self

import xlsxwriter
from django.db import DEFAULT_DB_ALIAS

from incidents.exports.fields import FieldSpec
from incidents.exports.sql_lines import fetch_batches
from incidents.exports.streams import (
    CHUNK_SIZE,
    XLSX_FORMATS,
    XLSX_MAX_ROWS,
    XLSX_OPTIONS,
    ExportStream,
    XlsxExport,
)

# (date style, datetime style) -> (SELECT, parameters) of one row XML per record.
QueryFor = Callable[[int, int], tuple[str, list[Any]]]
_ROW_MARK: Final = b"\x01"
# Deflate level of the package: 1 compresses several times faster than the default 6.
COMPRESS_LEVEL: Final = 1
_SHEET = re.compile(r"xl/worksheets/sheet(\d+)\.xml")
# The header-only sheet's extent, "A1" or "A1:T1": its last column.
_DIMENSION = re.compile(rb'<dimension ref="A1(?::([A-Z]+)1)?"/>')


class SqlXlsxExport(ExportStream):
    """The workbook ``XlsxExport`` would write for the same rows (values, neutralisation,
    number formats, a new sheet with its header when one is full), in constant memory."""

    content_type = XlsxExport.content_type
    extension = XlsxExport.extension
    sheet_title = XlsxExport.sheet_title

    def __init__(
        self,
        query_for: QueryFor,
        fields: Sequence[FieldSpec],
        *,
        using: str = DEFAULT_DB_ALIAS,
        on_complete: Callable[[Self], None] | None = None,
    ) -> None:
        super().__init__((), fields, on_complete=on_complete)
        self.query_for = query_for
        self.using = using

    def _chunks(self) -> Iterator[bytes]:
        names = [f.name for f in self.fields]
        with tempfile.TemporaryDirectory() as folder, ExitStack() as files:
            frame = io.BytesIO()
            workbook = xlsxwriter.Workbook(frame, {**XLSX_OPTIONS, "tmpdir": folder})
            # The styles the rows' date cells name: xlsxwriter's index of each format.
            date_style, datetime_style = (
                workbook.add_format({"num_format": XLSX_FORMATS[kind]})._get_xf_index()
                for kind in (date, datetime)
            )
            query, params = self.query_for(date_style, datetime_style)
            # Per sheet, its spooled rows and how many rows it holds (header included).
            sheets: list[tuple[IO[bytes], int]] = []
            spool: IO[bytes] | None = None
            row = XLSX_MAX_ROWS
            parts: list[bytes] = []
            for records in fetch_batches(query, params, using=self.using):
                for record in records:
                    if row >= XLSX_MAX_ROWS:
                        if spool is not None:
                            spool.write(b"".join(parts))
                            parts.clear()
                            sheets.append((spool, row))
                        spool = files.enter_context(tempfile.TemporaryFile(dir=folder))
                        row = 1
                    row += 1  # Excel numbers rows from 1: this record's row number
                    parts.append(record.replace(_ROW_MARK, b"%d" % row))
                if spool is not None:
                    spool.write(b"".join(parts))
                    parts.clear()
                self._rows += len(records)
            if spool is not None:
                sheets.append((spool, row))
            for number in range(1, max(len(sheets), 1) + 1):
                sheet = workbook.add_worksheet(
                    self.sheet_title if number == 1 else f"{self.sheet_title} ({number})"
                )
                for column, name in enumerate(names):
                    sheet.write_string(0, column, name)
            workbook.close()
            yield from _package(frame.getvalue(), sheets)


def _package(frame: bytes, sheets: Sequence[tuple[IO[bytes], int]]) -> Iterator[bytes]:
    """The package ``frame`` (xlsxwriter's workbook, each sheet holding its header row)
    with each sheet's spooled rows spliced in, zipped into a temporary file and then sent.

    Zipped into a seekable file, as xlsxwriter does, rather than straight onto the wire:
    each member's sizes then go in its header, with no trailing data descriptor, and
    ZIP64 only for a sheet over 2 GiB, the layout every spreadsheet program reads."""
    with (
        tempfile.TemporaryFile() as spool,
        zipfile.ZipFile(io.BytesIO(frame)) as source,
    ):
        with zipfile.ZipFile(
            spool, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as package:
            for info in source.infolist():
                data = source.read(info)
                match = _SHEET.fullmatch(info.filename)
                number = int(match[1]) if match else 0
                if not 0 < number <= len(sheets):
                    # By name: the package's deflate level and a fixed date (1980-01-01).
                    with package.open(info.filename, "w") as member:
                        member.write(data)
                    continue
                rows_file, rows = sheets[number - 1]
                size = rows_file.seek(0, io.SEEK_END) + len(data)
                rows_file.seek(0)
                head, tail = data.split(b"</sheetData>", 1)
                with package.open(info.filename, "w", force_zip64=size > 2**31) as member:
                    member.write(_with_dimension(head, rows))
                    while block := rows_file.read(CHUNK_SIZE * 16):
                        member.write(block)
                    member.write(b"</sheetData>" + tail)
        spool.seek(0)
        while chunk := spool.read(CHUNK_SIZE):
            yield chunk


def _with_dimension(head: bytes, rows: int) -> bytes:
    """The sheet's XML before ``</sheetData>`` with its extent covering ``rows`` rows."""
    match = _DIMENSION.search(head)
    if match is None:
        raise ValueError("the worksheet has no header-only dimension to extend")
    last = match[1] or b"A"
    extent = b'<dimension ref="A1:%s%d"/>' % (last, rows)
    return head[: match.start()] + extent + head[match.end() :]
