"""Typed values passed between the pipeline stages.

The pipeline is pure Python: nothing here touches the database. Callers (the Celery task,
``manage.py ingest``, the upload view in check-only mode) pass plain values in and get
these dataclasses out, then store what they need.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Literal, NotRequired, TypedDict

# A cell as a parser yields it: text from CSV/XML, typed values from XLSX.
Cell = str | int | float | bool | datetime | date | time | None
# One source row: (1-based row number in the file as a person would count it, values).
RawRow = tuple[int, dict[str, Cell]]


class FileFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    XLSX = "xlsx"
    XML = "xml"
    ECDS = "ecds"


class Field(StrEnum):
    """Standard ISTV fields a source column can be mapped to."""

    ARRIVAL_AT = "arrival_at"
    ARRIVAL_DATE = "arrival_date"
    ARRIVAL_TIME = "arrival_time"
    ASSAULT_AT = "assault_at"
    ASSAULT_DATE = "assault_date"
    ASSAULT_TIME = "assault_time"
    METHOD = "method"
    METHOD_OTHER = "method_other"
    LOCATION_TYPE = "location_type"
    LOCATION_DESCRIPTION = "location_description"
    # ECDS-shaped extracts only: rows whose intent is not assault are set aside.
    INJURY_INTENT = "injury_intent"


FREE_TEXT_FIELDS: frozenset[Field] = frozenset({Field.METHOD_OTHER, Field.LOCATION_DESCRIPTION})


class Severity(StrEnum):
    ERROR = "error"  # the row (or file) cannot be accepted
    WARNING = "warning"  # accepted, but worth telling the submitter


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a file or row. ``value`` is None for free text (never shown)."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    row: int | None = None
    column: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What intake learned about an upload (no contents)."""

    format: FileFormat
    size: int
    sha256: str
    original_name: str  # sanitised, metadata only: never used as a path
    encoding: str | None = None


@dataclass(slots=True)
class FileHeader:
    """Submission-level values carried in the file itself (ISTV XML header)."""

    site_code: str | None = None
    period_start: date | None = None
    period_end: date | None = None


@dataclass(slots=True)
class ParsedFile:
    """A parsed upload: column names in order and a stream of raw rows."""

    format: FileFormat
    columns: list[str]
    rows: Iterator[RawRow]
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header: FileHeader = field(default_factory=FileHeader)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Source column for each standard field, plus per-field source value → code overrides.

    This is what a hospital's mapping profile stores. ``values`` keys are compared after
    the same light normalisation as trust labels (lower case, single spaces).
    """

    columns: Mapping[Field, str]
    values: Mapping[Field, Mapping[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "columns": {f.value: c for f, c in self.columns.items()},
            "values": {f.value: dict(v) for f, v in self.values.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ColumnMapping:
        cols = data.get("columns") or {}
        vals = data.get("values") or {}
        assert isinstance(cols, Mapping) and isinstance(vals, Mapping)
        return cls(
            columns={Field(k): str(v) for k, v in cols.items()},
            values={Field(k): {str(a): str(b) for a, b in v.items()} for k, v in vals.items()},
        )


@dataclass(frozen=True, slots=True)
class MappingVersion:
    """One confirmed version of a hospital's mapping, and the columns it was made from."""

    version: int
    mapping: ColumnMapping
    source_columns: tuple[str, ...] = ()

    def matches(self, columns: Sequence[str]) -> bool:
        """The file has exactly this version's columns (in any order)."""
        return bool(self.source_columns) and set(self.source_columns) == set(columns)


@dataclass(frozen=True, slots=True)
class MappingProposal:
    mapping: ColumnMapping
    confidence: Mapping[Field, float]
    unmapped_columns: tuple[str, ...]
    missing_fields: tuple[Field, ...]
    # A changed layout: the version the proposal starts from, and (old column, new
    # column) for each field whose column was renamed.
    based_on: int | None = None
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing_fields


@dataclass(frozen=True, slots=True)
class DriftReport:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]
    reordered: bool
    kept: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return bool(self.added or self.removed or self.renamed)

    def to_json(self) -> dict[str, object]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "renamed": [list(p) for p in self.renamed],
            "reordered": self.reordered,
            "kept": list(self.kept),
        }


PiiKind = Literal[
    "nhs_number",
    "hospital_number",
    "ni_number",
    "identifier",  # any other run of 7 or more digits in free text
    "person_name",
    "date_of_birth",
    "phone",
    "email",
    "address",
]


@dataclass(slots=True)
class PiiFinding:
    """Where personal data was found. Never holds the value itself."""

    kind: PiiKind
    column: str
    rows: list[int] = field(default_factory=list)  # first few row numbers, for the report
    count: int = 0
    reason: str = ""  # "column header" or "cell content"


@dataclass(slots=True)
class HarmonisedRow:
    """One accepted row, ready for the Incident model (geocoding comes later)."""

    source_row: int
    arrival_at: datetime | None
    arrival_time_known: bool
    assault_at: datetime
    assault_time_known: bool
    method_code: str
    method_raw: str
    method_other: str
    location_type_code: str
    location_type_raw: str
    location_description: str
    assault_month: date  # first day of the month
    assault_weekday: int  # Monday = 0
    assault_hour: int | None  # None when the time is not known
    rules: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    redactions: int = 0


@dataclass(slots=True)
class SetAsideRow:
    """A row that was not accepted, with every reason (values never included here)."""

    source_row: int
    issues: list[Issue]


MappingStatus = Literal["confirmed", "proposed_accepted", "mapping_needed", "schema_mismatch"]
ResultStatus = Literal["ok", "rejected", "quarantined", "mapping_needed"]


class IssueJSON(TypedDict):
    """One issue as a stored report lists it (``issue_json``)."""

    code: str
    message: str
    severity: str  # a Severity value
    row: int | None
    column: str | None
    value: str | None  # None for free text, which is never shown


class PiiFindingJSON(TypedDict):
    kind: PiiKind
    column: str
    rows: list[int]
    count: int
    reason: str


class MappingProposalJSON(TypedDict):
    mapping: dict[str, object]  # ColumnMapping.to_json()
    confidence: dict[str, float]  # field -> confidence
    missing_fields: list[str]
    unmapped_columns: list[str]
    based_on: NotRequired[int | None]  # a changed layout: the version it starts from
    renamed: NotRequired[list[list[str]]]  # [old column, new column]


class ReportJSON(TypedDict):
    """``Report.to_json()``: the validation report stored on a submission."""

    rows_read: int
    accepted: int
    set_aside: int
    warnings: int
    errors_by_code: dict[str, int]
    warnings_by_code: dict[str, int]
    pii_findings_by_kind: dict[str, int]
    redactions_by_kind: dict[str, int]
    # Kind -> the first rows whose free text had that kind redacted (never the values).
    redacted_rows: NotRequired[dict[str, list[int]]]
    file_errors: list[IssueJSON]
    issues: list[IssueJSON]
    issues_truncated: bool
    pii_findings: list[PiiFindingJSON]
    mapping_status: MappingStatus
    mapping: dict[str, object] | None  # ColumnMapping.to_json()
    proposal: MappingProposalJSON | None
    drift: dict[str, object] | None  # DriftReport.to_json()
    columns: list[str]
    unmapped_values: dict[str, list[str]]
    # The confirmed mapping version used (or, for a changed layout, the one that no
    # longer fits), and what each column's sample values look like (never the values).
    mapping_version: NotRequired[int | None]
    column_kinds: NotRequired[dict[str, str]]
    # Added by the submission service once the accepted rows are geocoded.
    geocoded_by_precision: NotRequired[dict[str, int]]


@dataclass(slots=True)
class Report:
    rows_read: int = 0
    accepted: int = 0
    set_aside: int = 0
    warnings: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    warnings_by_code: dict[str, int] = field(default_factory=dict)
    pii_findings_by_kind: dict[str, int] = field(default_factory=dict)
    redactions_by_kind: dict[str, int] = field(default_factory=dict)
    redacted_rows: dict[str, list[int]] = field(default_factory=dict)  # first rows per kind
    file_errors: list[Issue] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # capped list for the report page
    issues_truncated: bool = False
    pii_findings: list[PiiFinding] = field(default_factory=list)
    mapping_status: MappingStatus = "confirmed"
    mapping: ColumnMapping | None = None
    proposal: MappingProposal | None = None
    drift: DriftReport | None = None
    columns: list[str] = field(default_factory=list)
    # Coded field -> distinct source values no rule could map (safe values only, capped),
    # offered on the mapping page so a person can choose a category for each.
    unmapped_values: dict[str, list[str]] = field(default_factory=dict)
    mapping_version: int | None = None
    column_kinds: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> ReportJSON:
        """JSON-safe summary (no cell values other than those marked safe)."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "set_aside": self.set_aside,
            "warnings": self.warnings,
            "errors_by_code": dict(sorted(self.errors_by_code.items())),
            "warnings_by_code": dict(sorted(self.warnings_by_code.items())),
            "pii_findings_by_kind": dict(sorted(self.pii_findings_by_kind.items())),
            "redactions_by_kind": dict(sorted(self.redactions_by_kind.items())),
            "redacted_rows": dict(sorted(self.redacted_rows.items())),
            "file_errors": [issue_json(i) for i in self.file_errors],
            "issues": [issue_json(i) for i in self.issues],
            "issues_truncated": self.issues_truncated,
            "pii_findings": [
                {
                    "kind": f.kind,
                    "column": f.column,
                    "rows": f.rows,
                    "count": f.count,
                    "reason": f.reason,
                }
                for f in self.pii_findings
            ],
            "mapping_status": self.mapping_status,
            "mapping": self.mapping.to_json() if self.mapping else None,
            "proposal": (
                {
                    "mapping": self.proposal.mapping.to_json(),
                    "confidence": {f.value: c for f, c in self.proposal.confidence.items()},
                    "missing_fields": [f.value for f in self.proposal.missing_fields],
                    "unmapped_columns": list(self.proposal.unmapped_columns),
                    "based_on": self.proposal.based_on,
                    "renamed": [list(p) for p in self.proposal.renamed],
                }
                if self.proposal
                else None
            ),
            "drift": self.drift.to_json() if self.drift else None,
            "columns": self.columns,
            "unmapped_values": {f: list(v) for f, v in sorted(self.unmapped_values.items())},
            "mapping_version": self.mapping_version,
            "column_kinds": dict(self.column_kinds),
        }


def issue_json(i: Issue) -> IssueJSON:
    return {
        "code": i.code,
        "message": i.message,
        "severity": i.severity.value,
        "row": i.row,
        "column": i.column,
        "value": i.value,
    }


@dataclass(slots=True)
class ProcessResult:
    status: ResultStatus
    intake: IntakeResult | None
    report: Report
    rows: list[HarmonisedRow] = field(default_factory=list)
    set_aside: list[SetAsideRow] = field(default_factory=list)
    header: FileHeader = field(default_factory=FileHeader)
