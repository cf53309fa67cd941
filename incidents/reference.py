"""Incident reference data: seeding the harmonised codes and value synonyms.

The code lists of the data standard live as plain data in ``incidents/codes.py``; this
copies them into the editable ``HarmonisedCode`` and ``ValueSynonym``
tables. Seeding is idempotent and never overwrites a row a data manager has edited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from incidents import codes

METHOD, LOCATION_TYPE = "method", "location_type"


def reference_codes() -> Iterator[dict[str, Any]]:
    """The harmonised categories, in display order."""
    for kind, labels in (
        (METHOD, codes.METHOD_LABELS),
        (LOCATION_TYPE, codes.LOCATION_TYPE_LABELS),
    ):
        for order, (code, label) in enumerate(labels.items()):
            yield {"kind": kind, "code": str(code), "label": label, "sort_order": order}


def reference_synonyms() -> Iterator[dict[str, str]]:
    """Source value → code for every hospital (``source`` blank): national codes, SNOMED
    concepts and trust labels. Keywords stay in code (they are patterns, not values)."""
    seen: set[tuple[str, str]] = set()
    groups: tuple[tuple[str, Any], ...] = (
        (METHOD, ((e.source_code, e.code) for e in codes.NATIONAL_METHOD_CODES)),
        (METHOD, ((e.source_code, e.code) for e in codes.SNOMED_METHOD)),
        (METHOD, codes.METHOD_LABEL_SYNONYMS.items()),
        (LOCATION_TYPE, ((e.source_code, e.code) for e in codes.NATIONAL_LOCATION_CODES)),
        (LOCATION_TYPE, ((e.source_code, e.code) for e in codes.SNOMED_LOCATION)),
        (LOCATION_TYPE, codes.LOCATION_LABEL_SYNONYMS.items()),
    )
    for kind, pairs in groups:
        for value, code in pairs:
            key = (kind, str(value).strip().lower())
            if key in seen:
                continue
            seen.add(key)
            yield {"kind": kind, "source": "", "value": key[1][:200], "code": str(code)}


def reference_codes_seed(*, code_model: Any = None, synonym_model: Any = None) -> tuple[int, int]:
    """Insert missing codes and synonyms; returns how many rows were added.

    The models are parameters so the data migration can pass its historical models.
    """
    if code_model is None or synonym_model is None:
        from incidents.models import HarmonisedCode, ValueSynonym

        code_model, synonym_model = HarmonisedCode, ValueSynonym
    before = code_model.objects.count(), synonym_model.objects.count()
    code_model.objects.bulk_create(
        [code_model(**row) for row in reference_codes()], ignore_conflicts=True
    )
    synonym_model.objects.bulk_create(
        [synonym_model(**row) for row in reference_synonyms()], ignore_conflicts=True
    )
    return (
        code_model.objects.count() - before[0],
        synonym_model.objects.count() - before[1],
    )
