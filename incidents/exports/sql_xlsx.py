"""A record-level XLSX whose rows PostgreSQL writes as worksheet XML, packaged by
xlsxwriter in constant-memory mode.

xlsxwriter's cell API costs some microseconds a cell (a type check, a cell object, XML
written per cell at the next row), a few thousand rows a second for twenty columns. Here
the masked SELECT (``incidents.masking_sql.masked_xlsx_query``) returns each row's
``<row>`` XML with the values ``XlsxExport`` would write; the rows are fetched in batches
(``sql_lines.fetch_batches``), given their row numbers and appended to the worksheet's
row file, the file xlsxwriter's constant-memory mode writes rows into; xlsxwriter writes
everything else (header row, styles and their number formats, workbook, zip) and
assembles the package. It relies on a few internals of xlsxwriter in that mode (the
worksheet's ``fh``, ``previous_row``, ``dim_rowmax`` and ``_write_single_row``, a format's
``_get_xf_index``), hence the exact pin in requirements/base.txt;
tests/exports/test_sql_exports.py reads the result back against the reference writer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Self

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
_ROW_MARK = b"\x01"


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
        with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as spool:
            workbook = xlsxwriter.Workbook(spool, {**XLSX_OPTIONS, "tmpdir": folder})
            # The styles the rows' date cells name: xlsxwriter's index of each format.
            date_style, datetime_style = (
                workbook.add_format({"num_format": XLSX_FORMATS[kind]})._get_xf_index()
                for kind in (date, datetime)
            )
            query, params = self.query_for(date_style, datetime_style)
            sheets = 0
            sheet: Any = None
            row = 0  # rows of the current sheet so far, its header included
            parts: list[bytes] = []
            for records in fetch_batches(query, params, using=self.using):
                for record in records:
                    if sheet is None or row >= XLSX_MAX_ROWS:
                        if sheet is not None:
                            _append(sheet, parts, row)
                        sheets += 1
                        sheet, row = _new_sheet(workbook, self.sheet_title, names, sheets), 1
                    row += 1  # Excel numbers rows from 1: this record's row number
                    parts.append(record.replace(_ROW_MARK, b"%d" % row))
                _append(sheet, parts, row)
                self._rows += len(records)
            if sheet is None:
                _new_sheet(workbook, self.sheet_title, names, 1)
            workbook.close()
            spool.seek(0)
            while chunk := spool.read(CHUNK_SIZE):
                yield chunk


def _new_sheet(workbook: Any, title: str, names: Sequence[str], number: int) -> Any:
    """A worksheet with its header row, already written out to its row file."""
    sheet = workbook.add_worksheet(title if number == 1 else f"{title} ({number})")
    for column, name in enumerate(names):
        sheet.write_string(0, column, name)
    sheet._write_single_row(1)  # the header leaves xlsxwriter's row buffer now
    return sheet


def _append(sheet: Any, parts: list[bytes], rows: int) -> None:
    """Append rows' XML to the sheet's row file; ``rows`` is how many it then holds (its
    last row, counted from 1), which the sheet's dimension must cover."""
    if parts:
        sheet.fh.write(b"".join(parts).decode("utf-8"))
        parts.clear()
    sheet.dim_rowmax = rows - 1
    sheet.previous_row = rows - 1
