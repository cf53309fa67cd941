"""Parsers: every format yields ``(source_row_number, {column: raw value})`` rows.

Row numbers are what a person sees when opening the file: the spreadsheet row, the CSV
record number (title and header rows counted), or the record's position in an XML file.
"""

from __future__ import annotations

from ..delimiters import detect_delimiter
from ..intake import Upload
from ..limits import Limits
from ..types import FileFormat, ParsedFile
from .delimited import parse_delimited
from .ecds import ecds_mapping
from .xlsx import parse_xlsx
from .xml_istv import DEFAULT_LAYOUT, XmlLayout, parse_xml, xsd_text

__all__ = [
    "DEFAULT_LAYOUT",
    "XmlLayout",
    "detect_delimiter",
    "ecds_mapping",
    "parse_upload",
    "xsd_text",
]


def parse_upload(
    upload: Upload,
    *,
    limits: Limits,
    sheet: str | None = None,
    xml_layout: XmlLayout = DEFAULT_LAYOUT,
) -> ParsedFile:
    """Dispatch on the format intake decided from the content."""
    fmt = upload.info.format
    if fmt is FileFormat.XLSX:
        parsed = parse_xlsx(upload.data, sheet=sheet, limits=limits)
    elif fmt is FileFormat.XML:
        return parse_xml(upload.data, layout=xml_layout)
    else:
        assert upload.text is not None
        parsed = parse_delimited(upload.text, fmt=fmt, encoding=upload.info.encoding, limits=limits)
    if ecds_mapping(parsed.columns) is not None:
        parsed.format = FileFormat.ECDS
    return parsed
