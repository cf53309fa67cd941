"""XLSX parser on python-calamine (Rust; fast, and reads no DTDs).

Intake has already refused zip bombs, macro-enabled workbooks and any XML part with a
DTD or entity declaration, so calamine only ever sees plain spreadsheet XML.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from ..errors import FileErrorCode as E
from ..errors import PipelineFileError
from ..limits import Limits
from ..types import Cell, FileFormat, ParsedFile
from .common import find_header_row, name_columns, rows_as_dicts


def _load(data: bytes, sheet: str | None):  # type: ignore[no-untyped-def]
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    if sheet:
        if sheet not in wb.sheet_names:
            raise PipelineFileError(
                E.SHEET_NOT_FOUND,
                f"The workbook has no sheet called '{sheet[:60]}'. Sheets: "
                + ", ".join(n[:40] for n in wb.sheet_names[:20]),
            )
        return wb.get_sheet_by_name(sheet)
    for meta in wb.sheets_metadata:
        if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible:
            return wb.get_sheet_by_name(meta.name)
    raise PipelineFileError(E.SHEET_NOT_FOUND, "The workbook has no visible worksheet.")


def _open_sheet(data: bytes, sheet: str | None):  # type: ignore[no-untyped-def]
    try:
        return _load(data, sheet)
    except PipelineFileError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # calamine raises several types, and a Rust panic is a
        # BaseException (pyo3 PanicException): a damaged workbook must not kill the worker.
        raise PipelineFileError(E.ZIP_CORRUPT, "The workbook could not be read.") from exc


def parse_xlsx(data: bytes, *, sheet: str | None, limits: Limits) -> ParsedFile:
    ws = _open_sheet(data, sheet)
    height, width = ws.total_height, ws.total_width
    if height > limits.max_rows or width > limits.max_columns:
        raise PipelineFileError(
            E.SHEET_TOO_LARGE,
            f"The sheet has {height} rows and {width} columns; the limits are "
            f"{limits.max_rows} rows and {limits.max_columns} columns.",
        )
    # calamine yields rows from the sheet's first row but columns from its first used
    # column; merged ranges use absolute 0-based (row, col).
    col0 = ws.start[1] if ws.start else 0
    anchors: dict[tuple[int, int], tuple[int, int]] = {}
    for (r0, c0), (r1, c1) in ws.merged_cell_ranges or []:
        if (r1 - r0 + 1) * (c1 - c0 + 1) > 10_000:
            continue  # a whole-column merge is formatting, not data
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    anchors[(r, c)] = (r0, c0)
    rows_iter = ws.iter_rows()

    def with_merges(index: int, row: list[Cell], values: dict[tuple[int, int], Cell]) -> list[Cell]:
        if index not in merged_rows:  # no merged cell and no anchor in this row
            return row
        out = list(row)
        for j in range(len(out)):
            key = (index, j + col0)
            if key in anchors:
                out[j] = values.get(anchors[key], out[j])
            elif key in _anchor_set:
                values[key] = out[j]
        return out

    _anchor_set = set(anchors.values())
    merged_rows = {r for r, _ in anchors} | {r for r, _ in _anchor_set}
    anchor_values: dict[tuple[int, int], Cell] = {}
    head: list[list[Cell]] = []
    for i, row in enumerate(rows_iter):
        head.append(with_merges(i, row, anchor_values))
        if len(head) >= limits.header_scan_rows:
            break
    header_index = find_header_row(head)
    columns = name_columns(head[header_index])

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        for i, row in enumerate(head):
            if i > header_index:
                yield i + 1, row
        for i, row in enumerate(rows_iter, start=len(head)):
            yield i + 1, with_merges(i, row, anchor_values)

    return ParsedFile(
        format=FileFormat.XLSX,
        columns=columns,
        rows=rows_as_dicts(columns, numbered()),
        header_row=header_index + 1,
        sheet=ws.name,
    )
