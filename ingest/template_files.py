"""The ISTV template as files to download: a CSV and an Excel workbook.

Both are generated from ``ingest.pipeline.template.ISTV_TEMPLATE``, the list the pipeline
recognises, so a template filled in and uploaded needs no mapping. They hold the header
row only (and, in the workbook, a second sheet describing each column): no data at all.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from ingest.pipeline.template import ISTV_TEMPLATE, TEMPLATE_HEADER

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTES_SHEET = "About the columns"


def template_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(TEMPLATE_HEADER)
    return out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The header on the first sheet (the one the pipeline reads); the notes on another."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "ISTV"
    sheet.append(list(TEMPLATE_HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet(NOTES_SHEET)
    notes.append(["Column", "Required", "What to put in it"])
    for column in ISTV_TEMPLATE:
        notes.append(
            [column.header, "Required" if column.required else "Optional", column.description]
        )
    for cell in notes[1]:
        cell.font = Font(bold=True)
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["C"].width = 90
    workbook.properties.creator = "ISTV Portal"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
