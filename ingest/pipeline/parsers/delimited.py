"""CSV / TSV parser (text already decoded by intake: UTF-8, UTF-8 BOM, UTF-16, cp1252)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from ..limits import Limits
from ..types import Cell, FileFormat, ParsedFile
from .common import find_header_row, name_columns, rows_as_dicts

CANDIDATE_DELIMITERS = ("\t", ",", ";", "|")
csv.field_size_limit(1_000_000)  # one pathological cell must not abort the whole file


def detect_delimiter(text: str, sample_lines: int = 30) -> str:
    """The delimiter whose count per line is most consistent over the first lines.

    Counting (rather than csv.Sniffer alone) copes with title rows above the header
    and with commas inside free-text location descriptions.
    """
    lines = [ln for ln in text.splitlines()[: sample_lines * 2] if ln.strip()][:sample_lines]
    best, best_score = ",", -1.0
    for d in CANDIDATE_DELIMITERS:
        counts = [ln.count(d) for ln in lines]
        positive = [c for c in counts if c > 0]
        if not positive:
            continue
        mode, freq = Counter(positive).most_common(1)[0]
        score = freq + mode / 1000  # many consistent lines first, then more columns
        if score > best_score:
            best, best_score = d, score
    return best


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

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        for number, row in enumerate(head, start=1):
            if number > header_index + 1:
                yield number, list(row)
        for number, row in enumerate(reader, start=len(head) + 1):
            yield number, list(row)

    return ParsedFile(
        format=fmt,
        columns=columns,
        rows=rows_as_dicts(columns, numbered()),
        header_row=header_index + 1,
        encoding=encoding,
        delimiter=delimiter,
    )
