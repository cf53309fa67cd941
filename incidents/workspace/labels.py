"""Code and area labels for the workspace pages: codes in words, and the applied filter in
words (the tags above the results and the download page say it the same way)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from accounts.geography import LONDON_BOROUGHS
from hospitals.models import HospitalSite
from incidents.aggregates import GEO_CLASSES
from incidents.codes import PRECISION_LABELS
from incidents.filters import WEEKDAYS
from incidents.geocoding.models import Area
from incidents.models import HarmonisedCode, Release

EN_DASH = "\N{EN DASH}"  # ranges in words: "1 Jun \N{EN DASH} 31 Aug 2026", "1\N{EN DASH}50 of 630"

# --- code labels --------------------------------------------------------------------------


def code_labels() -> dict[str, dict[str, str]]:
    """Harmonised code → label, per kind (one small query)."""
    return CodeBook.load().labels


@dataclass(frozen=True)
class CodeBook:
    """Every harmonised code, read once for a page: the filter panel's choices of each
    kind and the words for the codes in its tags and rows come from the same query,
    rather than one query per use."""

    # (kind, code, label, is_active), in display order.
    rows: tuple[tuple[str, str, str, bool], ...]

    @classmethod
    def load(cls) -> CodeBook:
        """One small query."""
        return cls(
            tuple(
                HarmonisedCode.objects.order_by("sort_order", "label").values_list(
                    "kind", "code", "label", "is_active"
                )
            )
        )

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        """Code → label, per kind, for every code (retired ones still name old rows)."""
        labels: dict[str, dict[str, str]] = defaultdict(dict)
        for kind, code, label, _active in self.rows:
            labels[kind][code] = label
        return dict(labels)

    def choices(self, kind: str) -> list[tuple[str, str]]:
        """The active codes of ``kind`` a filter offers, in display order."""
        return [(code, label) for k, code, label, active in self.rows if k == kind and active]


def borough_name(code: str | None) -> str:
    return LONDON_BOROUGHS.get(code or "", code or "Unknown")


def precision_label(code: str | None) -> str:
    """How precisely a location is shown, in words ("street", "250 m square")."""
    return PRECISION_LABELS.get(code or "", code or "not shown")


def area_names(kind: str, codes: Iterable[str]) -> dict[str, str]:
    """Ward or LSOA code → name, for the codes given (one query)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    return dict(Area.objects.filter(kind=kind, code__in=wanted).values_list("code", "name"))


def site_names(codes: Iterable[str]) -> dict[str, str]:
    """Hospital site code → name, for the codes given (one query)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    return dict(HospitalSite.objects.filter(site_code__in=wanted).values_list("site_code", "name"))


def named(names: Mapping[str, str], code: str | None) -> str:
    """``Faraday (E05011104)``, or the code alone when it has no name on file."""
    if not code:
        return ""
    name = names.get(code)
    return f"{name} ({code})" if name else code


# --- the applied filter in words -------------------------------------------------------------


@dataclass(frozen=True)
class FilterPart:
    """One thing the filter does, in words, and the parameters that make it up (removing
    those removes it)."""

    category: str
    label: str
    parameters: tuple[tuple[str, str], ...]


# Filters shown one tag per value, in panel order, with their heading.
_LISTED = (
    ("borough", "Borough"),
    ("hospital", "Hospital"),
    ("method", "Assault method"),
    ("location_type", "Location type"),
    ("weekday", "Weekday"),
    ("geo_class", "Location class"),
    ("ward", "Ward"),
    ("lsoa", "LSOA"),
    ("precision", "Location shown at"),
)
_RANGES = (
    ("assault_date_from", "assault_date_to", "Assault date"),
    ("arrival_date_from", "arrival_date_to", "Arrival date"),
)


def day_range(start: dt.date | None, end: dt.date | None) -> str:
    """``1 Jun - 31 Aug 2026`` with an en dash (the year once when both ends share it)."""
    if start and end:
        first = f"{start.day} {start:%b}" if start.year == end.year else _day(start)
        return f"{first} {EN_DASH} {_day(end)}"
    if start:
        return f"From {_day(start)}"
    return f"Up to {_day(end)}" if end else ""


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _hours(low: str | None, high: str | None) -> str:
    if low is not None and high is not None:
        return f"{int(low):02d}:00 {EN_DASH} {int(high):02d}:59"
    if low is not None:
        return f"From {int(low):02d}:00"
    return f"Up to {int(high or 0):02d}:59"


def _value_labels(
    applied: Mapping[str, Sequence[str]], codes: Mapping[str, Mapping[str, str]] | None
) -> dict[str, Mapping[str, str]]:
    """For each listed filter, code → words (a few small queries, only for what is used;
    none for the codes when the page has read them already)."""
    codes = code_labels() if codes is None else codes
    wards = area_names(Area.Kind.WARD, applied.get("ward", ()))
    lsoas = area_names(Area.Kind.LSOA, applied.get("lsoa", ()))
    return {
        "borough": LONDON_BOROUGHS,
        "hospital": site_names(applied.get("hospital", ())),
        "method": codes.get(HarmonisedCode.Kind.METHOD, {}),
        "location_type": codes.get(HarmonisedCode.Kind.LOCATION_TYPE, {}),
        "weekday": dict(WEEKDAYS),
        "geo_class": GEO_CLASSES,
        "ward": {c: named(wards, c) for c in applied.get("ward", ())},
        "lsoa": {c: named(lsoas, c) for c in applied.get("lsoa", ())},
        "precision": {c: _capital(precision_label(c)) for c in applied.get("precision", ())},
    }


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe_filter(
    applied: Mapping[str, Sequence[str]], codes: Mapping[str, Mapping[str, str]] | None = None
) -> list[FilterPart]:
    """The applied filter (``IncidentFilterSet.applied()``) in words, one part per tag:
    names instead of codes, a date range as one part, the hours as one part. ``codes``
    are the harmonised code labels when the caller has them (``CodeBook.labels``)."""
    parts: list[FilterPart] = []
    for low, high, category in _RANGES:
        start, end = _first(applied, low), _first(applied, high)
        if start or end:
            label = day_range(
                dt.date.fromisoformat(start) if start else None,
                dt.date.fromisoformat(end) if end else None,
            )
            parts.append(FilterPart(category, label, _parameters(applied, low, high)))
    words = _value_labels(applied, codes)
    for name, category in _LISTED:
        for value in applied.get(name, ()):
            label = words[name].get(value, value)
            parts.append(FilterPart(category, label, ((name, value),)))
    hour_from, hour_to = _first(applied, "hour_from"), _first(applied, "hour_to")
    if hour_from is not None or hour_to is not None:
        parts.append(
            FilterPart(
                "Hour of the assault",
                _hours(hour_from, hour_to),
                _parameters(applied, "hour_from", "hour_to"),
            )
        )
    if (text := _first(applied, "q")) is not None:
        parts.append(FilterPart("Words in the location description", f"“{text}”", (("q", text),)))
    if (number := _first(applied, "release")) is not None:
        release = Release.objects.filter(number=number).first()
        label = f"Release {number}" + (f" ({release.label})" if release else "")
        parts.append(FilterPart("Data release", label, (("release", number),)))
    return parts


def _first(applied: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = applied.get(name)
    return values[0] if values else None


def _parameters(applied: Mapping[str, Sequence[str]], *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name in names for value in applied.get(name, ()))
