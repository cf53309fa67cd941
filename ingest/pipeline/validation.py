"""Row validation: every problem at once, each with a stable code.

A row is either accepted (turned into a :class:`HarmonisedRow`, maybe with warnings) or
set aside with all its reasons. Values are echoed only for dates and codes, never for
free-text fields (they may hold personal details).

Codes are part of the public contract: never renumber them. File-level codes are in
``errors.FileErrorCode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from enum import StrEnum
from functools import lru_cache

from incidents.codes import SNOMED_ASSAULT_INTENT, Method
from istv_portal.periods import Period

from . import pii
from .dates import BadValue, parse_datetime, parse_datetime_text, parse_time, parse_time_text
from .harmonise import (
    INACTIVE_RULE_SUFFIX,
    CodeReference,
    Resolution,
    ValueResolver,
    build_row,
    clean_text,
    location_type_from_description,
)
from .limits import Limits
from .parsers.common import cell_text
from .types import Cell, ColumnMapping, Field, HarmonisedRow, Issue, PiiKind, Severity


class RowCode(StrEnum):
    MISSING_MANDATORY = "V001_MISSING_MANDATORY"
    BAD_DATE = "V002_BAD_DATE"
    BAD_TIME = "V003_BAD_TIME"
    ASSAULT_AFTER_ARRIVAL = "V004_ASSAULT_AFTER_ARRIVAL"
    ASSAULT_TOO_EARLY = "V005_ASSAULT_TOO_LONG_BEFORE_ARRIVAL"
    OUTSIDE_PERIOD = "V006_OUTSIDE_REPORTING_PERIOD"
    UNKNOWN_METHOD = "V007_UNKNOWN_METHOD"
    UNKNOWN_LOCATION_TYPE = "V008_UNKNOWN_LOCATION_TYPE"
    TEXT_TOO_LONG = "V009_TEXT_TOO_LONG"
    DUPLICATE_ROW = "V010_DUPLICATE_ROW"
    NOT_ASSAULT = "V011_NOT_ASSAULT"
    # Warnings: the row is accepted.
    TIME_NOT_KNOWN = "W001_TIME_NOT_KNOWN"
    ARRIVAL_MISSING = "W002_ARRIVAL_MISSING"
    OTHER_WITHOUT_TEXT = "W003_OTHER_METHOD_WITHOUT_DESCRIPTION"
    DESCRIPTION_MISSING = "W004_LOCATION_DESCRIPTION_MISSING"
    TEXT_REDACTED = "W005_PERSONAL_DATA_REDACTED"
    LOCATION_TYPE_INFERRED = "W006_LOCATION_TYPE_FROM_DESCRIPTION"
    CODE_RETIRED = "W007_CODE_RETIRED"
    # File-level: an optional column of the mapping is not in the file (row is None).
    OPTIONAL_COLUMN_MISSING = "W008_OPTIONAL_COLUMN_MISSING"


_MAX_SAFE_VALUE = 40
WARNING_MESSAGES: dict[RowCode, str] = {
    RowCode.TIME_NOT_KNOWN: "The assault time is not known.",
    RowCode.ARRIVAL_MISSING: "The arrival date is missing.",
    RowCode.OTHER_WITHOUT_TEXT: "The method is 'other' but no description was given.",
    RowCode.DESCRIPTION_MISSING: "The location description is empty.",
    RowCode.TEXT_REDACTED: "Personal details in free text were replaced by [redacted].",
    RowCode.LOCATION_TYPE_INFERRED: "The location type was taken from the location description.",
    RowCode.CODE_RETIRED: "The value maps to a category that is no longer used; "
    "it was recorded as 'not known'.",
}


@lru_cache(maxsize=65_536)
def _clean_and_redact(raw: str) -> tuple[str, tuple[str, ...], tuple[PiiKind, ...]]:
    """Clean then redact free text; cached because descriptions repeat ("pt's home")."""
    text, applied = clean_text(raw)
    text, kinds = pii.redact(text)
    return text, applied, tuple(kinds)


def _warning(code: RowCode, row: int, column: str | None) -> Issue:
    return Issue(code, WARNING_MESSAGES[code], Severity.WARNING, row=row, column=column)


def safe_value(value: str) -> str | None:
    """A short value for the report, or None if it could identify someone (the structured
    checks, or anything the free-text guard would redact: a 7-digit run, a name …)."""
    v = value.strip()
    if len(v) > _MAX_SAFE_VALUE or pii.kinds_in_text(v) or pii.redact(v)[1]:
        return None
    return v


@dataclass(slots=True)
class RowOutcome:
    source_row: int
    row: HarmonisedRow | None
    issues: list[Issue]
    redacted_kinds: list[str] = field(default_factory=list)


@dataclass
class RowValidator:
    """Validates and harmonises rows of one file. Stateful only for duplicate detection."""

    mapping: ColumnMapping
    period: Period
    limits: Limits = field(default_factory=Limits)
    # Editable reference data (synonyms, active codes) per coded field; None = built-in.
    method_reference: CodeReference | None = None
    location_reference: CodeReference | None = None
    _seen: dict[tuple[Cell, ...], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cols = self.mapping.columns
        self._col = {f: cols.get(f) for f in Field}
        # Lookup keys: "" for unmapped fields (no column is ever named ""), so values.get()
        # returns None without a branch.
        self._key = {f: c or "" for f, c in self._col.items()}
        self._window = (
            self.period.start - timedelta(days=self.limits.period_grace_days),
            self.period.end + timedelta(days=self.limits.period_grace_days),
        )
        self._max_gap = timedelta(days=self.limits.max_days_before_arrival)
        self._method = ValueResolver(
            "method",
            profile=self.mapping.values.get(Field.METHOD),
            reference=self.method_reference,
        )
        self._location = ValueResolver(
            "location_type",
            profile=self.mapping.values.get(Field.LOCATION_TYPE),
            reference=self.location_reference,
        )
        active = self.location_reference.active if self.location_reference else None
        self._location_active = active
        self._dedupe_cols = [c for c in cols.values() if c]
        # Everything ``check`` needs per row, resolved once per file: plain attributes
        # instead of enum-keyed lookups (this runs on every row of every file).
        col = self._col
        self._intent_col = col[Field.INJURY_INTENT]
        self._assault_spec = self._when_spec(
            Field.ASSAULT_AT, Field.ASSAULT_DATE, Field.ASSAULT_TIME
        )
        self._arrival_spec = self._when_spec(
            Field.ARRIVAL_AT, Field.ARRIVAL_DATE, Field.ARRIVAL_TIME
        )
        self._a_col = col[Field.ASSAULT_AT] or col[Field.ASSAULT_DATE]
        self._arrival_col = col[Field.ARRIVAL_AT] or col[Field.ARRIVAL_DATE]
        self._time_warn_col = col[Field.ASSAULT_TIME] or col[Field.ASSAULT_AT] or self._a_col
        self._method_key = self._key[Field.METHOD]
        self._location_key = self._key[Field.LOCATION_TYPE]
        self._other_col = col[Field.METHOD_OTHER]
        self._other_key = self._key[Field.METHOD_OTHER]
        self._desc_col = col[Field.LOCATION_DESCRIPTION]
        self._desc_key = self._key[Field.LOCATION_DESCRIPTION]
        self._max_text = self.limits.max_text
        self._lo, self._hi = self._window
        self._method_seen = self._method.resolved
        self._location_seen = self._location.resolved

    def _when_spec(
        self, at_f: Field, date_f: Field, time_f: Field
    ) -> tuple[str, str | None, str | None]:
        """(lookup key, column named in errors, time column) of a date/time item."""
        at_col, date_col = self._col[at_f], self._col[date_f]
        key = self._key[at_f] if at_col else self._key[date_f]
        return key, at_col or date_col, self._col[time_f]

    # -- helpers -------------------------------------------------------------------
    def _when(
        self,
        values: dict[str, Cell],
        spec: tuple[str, str | None, str | None],
        row: int,
        issues: list[Issue],
    ) -> tuple[tuple[date, time | None] | None, bool]:
        """(date, time) for a combined or split date/time field; bool = value present."""
        key, col, time_col = spec
        cell = values.get(key)
        if cell is None:
            return None, False
        try:
            # Text cells go straight to the cached text parser (it strips the value itself).
            if type(cell) is str:
                parsed = parse_datetime_text(cell) if cell and not cell.isspace() else None
            else:
                parsed = parse_datetime(cell)
        except BadValue:
            issues.append(
                Issue(
                    RowCode.BAD_DATE,
                    f"The value in '{col}' is not a date in a UK format "
                    "(dd/mm/yyyy, yyyy-mm-dd or an Excel date).",
                    row=row,
                    column=col,
                    value=safe_value(cell_text(cell)),
                )
            )
            return None, True
        if parsed is None:
            return None, False
        if time_col is None:
            return parsed, True
        tcell = values.get(time_col)
        if tcell is None:
            return parsed, True  # no time cell: the date's own time (or None)
        try:
            tt = parse_time_text(tcell) if type(tcell) is str else parse_time(tcell)
        except BadValue:
            issues.append(
                Issue(
                    RowCode.BAD_TIME,
                    f"The value in '{time_col}' is not a time (hh:mm).",
                    row=row,
                    column=time_col,
                    value=safe_value(cell_text(tcell)),
                )
            )
            return None, True
        # A time column's value wins over a time inside the date cell, unless not known.
        return (parsed if tt is None else (parsed[0], tt)), True

    # -- main ----------------------------------------------------------------------
    def check(self, row: int, values: dict[str, Cell]) -> RowOutcome:
        issues: list[Issue] = []
        warnings: list[Issue] = []
        rules: list[str] = []
        redacted: list[str] = []

        intent_col = self._intent_col
        if intent_col is not None:
            intent = cell_text(values.get(intent_col)).strip()
            if intent and intent not in SNOMED_ASSAULT_INTENT:
                return RowOutcome(
                    row,
                    None,
                    [
                        Issue(
                            RowCode.NOT_ASSAULT,
                            "The injury intent is not assault; ISTV covers assaults only.",
                            row=row,
                            column=intent_col,
                            value=safe_value(intent),
                        )
                    ],
                )

        assault, assault_present = self._when(values, self._assault_spec, row, issues)
        arrival, arrival_present = self._when(values, self._arrival_spec, row, issues)
        a_col = self._a_col
        if not assault_present:
            issues.append(
                Issue(
                    RowCode.MISSING_MANDATORY, "The assault date is missing.", row=row, column=a_col
                )
            )
        if not arrival_present:
            warnings.append(_warning(RowCode.ARRIVAL_MISSING, row, self._arrival_col))
        if assault is not None and assault[1] is None:
            # The time is what is missing: name the time column, or the date-time one.
            warnings.append(_warning(RowCode.TIME_NOT_KNOWN, row, self._time_warn_col))

        if assault is not None and arrival is not None:
            self._check_order(assault, arrival, row, a_col, issues)
        ref = arrival or assault
        if ref is not None and not self._lo <= ref[0] <= self._hi:
            col = self._arrival_col if arrival else a_col
            issues.append(
                Issue(
                    RowCode.OUTSIDE_PERIOD,
                    f"The date {ref[0].strftime('%d/%m/%Y')} is outside the reporting month "
                    f"{self.period} (allowing {self.limits.period_grace_days} days either side).",
                    row=row,
                    column=col,
                    value=ref[0].isoformat(),
                )
            )

        # Coded fields: a value already resolved to a code in this file needs no call.
        cell = values.get(self._method_key)
        method_raw = cell.strip() if type(cell) is str else cell_text(cell).strip()
        method = self._method_seen.get(method_raw)
        if method is None or method.code is None:
            method = self._code(method_raw, Field.METHOD, row, issues)
        cell = values.get(self._location_key)
        loc_raw = cell.strip() if type(cell) is str else cell_text(cell).strip()
        location = self._location_seen.get(loc_raw)
        if location is None or location.code is None:
            location = self._code(loc_raw, Field.LOCATION_TYPE, row, issues)

        cell = values.get(self._other_key)
        method_other = (
            ""
            if cell is None
            else self._text(cell, Field.METHOD_OTHER, row, issues, rules, redacted)
        )
        other_redacted = len(redacted)
        cell = values.get(self._desc_key)
        description = (
            ""
            if cell is None
            else self._text(cell, Field.LOCATION_DESCRIPTION, row, issues, rules, redacted)
        )
        if redacted:
            # One warning per free-text column whose text was redacted, naming that column.
            if other_redacted:
                warnings.append(_warning(RowCode.TEXT_REDACTED, row, self._other_col))
            if len(redacted) > other_redacted:
                warnings.append(_warning(RowCode.TEXT_REDACTED, row, self._desc_col))
        if method is not None and method.rule.endswith(INACTIVE_RULE_SUFFIX):
            warnings.append(_warning(RowCode.CODE_RETIRED, row, self._col[Field.METHOD]))
        if location is not None and location.rule.endswith(INACTIVE_RULE_SUFFIX):
            warnings.append(_warning(RowCode.CODE_RETIRED, row, self._col[Field.LOCATION_TYPE]))
        if method is not None and method.code == Method.OTHER and not method_other:
            warnings.append(_warning(RowCode.OTHER_WITHOUT_TEXT, row, self._other_col))
        if not description:
            warnings.append(_warning(RowCode.DESCRIPTION_MISSING, row, self._desc_col))
        elif location is not None and location.code == "not_known":
            inferred = location_type_from_description(description)
            if inferred is not None and (
                self._location_active is None or inferred in self._location_active
            ):
                location = Resolution(inferred, "location_type:from_description")
                warnings.append(
                    _warning(RowCode.LOCATION_TYPE_INFERRED, row, self._col[Field.LOCATION_TYPE])
                )

        if not issues:
            key = tuple(map(values.get, self._dedupe_cols))
            first = self._seen.setdefault(key, row)
            if first != row:
                issues.append(
                    Issue(RowCode.DUPLICATE_ROW, f"This row repeats row {first}.", row=row)
                )
        if issues:
            return RowOutcome(row, None, issues + warnings, redacted)

        assert assault is not None and method is not None and location is not None
        rules.append(method.rule)
        rules.append(location.rule)
        out = build_row(
            source_row=row,
            arrival=arrival,
            assault=assault,
            method=method,
            method_raw=method_raw,
            method_other=method_other,
            location=location,
            location_raw=loc_raw,
            location_description=description,
            rules=rules,
            warnings=list(dict.fromkeys([str(w.code) for w in warnings])) if warnings else [],
            redactions=len(redacted),
        )
        return RowOutcome(row, out, warnings, redacted)

    def _check_order(
        self,
        assault: tuple[date, time | None],
        arrival: tuple[date, time | None],
        row: int,
        col: str | None,
        issues: list[Issue],
    ) -> None:
        (ad, at), (rd, rt) = assault, arrival
        # Same wall-clock zone on both sides, so (date, time) tuples compare correctly.
        after = (ad, at) > (rd, rt) if at is not None and rt is not None else ad > rd
        if after:
            issues.append(
                Issue(
                    RowCode.ASSAULT_AFTER_ARRIVAL,
                    "The assault is recorded after the arrival at the ED.",
                    row=row,
                    column=col,
                    value=ad.isoformat(),
                )
            )
        elif rd - ad > self._max_gap:
            issues.append(
                Issue(
                    RowCode.ASSAULT_TOO_EARLY,
                    f"The assault is more than {self.limits.max_days_before_arrival} days before "
                    "the arrival.",
                    row=row,
                    column=col,
                    value=ad.isoformat(),
                )
            )

    def _code(self, raw: str, f: Field, row: int, issues: list[Issue]) -> Resolution | None:
        col = self._col[f]
        label = "method" if f is Field.METHOD else "location type"
        if not raw:
            issues.append(
                Issue(
                    RowCode.MISSING_MANDATORY,
                    f"The assault {label} is missing.",
                    row=row,
                    column=col,
                )
            )
            return None
        if f is Field.METHOD:
            res = self._method(raw)
            code = RowCode.UNKNOWN_METHOD
        else:
            res = self._location(raw)
            code = RowCode.UNKNOWN_LOCATION_TYPE
        if res.code is None:
            issues.append(
                Issue(
                    code,
                    f"The assault {label} is not a known code or label; add "
                    "it to the mapping profile or correct it.",
                    row=row,
                    column=col,
                    value=safe_value(raw),
                )
            )
            return None
        return res

    def _text(
        self,
        cell: Cell,
        f: Field,
        row: int,
        issues: list[Issue],
        rules: list[str],
        redacted: list[str],
    ) -> str:
        raw = cell_text(cell)
        if not raw:
            return ""
        text, applied, kinds = _clean_and_redact(raw)
        if applied:
            rules.extend(applied)
        if kinds:
            redacted.extend(kinds)
            rules.append(f"{f.value}:redacted")
        if len(text) > self._max_text:
            issues.append(
                Issue(
                    RowCode.TEXT_TOO_LONG,
                    f"The {f.value.replace('_', ' ')} is longer than "
                    f"{self.limits.max_text} characters.",
                    row=row,
                    column=self._col[f],
                )
            )
        return text
