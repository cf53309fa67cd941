"""Date and time parsing for UK ED extracts.

Accepted: ``dd/mm/yyyy`` (also ``-`` or ``.``, two-digit years), ``yyyy-mm-dd``
(ISO, with optional ``T``), ``5 Jan 2024`` / ``05-Jan-24``, Excel serial numbers (as
numbers or digit strings), and Python date/datetime/time values from spreadsheets.
Times: ``HH:MM[:SS]``, ``HHMM``, ``HH.MM``, ``10:15pm``, Excel day fractions. Unknown
times ("n/k", blank, "99:99") are reported as ``None`` (time not known), never guessed.
Month-first dates are not accepted: ``12/31/2024`` is an error, not a guess.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from .types import Cell

EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system, Lotus leap-year bug included
_SERIAL_MIN, _SERIAL_MAX = 18_264, 91_311  # 1950-01-01 .. 2149-12-31 as text serials

UNKNOWN_TIME_TOKENS = frozenset(
    {
        "",
        "n/k",
        "nk",
        "u/k",
        "uk",
        "unknown",
        "not known",
        "unk",
        "?",
        "-",
        "--",
        "--:--",
        "99:99",
        "9999",
        "n/a",
        "na",
        "not recorded",
        "time unknown",
        "tnk",
    }
)
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_TIME_RE = r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ap>[ap]\.?m\.?)?"
_DMY = re.compile(
    r"^(?P<d>\d{1,2})[/\-.](?P<m>\d{1,2})[/\-.](?P<y>\d{4}|\d{2})(?:[ T,]+" + _TIME_RE + r")?$",
    re.IGNORECASE,
)
_YMD = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T]+"
    + _TIME_RE
    + r"(?:Z|[+-]\d{2}:?\d{2})?)?$",
    re.IGNORECASE,
)
_DMONY = re.compile(
    r"^(?P<d>\d{1,2})(?:st|nd|rd|th)?[ \-/](?P<mon>[a-z]{3,9})[ \-/,]+(?P<y>\d{4}|\d{2})"
    r"(?:[ T,]+" + _TIME_RE + r")?$",
    re.IGNORECASE,
)
_TIME_ONLY = re.compile(r"^" + _TIME_RE + r"$", re.IGNORECASE)
_HHMM = re.compile(r"^(?P<h>\d{2})(?P<mi>\d{2})$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


class BadValue(ValueError):
    """A value that cannot be read as a date or time."""


def excel_serial_to_datetime(serial: float) -> tuple[date, time | None]:
    """Excel 1900-system serial → (date, time or None when the fraction is zero)."""
    if not 1 <= serial < 2_958_466:
        raise BadValue("serial out of range")
    days = int(serial)
    frac = serial - days
    d = EXCEL_EPOCH + timedelta(days=days)
    if frac <= 1e-9:
        return d, None
    secs = round(frac * 86_400)
    if secs >= 86_400:
        return d + timedelta(days=1), time(0, 0)
    return d, time(secs // 3600, secs % 3600 // 60, secs % 60)


def _year(y: str) -> int:
    return 2000 + int(y) if len(y) == 2 else int(y)


def _time_from(m: re.Match[str]) -> time | None:
    if m.group("h") is None:
        return None
    h, mi = int(m.group("h")), int(m.group("mi"))
    s = int(m.group("s") or 0)
    ap = (m.group("ap") or "").lower().replace(".", "")
    if ap:
        if not 1 <= h <= 12:
            raise BadValue("bad 12-hour time")
        h = h % 12 + (12 if ap == "pm" else 0)
    return _hms(h, mi, s)


def _hms(h: int, mi: int, s: int) -> time:
    if h == 24 and mi == 0 and s == 0:
        h = 0
    try:
        return time(h, mi, s)
    except ValueError as exc:
        raise BadValue("bad time") from exc


@lru_cache(maxsize=131_072)
def parse_datetime_text(text: str) -> tuple[date, time | None]:
    """Parse a date with optional time from text. Time None = not given."""
    t = text.strip()
    try:
        if (
            len(t) == 19
            and t[4] == "-" == t[7]
            and t[10] in "T "
            and t[13] == ":" == t[16]
            and (digits := t[:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16] + t[17:]).isascii()
            and digits.isdigit()
        ):
            # yyyy-mm-ddThh:mm:ss (XML, most exports): what _YMD would read, without it.
            return date(int(t[:4]), int(t[5:7]), int(t[8:10])), _hms(
                int(t[11:13]), int(t[14:16]), int(t[17:])
            )
        if m := _DMY.match(t):
            return date(_year(m["y"]), int(m["m"]), int(m["d"])), _time_from(m)
        if m := _YMD.match(t):
            return date(int(m["y"]), int(m["m"]), int(m["d"])), _time_from(m)
        if m := _DMONY.match(t):
            mon = _MONTHS.get(m["mon"].lower())
            if mon is None:
                raise BadValue("bad month name")
            return date(_year(m["y"]), mon, int(m["d"])), _time_from(m)
    except ValueError as exc:  # date() out of range: 31/02, 32/13 ...
        raise BadValue("impossible date") from exc
    if _SERIAL.match(t):
        serial = float(t)
        if _SERIAL_MIN <= serial <= _SERIAL_MAX:
            return excel_serial_to_datetime(serial)
    raise BadValue("unrecognised date")


def parse_datetime(cell: Cell) -> tuple[date, time | None] | None:
    """A date(-time) cell → (date, time or None), or None if blank. Raises BadValue."""
    if cell.__class__ is str:  # fast path: text cells (CSV, TSV, XML), cached parse
        text = cell.strip()
        return parse_datetime_text(text) if text else None
    if cell is None:
        return None
    if isinstance(cell, datetime):
        return cell.date(), cell.time().replace(microsecond=0)
    if isinstance(cell, date):
        return cell, None
    if isinstance(cell, bool):
        raise BadValue("boolean is not a date")
    if isinstance(cell, int | float):
        return excel_serial_to_datetime(float(cell))
    if isinstance(cell, time):
        raise BadValue("a time is not a date")
    text = str(cell).strip()
    if not text:
        return None
    return parse_datetime_text(text)


@lru_cache(maxsize=8192)
def parse_time_text(text: str) -> time | None:
    """Parse a time from text; None when it says the time is not known."""
    t = text.strip().lower()
    if t in UNKNOWN_TIME_TOKENS:
        return None
    if m := _TIME_ONLY.match(t):
        return _time_from(m)
    if m := _HHMM.match(t):
        h, mi = int(m["h"]), int(m["mi"])
        if h == 24 and mi == 0:
            h = 0
        try:
            return time(h, mi)
        except ValueError as exc:
            raise BadValue("bad time") from exc
    # A full date-time in a time column (Excel exports do this): keep the time part.
    try:
        _, tm = parse_datetime_text(text)
    except BadValue:
        raise BadValue("unrecognised time") from None
    return tm


def parse_time(cell: Cell) -> time | None:
    """A time cell → time, or None when blank / not known. Raises BadValue."""
    if cell.__class__ is str:
        return parse_time_text(cell)
    if cell is None:
        return None
    if isinstance(cell, time):
        return cell.replace(microsecond=0)
    if isinstance(cell, datetime):
        return cell.time().replace(microsecond=0)
    if isinstance(cell, bool):
        raise BadValue("boolean is not a time")
    if isinstance(cell, int | float):
        if 0 <= cell < 1:  # Excel day fraction
            secs = round(float(cell) * 86_400) % 86_400
            return time(secs // 3600, secs % 3600 // 60, secs % 60)
        raise BadValue("number is not a time")
    if isinstance(cell, date):
        raise BadValue("a date is not a time")
    return parse_time_text(str(cell))
