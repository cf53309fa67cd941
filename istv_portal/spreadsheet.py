"""Spreadsheet safety shared by every CSV/XLSX the portal produces.

Formula injection: cells starting =, +, -, @ (or a control character) are neutralised.
"""

from __future__ import annotations

from typing import Final

# A cell starting with one of these is run as a formula or control input by spreadsheets.
FORMULA_PREFIXES: Final = frozenset("=+-@\t\r\n\0")


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would treat as a formula or control input."""
    if text and text[0] in FORMULA_PREFIXES:
        return "'" + text
    return text


def neutralise_cell(value: object) -> str:
    """Any value as CSV text, neutralised; ``None`` becomes an empty cell."""
    return neutralise("" if value is None else str(value))


class EchoBuffer:
    """A write-only file for ``csv.writer`` that hands each line back instead of storing it,
    so rows can be streamed one at a time."""

    def write(self, value: str) -> str:
        return value
