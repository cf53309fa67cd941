"""The reference tables are kept in memory between files and read again exactly when a
change to either table has been committed (or is visible in this transaction)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from incidents.models import HarmonisedCode, ValueSynonym
from ingest import reference_services as ref

pytestmark = pytest.mark.django_db


def _method_synonyms(site_code: str = "RJ122") -> dict[str, str]:
    method = ref.code_references_for_site(site_code)["method"]
    assert method is not None
    return dict(method.synonyms)


def test_unchanged_tables_cost_one_query() -> None:
    ref.code_references_for_site("RJ122")
    with CaptureQueriesContext(connection) as queries:
        ref.code_references_for_site("RJ122")
        ref.code_references_for_site("RJ999")
    assert len(queries) == 2  # the version, once per call


def test_any_change_to_either_table_is_seen_by_the_next_read() -> None:
    assert "zz knife" not in _method_synonyms()
    # Written directly (not through the services): the triggers see every change.
    synonym = ValueSynonym.objects.create(kind="method", source="", value="zz knife", code="other")
    assert _method_synonyms()["zz knife"] == "other"
    ValueSynonym.objects.filter(pk=synonym.pk).update(code="firearm")
    assert _method_synonyms()["zz knife"] == "firearm"
    ValueSynonym.objects.filter(pk=synonym.pk).delete()
    assert "zz knife" not in _method_synonyms()
    code = HarmonisedCode.objects.get(kind="method", code="firearm")
    HarmonisedCode.objects.filter(pk=code.pk).update(is_active=False)
    method = ref.code_references_for_site("RJ122")["method"]
    assert method is not None and "firearm" not in method.active


def test_a_rolled_back_change_is_forgotten() -> None:
    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        ValueSynonym.objects.create(kind="method", source="", value="zz bat", code="other")
        assert _method_synonyms()["zz bat"] == "other"
        raise Undo
    # The version went back with the rows, so the copy read inside is not current.
    assert "zz bat" not in _method_synonyms()
    # A later change never reuses a version number (a sequence), so it is never
    # mistaken for the rolled-back state either.
    ValueSynonym.objects.create(kind="method", source="", value="zz cosh", code="other")
    synonyms = _method_synonyms()
    assert synonyms["zz cosh"] == "other" and "zz bat" not in synonyms
