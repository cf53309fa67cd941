"""Whole-file errors with stable codes and plain-English messages.

Codes are part of the public contract (reports, API, tests): never renumber them.
Messages never contain file contents.
"""

from __future__ import annotations

from enum import StrEnum


class FileErrorCode(StrEnum):
    # Intake (type, size, name)
    EXTENSION_NOT_ALLOWED = "F001_EXTENSION_NOT_ALLOWED"
    BAD_FILENAME = "F002_BAD_FILENAME"
    TOO_LARGE = "F003_TOO_LARGE"
    EMPTY = "F004_EMPTY_FILE"
    CONTENT_MISMATCH = "F005_CONTENT_MISMATCH"
    MACRO_ENABLED = "F006_MACRO_ENABLED"
    NOT_TEXT = "F007_NOT_TEXT"
    # Archives and spreadsheets
    ZIP_BOMB = "F010_ZIP_BOMB"
    ZIP_TOO_MANY_MEMBERS = "F011_ZIP_TOO_MANY_MEMBERS"
    ZIP_TOO_LARGE_UNCOMPRESSED = "F012_ZIP_TOO_LARGE_UNCOMPRESSED"
    ZIP_CORRUPT = "F013_ZIP_CORRUPT"
    SHEET_TOO_LARGE = "F014_SHEET_TOO_LARGE"
    SHEET_NOT_FOUND = "F015_SHEET_NOT_FOUND"
    # XML
    XML_FORBIDDEN = "F020_XML_FORBIDDEN_CONSTRUCT"
    XML_MALFORMED = "F021_XML_MALFORMED"
    XML_WRONG_ROOT = "F022_XML_WRONG_ROOT"
    XML_SCHEMA_INVALID = "F023_XML_SCHEMA_INVALID"
    # Structure and header
    NO_HEADER = "F030_NO_HEADER_ROW"
    SCHEMA_MISMATCH = "F031_SCHEMA_MISMATCH"
    SITE_MISMATCH = "F032_SITE_MISMATCH"
    PERIOD_MISMATCH = "F033_PERIOD_MISMATCH"
    NO_ROWS = "F034_NO_DATA_ROWS"
    PERSONAL_DATA = "F040_PERSONAL_DATA"


class PipelineFileError(Exception):
    """A whole file is refused. ``details`` are safe to show (no file contents)."""

    def __init__(self, code: FileErrorCode, message: str, *, details: list[str] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or []
