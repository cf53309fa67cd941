"""The columns of an incident export and the data dictionary that travels with it.

Which columns a given user receives (precision masking, free text) is decided by the
query layer; this module only describes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "code", "integer", "number", "date", "time", "datetime"]


@dataclass(frozen=True)
class FieldSpec:
    """One export column: its machine name, a short label and what it means."""

    name: str
    label: str
    description: str
    kind: FieldKind = "text"


INCIDENT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "Record ID", "The portal's identifier of the assault attendance.", "integer"),
    FieldSpec(
        "hospital",
        "Hospital site",
        "ODS site code of the emergency department that recorded the attendance.",
        "code",
    ),
    FieldSpec(
        "hospital_label",
        "Hospital site name",
        "Name of the hospital site (ODS site name); empty when the code is empty.",
        "text",
    ),
    FieldSpec(
        "assault_date",
        "Assault date",
        "Date of the assault as reported by the patient (ISO 8601); often approximate.",
        "date",
    ),
    FieldSpec(
        "assault_time",
        "Assault time",
        "Date and time of the assault in London local time with its UTC offset (ISO 8601, "
        "e.g. 2026-07-04T23:15:00+01:00 in summer, +00:00 in winter), to the second; empty "
        "when the time is not known (the date alone is in Assault date).",
        "datetime",
    ),
    FieldSpec(
        "arrival_datetime",
        "Arrival at ED",
        "Date and time of arrival at the emergency department in London local time with its "
        "UTC offset (ISO 8601, as Assault time), so the two compare directly.",
        "datetime",
    ),
    FieldSpec(
        "borough",
        "Borough",
        "GSS code of the London borough where the assault took place; empty when the "
        "incident has no mappable place (see Location class).",
        "code",
    ),
    FieldSpec(
        "borough_label",
        "Borough name",
        "Name of the borough from the gazetteer; empty when the borough code is.",
        "text",
    ),
    FieldSpec("ward", "Ward", "GSS code of the electoral ward of the assault location.", "code"),
    FieldSpec(
        "ward_label",
        "Ward name",
        "Name of the electoral ward from the gazetteer; empty when the ward code is.",
        "text",
    ),
    FieldSpec(
        "lsoa",
        "LSOA",
        "GSS code of the Lower Layer Super Output Area (2021) of the assault location.",
        "code",
    ),
    FieldSpec(
        "lat",
        "Latitude",
        "WGS84 latitude of the location at the precision your access allows (exact, "
        "snapped within the borough, or the LSOA centroid); empty when not located.",
        "number",
    ),
    FieldSpec(
        "lon",
        "Longitude",
        "WGS84 longitude, at the same precision as the latitude.",
        "number",
    ),
    FieldSpec(
        "precision",
        "Location precision",
        "How precisely the location is known or shown (for example exact point, snapped "
        "point, LSOA centroid, borough only, not located).",
        "code",
    ),
    FieldSpec(
        "geo_class",
        "Location class",
        "place (geocoded to a point), or why there is no point: home, vague, unknown, "
        "abroad, outside_london, chain_without_place. Every class is counted.",
        "code",
    ),
    FieldSpec(
        "method",
        "Assault method",
        "Harmonised assault method (body part, blunt object, knife or sharp object, glass or "
        "bottle, firearm, corrosive or noxious substance, other, not known).",
        "code",
    ),
    FieldSpec(
        "method_label",
        "Assault method name",
        "Label of the harmonised assault method code beside it; empty when the code is.",
        "text",
    ),
    FieldSpec(
        "location_type",
        "Location type",
        "Harmonised type of place (dwelling, street, park, licensed premises, other "
        "commercial, public transport, workplace, school, healthcare or custody, other, "
        "not known).",
        "code",
    ),
    FieldSpec(
        "location_type_label",
        "Location type name",
        "Label of the harmonised location type code beside it; empty when the code is.",
        "text",
    ),
    FieldSpec(
        "location_description",
        "Location description",
        "Free-text description of the place as recorded by the ED; present only where your "
        "access allows free text. Text starting with = + - @ or a control character is "
        "prefixed with ' so spreadsheets do not run it.",
        "text",
    ),
)

DICTIONARY_COLUMNS = ("field", "label", "type", "description")


def data_dictionary(fields: Sequence[FieldSpec]) -> list[dict[str, str]]:
    """The data dictionary as rows (for the web page and the API)."""
    return [
        {"field": f.name, "label": f.label, "type": f.kind, "description": f.description}
        for f in fields
    ]


def data_dictionary_csv(fields: Sequence[FieldSpec]) -> bytes:
    """The data dictionary as a small CSV file (UTF-8) for export packages."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(DICTIONARY_COLUMNS)
    for row in data_dictionary(fields):
        writer.writerow([row[column] for column in DICTIONARY_COLUMNS])
    return buffer.getvalue().encode("utf-8")
