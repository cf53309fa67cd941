"""CSV / TSV parser (text already decoded by intake: UTF-8, UTF-8 BOM, UTF-16, cp1252)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from ..delimiters import detect_delimiter
from ..limits import Limits
from ..types import FileFormat, ParsedFile
from .common import find_header_row, name_columns, text_rows_as_dicts

csv.field_size_limit(1_000_000)  # one pathological cell must not abort the whole file


def parse_delimited(
    text: str, *, fmt: FileFormat, encoding: str | None, limits: Limits
) -> ParsedFile:
    delimiter = "\t" if fmt is FileFormat.TSV else detect_delimiter(text)
    if fmt is FileFormat.CSV and delimiter == "\t":
        fmt = FileFormat.TSV
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    head: list[list[str]] = []
    for row in reader:
        head.append(row)
        if len(head) >= limits.header_scan_rows:
            break
    header_index = find_header_row(head)
    columns = name_columns(head[header_index])

    def numbered() -> Iterator[tuple[int, list[str]]]:
        for number, row in enumerate(head, start=1):
            if number > header_index + 1:
                yield number, row
        yield from enumerate(reader, start=len(head) + 1)

    return ParsedFile(
        format=fmt,
        columns=columns,
        rows=text_rows_as_dicts(columns, numbered()),
        header_row=header_index + 1,
        encoding=encoding,
        delimiter=delimiter,
    )
