"""The single entry point: ``process_file`` runs intake → parse → mapping → guard →
validation → harmonisation over one upload and returns a :class:`ProcessResult`.

It stores nothing. The caller decides what to keep:

* ``status == "quarantined"``: personal data found; no rows are returned at all;
* ``status == "rejected"``: whole-file error (see ``report.file_errors``), or set-aside
  rows when ``reject_on_invalid_rows`` is on; no rows returned;
* ``status == "mapping_needed"``: unseen layout, or a layout that no longer fits the
  hospital's confirmed mapping (``mapping_status == "schema_mismatch"``, with an
  ``F031_SCHEMA_MISMATCH`` note saying what to do); ``report.proposal`` holds the
  proposal (for a changed layout, built from the previous mapping);
* ``status == "ok"``: ``rows`` are the accepted rows, ``set_aside`` the rest.

Because the guard must see every row before anything is stored, rows are buffered in
the result. For very large files a loader can call with ``keep_rows=False`` first (check
only) and then stream :func:`iter_outcomes` a second time into ``COPY``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from istv_portal.periods import Period

from .errors import FileErrorCode as E
from .errors import PipelineFileError
from .harmonise import CodeReference, ValueResolver
from .intake import accept_upload
from .limits import Limits
from .mapping import (
    absent_optional,
    describe_columns,
    detect_drift,
    missing_columns,
    propose_mapping,
    propose_remapping,
)
from .parsers import DEFAULT_LAYOUT, XmlLayout, ecds_mapping, parse_upload
from .parsers.common import cell_text
from .pii import MAX_ROWS_PER_FINDING, PiiScanner
from .template import template_mapping
from .types import (
    FREE_TEXT_FIELDS,
    ColumnMapping,
    Field,
    FileFormat,
    Issue,
    MappingProposal,
    MappingStatus,
    MappingVersion,
    ParsedFile,
    ProcessResult,
    RawRow,
    Report,
    SetAsideRow,
    Severity,
)
from .validation import RowCode, RowOutcome, RowValidator, safe_value

MAX_UNMAPPED_VALUES = 50  # per coded field, in the report
GUARD_BATCH_ROWS = 512  # rows per personal-data prefilter pass
FIELD_NAMES: dict[Field, str] = {
    Field.ASSAULT_AT: "the assault date",
    Field.ASSAULT_DATE: "the assault date",
    Field.METHOD: "the assault method",
    Field.LOCATION_TYPE: "the location type",
}
# The optional items, as the warning for a missing column names them.
OPTIONAL_NAMES: dict[Field, str] = {
    Field.ARRIVAL_AT: "the arrival date and time",
    Field.ARRIVAL_DATE: "the arrival date",
    Field.ARRIVAL_TIME: "the arrival time",
    Field.ASSAULT_TIME: "the assault time",
    Field.METHOD_OTHER: "the description of an 'other' method",
    Field.LOCATION_DESCRIPTION: "the location description",
}
_UNMAPPED_CODES = {
    RowCode.UNKNOWN_METHOD: Field.METHOD.value,
    RowCode.UNKNOWN_LOCATION_TYPE: Field.LOCATION_TYPE.value,
}


@dataclass(frozen=True, slots=True)
class Options:
    accept_proposed_mapping: bool = False
    reject_on_invalid_rows: bool = False  # "reject all" instead of "accept valid, set aside"
    keep_rows: bool = True
    sheet: str | None = None
    xml_layout: XmlLayout = DEFAULT_LAYOUT
    previous_columns: Sequence[str] | None = None  # last file's columns, for drift
    # The hospital's confirmed mapping versions, newest (current) first. With no
    # ``mapping`` given, a version whose columns are exactly the file's is used, else the
    # current one; a file that no longer fits gets a proposal built from it.
    mapping_versions: Sequence[MappingVersion] = ()
    site_aliases: frozenset[str] = frozenset()  # older codes of the same site
    sample_rows: int = 50
    limits: Limits | None = None
    # Editable reference data (the portal's synonym and code tables); None = built-in lists.
    method_reference: CodeReference | None = None
    location_reference: CodeReference | None = None


def _file_error(report: Report, exc: PipelineFileError) -> Issue:
    issue = Issue(exc.code, exc.message + (" " + "; ".join(exc.details) if exc.details else ""))
    report.file_errors.append(issue)
    report.errors_by_code[exc.code] = report.errors_by_code.get(exc.code, 0) + 1
    return issue


def _note_unmapped(report: Report, field: str, value: str | None) -> None:
    if value is None:
        return
    seen = report.unmapped_values.setdefault(field, [])
    if len(seen) < MAX_UNMAPPED_VALUES and value not in seen:
        seen.append(value)


def iter_outcomes(
    parsed: ParsedFile, validator: RowValidator, scanner: PiiScanner, report: Report
) -> Iterator[RowOutcome]:
    """Guard + validate + harmonise a row stream, updating ``report`` as it goes."""
    cap = validator.limits.max_report_issues
    errors, warnings = report.errors_by_code, report.warnings_by_code
    check = validator.check
    for batch in _batches(parsed.rows):
        scanner.scan_rows(batch)
        for number, values in batch:
            report.rows_read += 1
            outcome = check(number, values)
            if outcome.row is not None:
                report.accepted += 1
            else:
                report.set_aside += 1
            for issue in outcome.issues:
                bucket = errors if issue.severity is Severity.ERROR else warnings
                bucket[issue.code] = bucket.get(issue.code, 0) + 1
                if issue.code in _UNMAPPED_CODES:
                    _note_unmapped(report, _UNMAPPED_CODES[RowCode(issue.code)], issue.value)
                if issue.severity is Severity.WARNING:
                    report.warnings += 1
                if len(report.issues) < cap:
                    report.issues.append(issue)
                else:
                    report.issues_truncated = True
            for kind in outcome.redacted_kinds:
                report.redactions_by_kind[kind] = report.redactions_by_kind.get(kind, 0) + 1
                rows = report.redacted_rows.setdefault(kind, [])
                if len(rows) < MAX_ROWS_PER_FINDING and (not rows or rows[-1] != number):
                    rows.append(number)
            yield outcome


def _batches(rows: Iterator[RawRow]) -> Iterator[list[RawRow]]:
    """The row stream in batches of ``GUARD_BATCH_ROWS`` (the guard's prefilter runs
    once per batch; memory stays bounded for any file)."""
    rows = iter(rows)
    while batch := list(itertools.islice(rows, GUARD_BATCH_ROWS)):
        yield batch


def process_file(
    source: Path | str | bytes,
    *,
    filename: str,
    site_code: str,
    period: Period | tuple[int, int],
    mapping: ColumnMapping | None = None,
    options: Options | None = None,
) -> ProcessResult:
    """Check, guard, validate and harmonise one submission file. Stores nothing."""
    options = options or Options()
    limits = options.limits or Limits.from_settings()
    period = period if isinstance(period, Period) else Period(*period)
    report = Report()
    result = ProcessResult(status="rejected", intake=None, report=report)
    try:
        upload = accept_upload(source, filename=filename, limits=limits)
        result.intake = upload.info
        parsed = parse_upload(
            upload, limits=limits, sheet=options.sheet, xml_layout=options.xml_layout
        )
    except PipelineFileError as exc:
        _file_error(report, exc)
        return result
    report.columns = list(parsed.columns)
    result.header = parsed.header
    try:
        _check_header(parsed, site_code, period, options)
    except PipelineFileError as exc:
        _file_error(report, exc)
        _guard_only(parsed, result, frozenset())
        return result
    # Mapping: a confirmed version with exactly the file's columns → that version; else
    # the current one (given, or the newest version) → check it fits, or propose a new
    # one from it; XML / ECDS → implied; else propose.
    previous_columns = options.previous_columns
    if mapping is None and options.mapping_versions:
        version = _version_for(parsed.columns, options.mapping_versions)
        if version is None:
            mapping = template_mapping(parsed.columns)
        else:
            mapping = version.mapping
            report.mapping_version = version.version
            if version.source_columns:
                previous_columns = version.source_columns
    if previous_columns is not None:
        report.drift = detect_drift(previous_columns, parsed.columns)

    status: MappingStatus = "confirmed"
    if mapping is None and parsed.format is FileFormat.XML:
        mapping = options.xml_layout.mapping()
    elif mapping is None and parsed.format is FileFormat.ECDS:
        mapping = ecds_mapping(parsed.columns)
    elif mapping is None:
        mapping = template_mapping(parsed.columns)  # the ISTV template needs no mapping
    if mapping is not None:
        mapping = _without_absent_optional(mapping, parsed.columns, previous_columns, report)
    head = list(itertools.islice(parsed.rows, options.sample_rows))
    parsed.rows = itertools.chain(head, parsed.rows)
    if mapping is None:
        proposal = propose_mapping(parsed.columns, head)
        report.proposal = proposal
        report.column_kinds = describe_columns(parsed.columns, head)
        if options.accept_proposed_mapping and proposal.complete:
            mapping, status = proposal.mapping, "proposed_accepted"
        else:
            status = "mapping_needed"
    elif missing := missing_columns(mapping, parsed.columns):
        # The layout changed: propose a new mapping from the one that no longer fits.
        report.mapping_status = "schema_mismatch"
        report.mapping = mapping
        report.drift = report.drift or detect_drift(list(mapping.columns.values()), parsed.columns)
        proposal = _changed_layout_proposal(parsed, head, mapping, previous_columns, options)
        proposal = replace(proposal, based_on=report.mapping_version)
        report.proposal = proposal
        report.column_kinds = describe_columns(parsed.columns, head)
        if not (options.accept_proposed_mapping and proposal.complete):
            _file_error(report, _layout_changed(missing, proposal, report.mapping_version, options))
            result.status = "mapping_needed"
            _guard_only(parsed, result, frozenset(), _coded_columns(proposal.mapping, options))
            return result
        mapping, status = proposal.mapping, "proposed_accepted"
    report.mapping_status = status
    report.mapping = mapping

    free_cols = frozenset(
        c for f, c in (mapping.columns.items() if mapping else ()) if f in FREE_TEXT_FIELDS
    )
    if mapping is None:
        result.status = "mapping_needed"
        coded = _coded_columns(report.proposal.mapping if report.proposal else None, options)
        _guard_only(parsed, result, free_cols, coded)
        return result

    scanner = PiiScanner(parsed.columns, free_cols, text_only=parsed.format is not FileFormat.XLSX)

    validator = RowValidator(
        mapping=mapping,
        period=period,
        limits=limits,
        method_reference=options.method_reference,
        location_reference=options.location_reference,
    )
    for outcome in iter_outcomes(parsed, validator, scanner, report):
        if options.keep_rows:
            if outcome.row is not None:
                result.rows.append(outcome.row)
            else:
                result.set_aside.append(SetAsideRow(outcome.source_row, outcome.issues))
    result.status = "ok"
    if report.rows_read == 0:
        _file_error(report, PipelineFileError(E.NO_ROWS, "The file has a header but no data rows."))
        result.status = "rejected"
    elif options.reject_on_invalid_rows and report.set_aside:
        result.status = "rejected"
    _finish_guard(result, scanner)
    if result.status != "ok":
        result.rows.clear()
    return result


def _version_for(
    columns: Sequence[str], versions: Sequence[MappingVersion]
) -> MappingVersion | None:
    """The version whose columns are exactly the file's, else the current one; None for
    a file laid out as the ISTV template that the current version does not fit (the
    template's own mapping is used then, rather than asking for a new one)."""
    exact = next((v for v in versions if v.matches(columns)), None)
    if exact is not None:
        return exact
    current = versions[0]
    fits = not missing_columns(current.mapping, columns) or absent_optional(
        current.mapping, columns, current.source_columns or None
    )
    if not fits and template_mapping(columns) is not None:
        return None
    return current


def _without_absent_optional(
    mapping: ColumnMapping,
    columns: Sequence[str],
    previous_columns: Sequence[str] | None,
    report: Report,
) -> ColumnMapping:
    """The mapping without the optional items whose column the file lacks, each with a
    warning in the report: the file is read, and that item is not supplied for any row.
    A missing required column (or one that seems renamed) is left for the layout check."""
    absent = absent_optional(mapping, columns, previous_columns)
    if not absent:
        return mapping
    for f, column in absent.items():
        issue = Issue(
            RowCode.OPTIONAL_COLUMN_MISSING,
            f"The column '{column[:60]}' is missing from the file, so "
            f"{OPTIONAL_NAMES.get(f, f.value)} is recorded as not supplied for every row.",
            Severity.WARNING,
            column=column,
        )
        report.issues.append(issue)
        report.warnings += 1
        report.warnings_by_code[issue.code] = report.warnings_by_code.get(issue.code, 0) + 1
    return ColumnMapping(
        columns={f: c for f, c in mapping.columns.items() if f not in absent},
        values={f: v for f, v in mapping.values.items() if f not in absent},
    )


def _changed_layout_proposal(
    parsed: ParsedFile,
    head: list[RawRow],
    previous: ColumnMapping,
    previous_columns: Sequence[str] | None,
    options: Options,
) -> MappingProposal:
    """XML and ECDS files imply their mapping; any other layout is matched column by
    column against the previous mapping."""
    implied = (
        options.xml_layout.mapping()
        if parsed.format is FileFormat.XML
        else ecds_mapping(parsed.columns)
        if parsed.format is FileFormat.ECDS
        else None
    )
    if implied is not None:
        used = set(implied.columns.values())
        return MappingProposal(
            mapping=implied,
            confidence=dict.fromkeys(implied.columns, 0.95),
            unmapped_columns=tuple(c for c in parsed.columns if c not in used),
            missing_fields=(),
        )
    return propose_remapping(
        previous,
        previous_columns or (),
        parsed.columns,
        head,
        earlier=[v.mapping for v in options.mapping_versions if v.mapping is not previous],
    )


def _layout_changed(
    missing: list[str], proposal: MappingProposal, version: int | None, options: Options
) -> PipelineFileError:
    """F031: the columns differ from the confirmed mapping; what to do next."""
    which = f" (version {version})" if version is not None else ""
    message = (
        f"The file's columns differ from this hospital's confirmed mapping{which}; missing: "
        + ", ".join(f"'{m[:60]}'" for m in missing[:20])
        + ". No rows were loaded."
    )
    if proposal.complete:
        return PipelineFileError(
            E.SCHEMA_MISMATCH,
            message + " A new mapping is proposed: check and confirm it, and the same file "
            "continues without uploading it again.",
        )
    fields = ", ".join(FIELD_NAMES.get(f, f.value) for f in proposal.missing_fields)
    not_accepted = (
        " The proposed mapping is incomplete, so it was not accepted automatically."
        if options.accept_proposed_mapping
        else ""
    )
    return PipelineFileError(
        E.SCHEMA_MISMATCH,
        f"{message}{not_accepted} No column could be found for: {fields}. Choose the "
        "columns on the mapping page, and the same file continues without uploading it again.",
    )


def _coded_columns(
    mapping: ColumnMapping | None, options: Options
) -> list[tuple[str, str, ValueResolver]]:
    """(field, proposed column, resolver) for the coded fields of a proposed mapping (with
    the value mappings it carries over from a previous version)."""
    if mapping is None:
        return []
    refs = {Field.METHOD: options.method_reference, Field.LOCATION_TYPE: options.location_reference}
    return [
        (f.value, col, ValueResolver(f.value, profile=mapping.values.get(f), reference=refs[f]))
        for f in (Field.METHOD, Field.LOCATION_TYPE)
        if (col := mapping.columns.get(f))
    ]


def _guard_only(
    parsed: ParsedFile,
    result: ProcessResult,
    free_cols: frozenset[str],
    coded: list[tuple[str, str, ValueResolver]] | None = None,
) -> None:
    """Run the guard over a file that will not be validated (unmapped or refused), so a
    file holding personal data is quarantined whatever else is wrong with it.

    For an unmapped file, ``coded`` also collects the values of the proposed method and
    location-type columns that no rule maps, for the mapping page."""
    scanner = PiiScanner(parsed.columns, free_cols, text_only=parsed.format is not FileFormat.XLSX)
    report = result.report
    for batch in _batches(parsed.rows):
        scanner.scan_rows(batch)
        report.rows_read += len(batch)
        for _, values in batch:
            for field, col, resolve in coded or ():
                raw = cell_text(values.get(col)).strip()
                if raw and resolve(raw).code is None:
                    _note_unmapped(report, field, safe_value(raw))
    _finish_guard(result, scanner)


def _finish_guard(result: ProcessResult, scanner: PiiScanner) -> None:
    if scanner.blocked:
        report = result.report
        report.pii_findings = scanner.results()
        report.pii_findings_by_kind = scanner.counts_by_kind()
        report.unmapped_values.clear()  # nothing from a quarantined file is shown
        _file_error(
            report,
            PipelineFileError(
                E.PERSONAL_DATA,
                "The file contains personal data ("
                + ", ".join(sorted(report.pii_findings_by_kind))
                + "). Nothing was stored; remove those columns or values and upload again.",
            ),
        )
        result.status = "quarantined"
        result.rows.clear()
        result.set_aside.clear()


def _check_header(parsed: ParsedFile, site_code: str, period: Period, options: Options) -> None:
    hdr = parsed.header
    if hdr.site_code:
        allowed = {site_code.upper(), *(a.upper() for a in options.site_aliases)}
        if hdr.site_code.upper() not in allowed:
            raise PipelineFileError(
                E.SITE_MISMATCH,
                f"The file is for site {hdr.site_code[:12]}, but was uploaded for {site_code}.",
            )
    if (
        hdr.period_start
        and hdr.period_end
        and (
            hdr.period_start > period.end
            or hdr.period_end < period.start
            or (hdr.period_start.year, hdr.period_start.month) != (period.year, period.month)
        )
    ):
        raise PipelineFileError(
            E.PERIOD_MISMATCH,
            f"The file covers {hdr.period_start.isoformat()} to {hdr.period_end.isoformat()}, "
            f"but was uploaded for {period}.",
        )
