"""Permission-matrix rows for the reference-data pages: data managers only, 404 for
everyone else (run by tests/reference/test_permission_matrix.py, counted by the
submission matrix's URL-coverage check)."""

from __future__ import annotations

from django.urls import reverse

from incidents.models import HarmonisedCode, ValueSynonym
from tests.permission_matrix import Case, Fixture, everyone


def _code_edit(fx: Fixture) -> str:
    code = HarmonisedCode.objects.get(kind="method", code="firearm")
    return reverse("ingest:reference_code_edit", kwargs={"pk": code.pk})


def _synonym_delete(fx: Fixture) -> str:
    synonym = ValueSynonym.objects.filter(source="").order_by("pk").first()
    assert synonym is not None
    return reverse("ingest:reference_synonym_delete", kwargs={"pk": synonym.pk})


_code_edit.label = "ingest:reference_code_edit"  # type: ignore[attr-defined]
_synonym_delete.label = "ingest:reference_synonym_delete"  # type: ignore[attr-defined]

MANAGER = {"data_manager": 200}
REFERENCE_CASES: list[Case] = []
REFERENCE_CASES += everyone("GET", "ingest:reference_codes", allowed=MANAGER, others=404)
# An empty synonym form is a form error for the data manager.
REFERENCE_CASES += everyone(
    "POST", "ingest:reference_codes", allowed={"data_manager": 400}, others=404
)
REFERENCE_CASES += everyone("GET", _code_edit, allowed=MANAGER, others=404)
REFERENCE_CASES += everyone(
    "POST", _code_edit, allowed={"data_manager": 400}, others=404, data={"label": ""}
)
REFERENCE_CASES += everyone("POST", _synonym_delete, allowed={"data_manager": 302}, others=404)
# The police-recorded crime upload (ingest.police_crime_views): data managers only; an
# empty upload is a form error for them.
REFERENCE_CASES += everyone("GET", "ingest:police_crime_upload", allowed=MANAGER, others=404)
REFERENCE_CASES += everyone(
    "POST", "ingest:police_crime_upload", allowed={"data_manager": 400}, others=404
)
