"""The ISTV template: the standard columns of a tabular ISTV file, in order.

This one list is what the upload page offers as a CSV and an Excel template, what the
synthetic generator writes for its ISTV-style layout, and what :func:`template_mapping`
recognises: a file whose header is the template's (any case, optional columns may be
left out) needs no mapping to be confirmed, as an ISTV XML or ECDS file does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .types import ColumnMapping, Field


@dataclass(frozen=True, slots=True)
class TemplateColumn:
    field: Field
    header: str
    required: bool
    description: str  # plain English for the upload page and the template's notes


ISTV_TEMPLATE: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        Field.ARRIVAL_DATE,
        "Arrival Date",
        False,
        "The date the patient arrived at the Emergency Department (dd/mm/yyyy).",
    ),
    TemplateColumn(
        Field.ARRIVAL_TIME,
        "Arrival Time",
        False,
        "The time of arrival on the 24-hour clock (hh:mm).",
    ),
    TemplateColumn(
        Field.ASSAULT_DATE,
        "Assault Date",
        True,
        "The date of the assault (dd/mm/yyyy), in the month you are sending.",
    ),
    TemplateColumn(
        Field.ASSAULT_TIME,
        "Assault Time",
        False,
        "The time of the assault on the 24-hour clock (hh:mm); blank if not known.",
    ),
    TemplateColumn(
        Field.METHOD,
        "Assault Method",
        True,
        "How the person was assaulted: a method name or national code "
        "(for example Fist, Knife, Bottle, Other, Not known).",
    ),
    TemplateColumn(
        Field.METHOD_OTHER,
        "Method Other",
        False,
        "A short description when the method is Other. No names or other personal details.",
    ),
    TemplateColumn(
        Field.LOCATION_TYPE,
        "Location Type",
        True,
        "The kind of place: a location type name or national code "
        "(for example Street, Pub, Park, Not known).",
    ),
    TemplateColumn(
        Field.LOCATION_DESCRIPTION,
        "Location Description",
        False,
        "Where it happened, as precisely as known (for example a street, junction or "
        "venue). Never the patient's own address or other personal details.",
    ),
)
TEMPLATE_HEADER: tuple[str, ...] = tuple(c.header for c in ISTV_TEMPLATE)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


_BY_HEADER = {_norm(c.header): c for c in ISTV_TEMPLATE}


def template_mapping(columns: Sequence[str]) -> ColumnMapping | None:
    """The mapping for a file laid out as the ISTV template, else None.

    Every column must be one of the template's and every required one present (optional
    ones may be left out); anything else is an unseen layout, mapped as usual."""
    found: dict[Field, str] = {}
    for column in columns:
        entry = _BY_HEADER.get(_norm(column))
        if entry is None or entry.field in found:
            return None
        found[entry.field] = column
    if any(c.required and c.field not in found for c in ISTV_TEMPLATE):
        return None
    return ColumnMapping(
        columns={c.field: found[c.field] for c in ISTV_TEMPLATE if c.field in found}
    )
