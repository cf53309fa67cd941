"""Postcode detection in free text, validated against the gazetteer.

A pattern match alone is never trusted: "M25", "A406" or "10 past 5" look like postcode
fragments, so every candidate must exist in the loaded gazetteer (unit, sector or
district) before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

# Outward code: A9, A9A, A99, AA9, AA9A, AA99. Inward: 9AA. Optional space between.
_UNIT = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")
_SECTOR = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s+([0-9])\b(?!\s*[A-Z]{2}\b)")
_DISTRICT = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\b")
# Inward letters never used by Royal Mail: C I K M O V.
_BAD_INWARD = set("CIKMOV")


@dataclass(frozen=True)
class PostcodeHit:
    """A validated postcode fragment: ``level`` is "unit", "sector" or "district"."""

    level: str
    code: str
    span: tuple[int, int]


def normalise_postcode(raw: str) -> str:
    """'e16an' / 'E1  6AN' → 'E1 6AN' (no validation)."""
    compact = re.sub(r"\s+", "", raw.upper())
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact


def find_postcodes(
    text: str,
    *,
    units: Container[str],
    sectors: Container[str],
    districts: Container[str],
) -> list[PostcodeHit]:
    """All validated postcode fragments in ``text``, most precise first, then by position.

    A full-looking postcode that is not a live unit (terminated, mistyped) degrades to
    its sector and then its district, if those exist.
    """
    upper = text.upper()
    hits: list[PostcodeHit] = []
    taken: list[tuple[int, int]] = []
    for m in _UNIT.finditer(upper):
        outward, inward = m.group(1), m.group(2)
        if set(inward[1:]) & _BAD_INWARD:
            continue
        unit = f"{outward} {inward}"
        if unit in units:
            hits.append(PostcodeHit("unit", unit, m.span()))
        elif f"{outward} {inward[0]}" in sectors:
            hits.append(PostcodeHit("sector", f"{outward} {inward[0]}", m.span()))
        elif outward in districts:
            hits.append(PostcodeHit("district", outward, m.span()))
        else:
            continue
        taken.append(m.span())
    for m in _SECTOR.finditer(upper):
        if any(a <= m.start() < b for a, b in taken):
            continue
        sector = f"{m.group(1)} {m.group(2)}"
        if sector in sectors:
            hits.append(PostcodeHit("sector", sector, m.span()))
            taken.append(m.span())
    for m in _DISTRICT.finditer(upper):
        if any(a <= m.start() < b for a, b in taken):
            continue
        if m.group(1) in districts:
            hits.append(PostcodeHit("district", m.group(1), m.span()))
    order = {"unit": 0, "sector": 1, "district": 2}
    hits.sort(key=lambda h: (order[h.level], h.span[0]))
    return hits
