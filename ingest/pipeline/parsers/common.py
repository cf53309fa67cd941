"""Helpers shared by the tabular parsers: header-row detection and column naming."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time

from ..errors import FileErrorCode as E
from ..errors import PipelineFileError
from ..types import Cell, RawRow

_WS = re.compile(r"\s+")
_NUMERIC = re.compile(r"[\d\s/:.\-]+")
# Words that make a row look like a header row of an ISTV extract.
_HEADER_HINTS = re.compile(
    r"date|time|arriv|attend|assault|incident|injury|method|weapon|mechanism|location|"
    r"place|where|site|type|description|other|intent|code",
    re.IGNORECASE,
)


def is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def clean_header(cell: Cell) -> str:
    return _WS.sub(" ", str(cell)).strip() if not is_blank(cell) else ""


def _filled(row: Sequence[Cell]) -> int:
    """How many cells are not blank (:func:`is_blank`, without a call per cell)."""
    n = 0
    for c in row:
        if c is not None and (not isinstance(c, str) or (c and not c.isspace())):
            n += 1
    return n


def _labels(row: Sequence[Cell]) -> list[str] | None:
    """The row's text labels (stripped, lower case), or None when a cell holds a number
    or a date: numbers and dates are data, not column names."""
    labels: list[str] = []
    for c in row:
        if c is None:
            continue
        if not isinstance(c, str):
            return None
        s = c.strip()
        if not s:
            continue
        if _NUMERIC.fullmatch(s):
            return None
        labels.append(s.lower())
    return labels


def find_header_row(rows: Sequence[Sequence[Cell]]) -> int:
    """Index of the header row among the first rows of a table.

    Title rows ("St Thomas' ED - ISTV return", "Period: May 2025") have one or two
    filled cells; the header is the first row with at least two distinct text labels that
    is as wide as the data below it, preferring rows with ISTV-ish words.
    """
    widths = [_filled(r) for r in rows]
    if not rows or max(widths, default=0) == 0:
        raise PipelineFileError(E.NO_HEADER, "The file has no rows.")
    best, best_score = -1, 0.0
    data_width = max(widths)
    for i, row in enumerate(rows):
        labels = _labels(row)
        if labels is None:
            continue  # a row holding numbers or dates is data
        if len(labels) < 2 or len(set(labels)) < len(labels) * 0.6:
            continue
        below = widths[i + 1 : i + 6]
        if below and max(below) == 0:
            below = []
        score = len(labels) / data_width + sum(bool(_HEADER_HINTS.search(x)) for x in labels) / len(
            labels
        )
        if below and len(labels) < 0.5 * max(below):
            continue
        if score > best_score + 0.25:  # earlier rows win ties
            best, best_score = i, score
    if best < 0:
        raise PipelineFileError(
            E.NO_HEADER,
            "No header row was found: the first rows must include a row of column names.",
        )
    return best


def name_columns(header: Sequence[Cell]) -> list[str]:
    """Clean column names; blanks become ``column_N`` and duplicates get ``(2)``."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(header, start=1):
        name = clean_header(cell) or f"column_{i}"
        key = name.lower()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        names.append(name)
    return names


def rows_as_dicts(
    columns: list[str], rows: Iterable[tuple[int, Sequence[Cell]]]
) -> Iterator[RawRow]:
    """Turn positional rows into (row number, {column: value}); skip blank rows."""
    width = len(columns)
    for number, row in rows:
        if len(row) == width:
            # Fast path (the common case): blanks become None in one comprehension.
            # ``not v or v.isspace()`` is ``not v.strip()`` without building a new string.
            values = {
                c: (None if v is None or (v.__class__ is str and (not v or v.isspace())) else v)
                for c, v in zip(columns, row, strict=True)
            }
            if any(v is not None for v in values.values()):
                yield number, values
            continue
        if all(is_blank(c) for c in row):
            continue
        values = {}
        for i, cell in enumerate(row):
            v: Cell = None if is_blank(cell) else cell
            if i < width:
                values[columns[i]] = v
            elif v is not None:
                values[f"column_{i + 1}"] = v
        for name in columns[len(row) :]:
            values[name] = None
        yield number, values


def text_rows_as_dicts(
    columns: list[str], rows: Iterable[tuple[int, list[str]]]
) -> Iterator[RawRow]:
    """:func:`rows_as_dicts` for rows of text cells only (CSV, TSV): a full-width row with
    no blank cell (most rows) is zipped into its dict as it is."""
    width = len(columns)
    for number, row in rows:
        if len(row) != width:
            yield from rows_as_dicts(columns, ((number, row),))
        elif all(row) and not any(map(str.isspace, row)):
            yield number, dict(zip(columns, row, strict=True))
        else:
            values: dict[str, Cell] = {
                c: (None if not v or v.isspace() else v) for c, v in zip(columns, row, strict=True)
            }
            if any(values.values()):  # text cells: every value left is a non-blank string
                yield number, values


def cell_text(cell: Cell) -> str:
    """A cell as text for free-text and code fields (numbers without a trailing .0)."""
    if cell.__class__ is str:
        return cell
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    return str(cell)
