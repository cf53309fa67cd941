"""Labels beside codes in record exports: ``method_label`` beside ``method`` and so on.

A label is looked up from the code the user receives (after masking), so it never says
more than the code does: where a code is empty, so is its label. The Python path adds
them with :func:`with_labels`; the PostgreSQL COPY path (``incidents.masking_sql``) looks
up the same maps, passed to it as ``jsonb``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hospitals.models import HospitalSite
from incidents.geocoding.models import Area
from incidents.models import HarmonisedCode

# Code column -> its label column, in export order.
LABELLED: dict[str, str] = {
    "hospital": "hospital_label",
    "borough": "borough_label",
    "ward": "ward_label",
    "method": "method_label",
    "location_type": "location_type_label",
}

Labels = dict[str, dict[str, str]]


def export_labels() -> Labels:
    """Code -> label for each labelled column: harmonised code labels, gazetteer names of
    boroughs and wards, hospital site names (three small queries)."""
    labels: Labels = {column: {} for column in LABELLED}
    for kind, code, label in HarmonisedCode.objects.values_list("kind", "code", "label"):
        if kind in labels:
            labels[kind][code] = label
    for kind, code, name in Area.objects.filter(
        kind__in=[Area.Kind.BOROUGH, Area.Kind.WARD]
    ).values_list("kind", "code", "name"):
        labels[kind][code] = name
    labels["hospital"] = dict(HospitalSite.objects.values_list("site_code", "name"))
    return labels


def with_labels(
    rows: Iterable[Mapping[str, Any]], labels: Labels | None = None
) -> Iterator[dict[str, Any]]:
    """Masked rows with a label beside each labelled code (``None`` for an empty or
    unknown code)."""
    maps = export_labels() if labels is None else labels
    pairs = [(code, label, maps[code]) for code, label in LABELLED.items()]
    for row in rows:
        out = dict(row)
        for code, label, names in pairs:
            value = row.get(code)
            out[label] = names.get(value) if value else None
        yield out
