"""Cleaning and harmonisation: codes from labels / national codes / SNOMED / free text,
light text normalisation, and Europe/London date-times.

Each resolver returns the harmonised code (or None when nothing matched) and the name
of the rule that decided it, recorded in the row's lineage.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from incidents import codes

from .types import HarmonisedRow

LONDON = ZoneInfo("Europe/London")
_WS = re.compile(r"\s+")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PLACEHOLDERS = frozenset(
    {
        "-",
        "--",
        "- -",
        ".",
        "n/k",
        "nk",
        "n/a",
        "na",
        "u/k",
        "unknown",
        "not known",
        "none",
        "null",
        "?",
        "tbc",
        "xxx",
        "x",
    }
)
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$|^\d[A-Z]{2}$")
_KEEP_UPPER = frozenset(
    {
        "O/S",
        "NR",
        "PT",
        "PTS",
        "DV",
        "NFA",
        "A&E",
        "RLH",
        "STG",
        "PRUH",
        "NPH",
        "KGH",
        "QH",
        "RFH",
        "CUH",
        "NMUH",
        "WXH",
        "NUH",
        "UCLH",
        "DLR",
        "KFC",
        "BP",
        "UK",
        "TFL",
        "N/K",
        "U/K",
        "N/A",
    }
)

_NATIONAL_METHOD = codes.national_method_map()
_NATIONAL_LOCATION = codes.national_location_map()
_SNOMED_METHOD = codes.snomed_method_map()
_SNOMED_LOCATION = codes.snomed_location_map()
_DIGITS = re.compile(r"^\d{1,18}$")


@dataclass(frozen=True, slots=True)
class Resolution:
    code: str | None
    rule: str


def norm_label(value: str) -> str:
    """Lower case, single spaces, no surrounding punctuation: the key for label lookups."""
    return _WS.sub(" ", value.replace("\u2019", "'")).strip(" .,;:").lower()


def _resolve(
    raw: str,
    overrides: Mapping[str, str],
    national: Mapping[str, str],
    snomed: Mapping[str, str],
    labels: Mapping[str, str],
    keywords: tuple[tuple[re.Pattern[str], str], ...],
    field: str,
) -> Resolution:
    key = norm_label(raw)
    if not key:
        return Resolution(None, f"{field}:blank")
    if key in overrides:
        return Resolution(overrides[key], f"{field}:profile_value")
    if _DIGITS.match(key):
        if len(key) <= 2:
            nat = national.get(key.zfill(2))
            if nat:
                return Resolution(nat, f"{field}:national_code")
        elif len(key) >= 6:
            sn = snomed.get(key)
            if sn:
                return Resolution(sn, f"{field}:snomed")
        return Resolution(None, f"{field}:unknown_code")
    if key in labels:
        return Resolution(labels[key], f"{field}:label")
    for pattern, code in keywords:
        if pattern.search(key):
            return Resolution(code, f"{field}:free_text")
    return Resolution(None, f"{field}:unknown")


@lru_cache(maxsize=8192)
def _method_cached(raw: str) -> Resolution:
    return _resolve(
        raw,
        {},
        _NATIONAL_METHOD,
        _SNOMED_METHOD,
        codes.METHOD_LABEL_SYNONYMS,
        codes.METHOD_KEYWORD_PATTERNS,
        "method",
    )


@lru_cache(maxsize=8192)
def _location_cached(raw: str) -> Resolution:
    return _resolve(
        raw,
        {},
        _NATIONAL_LOCATION,
        _SNOMED_LOCATION,
        codes.LOCATION_LABEL_SYNONYMS,
        codes.LOCATION_KEYWORD_PATTERNS,
        "location_type",
    )


def resolve_method(raw: str, overrides: Mapping[str, str] | None = None) -> Resolution:
    """Harmonised method code for a raw value (profile overrides win)."""
    if overrides:
        key = norm_label(raw)
        if key in overrides:
            return Resolution(overrides[key], "method:profile_value")
    return _method_cached(raw)


def resolve_location_type(raw: str, overrides: Mapping[str, str] | None = None) -> Resolution:
    """Harmonised location-type code for a raw value (profile overrides win)."""
    if overrides:
        key = norm_label(raw)
        if key in overrides:
            return Resolution(overrides[key], "location_type:profile_value")
    return _location_cached(raw)


@lru_cache(maxsize=8192)
def location_type_from_description(text: str) -> str | None:
    """A location type suggested by the free-text description ("o/s Brixton stn")."""
    key = norm_label(text)
    if not key or key in _PLACEHOLDERS:
        return None
    if key in codes.LOCATION_LABEL_SYNONYMS:
        return codes.LOCATION_LABEL_SYNONYMS[key]
    for pattern, code in codes.LOCATION_KEYWORD_PATTERNS:
        if pattern.search(key):
            return code
    return None


def _fix_case(text: str) -> str:
    """ALL-CAPS text → Title Case, keeping postcodes and ED abbreviations upper case."""
    out = []
    for word in text.split(" "):
        up = word.upper()
        core = up.strip(",.;:()")
        if core in _KEEP_UPPER or _POSTCODE.match(core) or any(ch.isdigit() for ch in core):
            out.append(up if core != "O/S" else word.lower())
        else:
            out.append(word.capitalize())
    return " ".join(out)


@lru_cache(maxsize=65_536)
def clean_text(value: str) -> tuple[str, tuple[str, ...]]:
    """Light normalisation of free text. Returns (text, rules applied)."""
    rules: list[str] = []
    text = unicodedata.normalize("NFKC", value)
    text = _CTRL.sub(" ", text)
    collapsed = _WS.sub(" ", text).strip().strip('"').strip()
    if collapsed != value:
        rules.append("text:whitespace")
    text = collapsed
    if text.lower() in _PLACEHOLDERS:
        return "", (*rules, "text:placeholder_blanked")
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 6 and all(c.isupper() for c in letters):
        text = _fix_case(text)
        rules.append("text:case")
    return text, tuple(rules)


MIDNIGHT = time(0, 0)


@lru_cache(maxsize=4096)
def _month_start(d: date) -> date:
    """The first day of the month: ``date.replace`` costs more than this cached lookup,
    and a file's rows fall on a few dozen days."""
    return d.replace(day=1)


def london_datetime(d: date, t: time | None) -> datetime:
    """An aware Europe/London datetime; midnight when the time is not known."""
    return datetime.combine(d, t or MIDNIGHT, tzinfo=LONDON)


def build_row(
    *,
    source_row: int,
    arrival: tuple[date, time | None] | None,
    assault: tuple[date, time | None],
    method: Resolution,
    method_raw: str,
    method_other: str,
    location: Resolution,
    location_raw: str,
    location_description: str,
    rules: list[str],
    warnings: list[str],
    redactions: int = 0,
) -> HarmonisedRow:
    """Assemble the output row from already validated parts."""
    assert method.code is not None and location.code is not None
    a_date, a_time = assault
    # london_datetime, inlined: this runs once per accepted row.
    assault_at = datetime.combine(a_date, a_time or MIDNIGHT, tzinfo=LONDON)
    arrival_at = (
        datetime.combine(arrival[0], arrival[1] or MIDNIGHT, tzinfo=LONDON) if arrival else None
    )
    # Positional (field order of HarmonisedRow): this runs once per accepted row.
    return HarmonisedRow(
        source_row,
        arrival_at,
        arrival is not None and arrival[1] is not None,
        assault_at,
        a_time is not None,
        str(method.code),
        method_raw,
        method_other,
        str(location.code),
        location_raw,
        location_description,
        _month_start(a_date),
        a_date.weekday(),
        a_time.hour if a_time is not None else None,
        rules,
        warnings,
        redactions,
    )


@dataclass(frozen=True, slots=True)
class CodeReference:
    """Editable reference data for one file, loaded once per submission.

    ``synonyms`` maps a normalised source value to a code (the site's own rows already
    merged over the all-hospital rows); ``active`` is the set of codes that may be
    produced, or None to allow every built-in code (no reference table).
    """

    synonyms: Mapping[str, str]
    active: frozenset[str] | None = None


INACTIVE_RULE_SUFFIX = ":inactive_code"


class ValueResolver:
    """Resolves one coded field for one file: profile value → reference synonym →
    built-in lists; a code that is no longer active becomes "not known".

    Results are memoised per raw value, so a file costs one lookup per distinct value.
    """

    __slots__ = ("_active", "_cache", "_fallback", "_field", "_profile", "_synonyms")

    def __init__(
        self,
        field: str,
        *,
        profile: Mapping[str, str] | None = None,
        reference: CodeReference | None = None,
    ) -> None:
        self._field = field
        self._profile = {norm_label(k): v for k, v in (profile or {}).items()}
        self._synonyms = reference.synonyms if reference else {}
        self._active = reference.active if reference else None
        self._fallback = _method_cached if field == "method" else _location_cached
        self._cache: dict[str, Resolution] = {}

    @property
    def resolved(self) -> Mapping[str, Resolution]:
        """The values resolved so far (raw value → resolution), for a caller that looks
        a value up before calling: most rows repeat a value already seen."""
        return self._cache

    def __call__(self, raw: str) -> Resolution:
        res = self._cache.get(raw)
        if res is None:
            res = self._cache[raw] = self._resolve(raw)
        return res

    def _resolve(self, raw: str) -> Resolution:
        res: Resolution | None = None
        if self._profile or self._synonyms:
            key = norm_label(raw)
            if key in self._profile:
                res = Resolution(self._profile[key], f"{self._field}:profile_value")
            elif key in self._synonyms:
                res = Resolution(self._synonyms[key], f"{self._field}:reference")
        if res is None:
            res = self._fallback(raw)
        if res.code is None or self._active is None or res.code in self._active:
            return res
        # A retired category is never produced: fall back to "not known" (if that is
        # itself retired the value is treated as unknown and the row set aside).
        not_known = codes.Method.NOT_KNOWN.value
        return Resolution(
            not_known if not_known in self._active else None,
            f"{self._field}{INACTIVE_RULE_SUFFIX}",
        )
