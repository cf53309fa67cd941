"""Personal-data guard: runs over every row before anything is stored.

ISTV data is anonymised by design, so personal data in a submission is an error in the
extract. Two outcomes:

* structured columns (anything but the mapped free-text fields) holding NHS numbers,
  e-mail addresses, phone numbers or dates of birth, and columns whose *header* says
  they hold names, dates of birth or patient addresses → a finding; the caller quarantines
  the whole file;
* the free-text fields (location description, method "other" text) → each fragment that
  identifies a person is replaced by ``[redacted]`` (a home address by ``[home address]``)
  and counted by kind: :mod:`.pii_text` holds the rules, which deny by default.

Findings carry kind, column and row numbers, never the values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import itemgetter

from .pii_text import HOME_ADDRESS as HOME_ADDRESS  # the placeholders, for callers
from .pii_text import REDACTED as REDACTED
from .pii_text import redact as _redact_text
from .types import Cell, PiiFinding, PiiKind, RawRow

MAX_ROWS_PER_FINDING = 20

_NHS = re.compile(r"(?<![\d])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(
    r"(?<![\d])(?:"
    r"(?:\+44\s?|\(?0)7\d{3}\)?[\s-]?\d{3}[\s-]?\d{3}"  # mobile
    r"|(?:\+44\s?|\(?0)20\)?[\s-]?\d{4}[\s-]?\d{4}"  # London
    r"|(?:\+44\s?|\(?0)1\d{2,3}\)?[\s-]?\d{3}[\s-]?\d{3,4}"  # other geographic
    r"|(?:\+44\s?|0)[38]00[\s-]?\d{3}[\s-]?\d{3,4}"
    r")(?![\d])"
)
_DOB_TEXT = re.compile(
    r"\b(?:dob|d\.o\.b\.?|date of birth|born)\b[\s:.-]*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}",
    re.IGNORECASE,
)
# Cheap prefilters: every pattern above needs a run of 3+3 digits, an @, +44 or a birth
# word; rows without one are skipped. Plain substring tests are several times faster
# than one case-insensitive alternation (this runs on every row).
_DIGIT_RUN = re.compile(r"\d{3}[ -]?\d{3}")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _has_digit_run(text: str) -> bool:
    r"""``_DIGIT_RUN.search(text)``. In ASCII text ``\d`` is 0-9, so with every digit made
    0 three substring tests say the same, several times faster than the regex over text
    full of dates and times; other text (Unicode digits) goes to the regex."""
    if text.isascii():
        zeroed = text.encode("ascii").translate(_DIGITS_TO_ZERO)
        return b"000000" in zeroed or b"000 000" in zeroed or b"000-000" in zeroed
    return _DIGIT_RUN.search(text) is not None


def _candidate(text: str) -> bool:
    if "@" in text or "+44" in text or _has_digit_run(text):
        return True
    low = text.lower()
    return "dob" in low or "birth" in low or "born" in low or "d.o.b" in low


_NAME_HEADER = re.compile(
    r"^name$|^names$|(?:patient|pt|client|person|victim)'?s?\s*(?:full\s*)?names?\b|surname|"
    r"forename|first\s*name|last\s*name|given\s*name|family\s*name|full\s*name|middle\s*name",
    re.IGNORECASE,
)
_DOB_HEADER = re.compile(r"\bdob\b|d\.o\.b|date\s*of\s*birth|birth\s*date|birthdate", re.IGNORECASE)
_ADDRESS_HEADER = re.compile(
    r"address|post\s*code|postcode|postal|zip|residen|house\s*(?:no|number)|home", re.IGNORECASE
)
_INCIDENT_QUALIFIER = re.compile(
    r"incident|assault|location|scene|place|site|injury|event", re.IGNORECASE
)
_NHS_HEADER = re.compile(
    r"\bnhs\b|\bchi\b|\bmrn\b|hospital\s*(?:no|number)|patient\s*(?:id|no|number)", re.IGNORECASE
)


def nhs_number_valid(digits: str) -> bool:
    """Modulus-11 check of a 10-digit NHS number (spaces/dashes already removed)."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def _nhs_spans(text: str) -> list[tuple[int, int]]:
    # NHS numbers are never issued with a leading 0; 10-digit strings starting with 0
    # are phone-like (and one in eleven would pass the check by chance).
    return [
        m.span()
        for m in _NHS.finditer(text)
        if m.group(1)[0] != "0" and nhs_number_valid("".join(m.groups()))
    ]


def kinds_in_text(text: str) -> list[PiiKind]:
    """Kinds of personal data found in a piece of text (used for structured cells)."""
    if not _candidate(text):
        return []
    found: list[PiiKind] = []
    if _nhs_spans(text):
        found.append("nhs_number")
    if "@" in text and _EMAIL.search(text):
        found.append("email")
    if _PHONE.search(text):
        found.append("phone")
    if _DOB_TEXT.search(text):
        found.append("date_of_birth")
    return found


def redact(text: str) -> tuple[str, list[PiiKind]]:
    """Replace personal-data fragments in free text (see :mod:`.pii_text` for the rules).

    Returns the text and the kinds found, never the values."""
    return _redact_text(text)


@lru_cache(maxsize=4096)  # four searches per column of every file; headers repeat
def header_kind(column: str) -> PiiKind | None:
    """The kind of personal data a column header announces, if any."""
    if _NAME_HEADER.search(column):
        return "person_name"
    if _DOB_HEADER.search(column):
        return "date_of_birth"
    if _NHS_HEADER.search(column):
        return "nhs_number"
    if _ADDRESS_HEADER.search(column) and not _INCIDENT_QUALIFIER.search(column):
        return "address"
    return None


_NHS_MIN, _NHS_MAX = 1_000_000_000, 10_000_000_000  # the numbers with 10 digits


def _nhs_sized_number(values: dict[str, Cell]) -> bool:
    """Whether a number cell of the row has 10 digits: the only finding a number cell can
    give is an NHS number (see :meth:`PiiScanner.scan`)."""
    for v in values.values():
        if v is None or v.__class__ is str:
            continue
        if isinstance(v, int | float) and not isinstance(v, bool) and _NHS_MIN <= v < _NHS_MAX:
            return True
    return False


@dataclass(slots=True)
class PiiScanner:
    """Accumulates findings over a stream of rows.

    ``free_text_columns`` are redacted by the caller (via :func:`redact`) rather than
    reported as findings here.
    """

    columns: list[str]
    free_text_columns: frozenset[str] = frozenset()
    text_only: bool = False  # every cell is str or None (CSV, TSV, XML): skip number checks
    findings: dict[tuple[PiiKind, str], PiiFinding] = field(default_factory=dict)
    _header_kinds: dict[str, PiiKind] = field(default_factory=dict)
    # kinds_in_text per distinct cell text: coded columns (SNOMED codes, dates) hold the
    # same few values on every row, so each is checked once per file.
    _kinds: dict[str, tuple[PiiKind, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for col in self.columns:
            if col in self.free_text_columns:
                continue
            kind = header_kind(col)
            if kind is not None:
                self._header_kinds[col] = kind

    def _add(self, kind: PiiKind, column: str, row: int, reason: str) -> None:
        f = self.findings.get((kind, column))
        if f is None:
            f = self.findings[(kind, column)] = PiiFinding(kind, column, reason=reason)
        f.count += 1
        if len(f.rows) < MAX_ROWS_PER_FINDING:
            f.rows.append(row)

    def _kinds_of(self, text: str) -> tuple[PiiKind, ...]:
        kinds = self._kinds.get(text)
        if kinds is None:
            kinds = self._kinds[text] = tuple(kinds_in_text(text))
        return kinds

    def scan_rows(self, rows: Sequence[RawRow]) -> None:
        """Guard a batch of rows, with the same findings as :meth:`scan` row by row.

        In a text-only file with no announcing header only structured text cells can
        hold a finding, and :func:`kinds_in_text` finds nothing in text without a
        candidate. So one prefilter runs over the batch's structured text (cells joined
        with a separator no pattern crosses), then one per column, and only the cells of
        a column with a candidate are looked at one by one: nothing is missed, and most
        batches cost one search. Typed cells (XLSX) go to :meth:`_scan_typed_rows`; a
        file with an announcing header is scanned row by row."""
        if self._header_kinds:
            for number, values in rows:
                self.scan(number, values)
            return
        if not self.text_only:
            self._scan_typed_rows(rows)
            return
        columns = self._structured_cells([values for _, values in rows])
        try:
            text = "\x1f".join(filter(None, chain.from_iterable(columns.values())))
        except TypeError:  # a cell that is not text after all: take the text cells only
            columns = self._structured_cells([values for _, values in rows], by_cell=True)
            text = "\x1f".join(filter(None, chain.from_iterable(columns.values())))
        if not _candidate(text):
            return
        for col, cells in columns.items():
            if not _candidate("\x1f".join(filter(None, cells))):
                continue
            # Coded columns (SNOMED codes) are candidates on every row but repeat a few
            # values: when none of those holds a kind, no cell of the column does.
            if not any(self._kinds_of(v) for v in set(cells) if v.__class__ is str):
                continue
            for (number, _), cell in zip(rows, cells, strict=True):
                if cell.__class__ is str:
                    for kind in self._kinds_of(cell):
                        self._add(kind, col, number, "cell content")

    def _scan_typed_rows(self, rows: Sequence[RawRow]) -> None:
        """:meth:`scan` for each row of a batch of typed cells (XLSX) that can give a
        finding: with no candidate in the structured text of the whole batch, only a row
        with a 10-digit number can; otherwise every row is scanned."""
        free = self.free_text_columns
        text = "\x1f".join(
            [
                v
                for _, values in rows
                for c, v in values.items()
                if v.__class__ is str and c not in free
            ]
        )
        candidate = _candidate(text)
        for number, values in rows:
            if candidate or _nhs_sized_number(values):
                self.scan(number, values)

    def _structured_cells(
        self, batch: list[dict[str, Cell]], *, by_cell: bool = False
    ) -> dict[str, list[str | None]]:
        """Each column's cells over a batch, in the rows' column order, free-text columns
        left out. Rows with the same columns (every parser's rows) are read a column at
        a time without a Python loop per cell; otherwise (or with ``by_cell``) cell by
        cell, the columns in order of first appearance and anything but text as None."""
        free = self.free_text_columns
        if batch and not by_cell and len(set(map(len, batch))) == 1:
            try:
                columns = {c: list(map(itemgetter(c), batch)) for c in batch[0]}
                return {c: cells for c, cells in columns.items() if c not in free}
            except KeyError:
                pass  # rows with different columns
        return {
            c: [v if type(v := values.get(c)) is str else None for values in batch]
            for c in dict.fromkeys([c for values in batch for c in values])
            if c not in free
        }

    def scan(self, row: int, values: dict[str, Cell]) -> None:
        # Fast path: one combined search over the row's text; most rows stop here.
        if not self._header_kinds:
            # Free-text cells are joined too: a hit there only costs the detailed pass.
            text = "\x1f".join([v for v in values.values() if v.__class__ is str])
            if not _candidate(text) and (
                self.text_only
                or not any(v.__class__ is int or v.__class__ is float for v in values.values())
                or not _nhs_sized_number(values)  # then no number cell gives a finding either
            ):
                return
        for col, cell in values.items():
            if cell is None or col in self.free_text_columns:
                continue
            hk = self._header_kinds.get(col)
            if hk is not None:
                if not isinstance(cell, str) or cell.strip():
                    self._add(hk, col, row, "column header")
                continue
            if isinstance(cell, str):
                for kind in self._kinds_of(cell):
                    self._add(kind, col, row, "cell content")
            elif isinstance(cell, int | float) and not isinstance(cell, bool):
                # A number column can hold NHS numbers or phone numbers without spaces.
                if isinstance(cell, float) and not cell.is_integer():
                    continue
                digits = str(int(cell))
                if digits[0] != "0" and nhs_number_valid(digits):
                    self._add("nhs_number", col, row, "cell content")

    @property
    def blocked(self) -> bool:
        return bool(self.findings)

    def results(self) -> list[PiiFinding]:
        return sorted(self.findings.values(), key=lambda f: (f.kind, f.column))

    def counts_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings.values():
            out[f.kind] = out.get(f.kind, 0) + f.count
        return out
