"""Reference data for harmonisation: the editable code list and value synonyms.

Data managers edit ``HarmonisedCode`` (label, description, active) and ``ValueSynonym``
(source value → code, for every hospital or one site). Submission processing reads them
through :func:`code_references_for_site`; the built-in lists in
``incidents.codes`` stay the fallback for values the tables do not cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest

from accounts.audit.denials import OutOfScope
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from accounts.roles import is_data_manager
from hospitals.models import HospitalSite
from incidents.geocoding.service import ALIAS_VERSION_SQL
from incidents.models import HarmonisedCode, ValueSynonym
from ingest.pipeline.harmonise import CodeReference, norm_label

Kind = HarmonisedCode.Kind


def is_reference_editor(user: User | None) -> bool:
    """Only data managers maintain the reference data."""
    return user is not None and is_data_manager(user)


def _require_editor(user: User | None, object_type: str, object_id: int | str = "") -> None:
    if not is_reference_editor(user):
        raise OutOfScope(object_type=object_type, object_id=object_id)


# --- reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    """Both reference tables as read at one version."""

    version: int
    codes: tuple[tuple[str, str, bool], ...]  # (kind, code, is_active)
    synonyms: tuple[tuple[str, str, str, str], ...]  # (kind, source, value, code)
    by_site: dict[str, dict[str, CodeReference | None]] = field(default_factory=dict)


# This process's copy of the tables (a worker keeps it from file to file).
_tables: _Tables | None = None


def _reference_version() -> int:
    """The tables' version: set from a sequence by triggers on both tables in the
    transaction of every change (migration ``incidents.0012_reference_version``), so it
    never names two states of the tables."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM incidents_referenceversion WHERE id = 1")
        return int(cursor.fetchone()[0])


def reference_and_alias_versions() -> tuple[int, tuple[int, object]]:
    """The tables' version and the geocoder's learned aliases' version, read in one round
    trip: a worker checks both at the start of every file (pass them on to
    :func:`code_references_for_site` and ``get_geocoder``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.version, a.* FROM incidents_referenceversion r,"  # noqa: S608
            f" ({ALIAS_VERSION_SQL}) a WHERE r.id = 1"
        )
        version, aliases, latest = cursor.fetchone()
    return int(version), (int(aliases), latest)


def _reference_tables(version: int | None = None) -> _Tables:
    """The tables, read again only when their version moved. The version is read before
    the rows (or was, by the caller): rows newer than it are read again at the next
    check, never kept as current under a newer version."""
    global _tables
    if version is None:
        version = _reference_version()
    if _tables is None or _tables.version != version:
        _tables = _Tables(
            version=version,
            codes=tuple(HarmonisedCode.objects.values_list("kind", "code", "is_active")),
            synonyms=tuple(ValueSynonym.objects.values_list("kind", "source", "value", "code")),
        )
    return _tables


def code_references_for_site(
    site_code: str, *, version: int | None = None
) -> dict[str, CodeReference | None]:
    """Synonyms (site rows over all-hospital rows) and active codes, per coded field.

    One query per file while the tables are unchanged (their version), three when they
    changed; none for the version when the caller has just read it (``version``, from
    :func:`reference_and_alias_versions`). A field whose code table is empty gets None,
    so the pipeline keeps to its built-in lists. Callers must not change what they are
    given (it is shared).
    """
    tables = _reference_tables(version)
    cached = tables.by_site.get(site_code)
    if cached is None:
        cached = tables.by_site[site_code] = _references(tables, site_code)
    return cached


def _references(tables: _Tables, site_code: str) -> dict[str, CodeReference | None]:
    active: dict[str, set[str]] = {Kind.METHOD: set(), Kind.LOCATION_TYPE: set()}
    known: set[str] = set()
    for kind, code, is_active in tables.codes:
        known.add(kind)
        if is_active:
            active.setdefault(kind, set()).add(code)
    synonyms: dict[str, dict[str, str]] = {Kind.METHOD: {}, Kind.LOCATION_TYPE: {}}
    rows = [r for r in tables.synonyms if r[1] in ("", site_code)]
    # All-hospital rows first, so the site's own rows overwrite them (the order within
    # each is the table's, as the query ordered it before).
    for kind, _source, value, code in sorted(rows, key=lambda r: (r[1] != "", r[0], r[1], r[2])):
        synonyms.setdefault(kind, {})[value] = code
    return {
        kind: (
            CodeReference(synonyms=synonyms[kind], active=frozenset(active[kind]))
            if kind in known
            else None
        )
        for kind in (Kind.METHOD, Kind.LOCATION_TYPE)
    }


# --- writes -----------------------------------------------------------------------------


def _code_state(code: HarmonisedCode) -> dict[str, object]:
    return {"label": code.label, "description": code.description, "is_active": code.is_active}


@transaction.atomic
def harmonised_code_update(
    *,
    actor: User,
    code: HarmonisedCode,
    label: str,
    description: str,
    is_active: bool,
    request: HttpRequest | None = None,
) -> HarmonisedCode:
    """Change a code's label, description or active flag (the code itself is immutable)."""
    _require_editor(actor, "incidents.harmonisedcode", code.pk)
    locked = HarmonisedCode.objects.select_for_update().get(pk=code.pk)
    label = label.strip()
    if not label:
        raise ValidationError({"label": "A label is required."})
    before = _code_state(locked)
    locked.label, locked.description, locked.is_active = label, description.strip(), is_active
    locked.full_clean()
    locked.save(update_fields=["label", "description", "is_active"])
    after = _code_state(locked)
    if before != after:
        audit_record(
            action=Action.MAPPING_CHANGED,
            actor=actor,
            obj=locked,
            details={
                "change": "code_updated",
                "kind": locked.kind,
                "code": locked.code,
                "before": before,
                "after": after,
            },
            request=request,
        )
    return locked


def _synonym_state(synonym: ValueSynonym) -> dict[str, str]:
    return {
        "kind": synonym.kind,
        "source": synonym.source,
        "value": synonym.value,
        "code": synonym.code,
    }


@transaction.atomic
def value_synonym_add(
    *,
    actor: User,
    kind: str,
    source: str,
    value: str,
    code: str,
    request: HttpRequest | None = None,
) -> ValueSynonym:
    """Map a source value to an active code, for every hospital (``source`` blank) or
    one site (its site code). Re-adding an existing value replaces its code."""
    _require_editor(actor, "incidents.valuesynonym")
    if kind not in Kind.values:
        raise ValidationError({"kind": "Unknown kind."})
    source = source.strip().upper()
    if source and not HospitalSite.objects.filter(site_code=source).exists():
        raise ValidationError({"source": "Unknown site code."})
    key = norm_label(value)[:200]
    if not key:
        raise ValidationError({"value": "A value is required."})
    if not HarmonisedCode.objects.filter(kind=kind, code=code, is_active=True).exists():
        raise ValidationError({"code": "Choose an active code of this kind."})
    existing = (
        ValueSynonym.objects.select_for_update().filter(kind=kind, source=source, value=key).first()
    )
    before = _synonym_state(existing) if existing else None
    if existing is None:
        synonym = ValueSynonym.objects.create(kind=kind, source=source, value=key, code=code)
    else:
        existing.code = code
        existing.save(update_fields=["code"])
        synonym = existing
    audit_record(
        action=Action.MAPPING_CHANGED,
        actor=actor,
        obj=synonym,
        details={"change": "synonym_added", "before": before, "after": _synonym_state(synonym)},
        request=request,
    )
    return synonym


@transaction.atomic
def value_synonym_delete(
    *, actor: User, synonym: ValueSynonym, request: HttpRequest | None = None
) -> None:
    """Remove a synonym; values it covered fall back to the built-in lists."""
    _require_editor(actor, "incidents.valuesynonym", synonym.pk)
    locked = ValueSynonym.objects.select_for_update().filter(pk=synonym.pk).first()
    if locked is None:
        return
    before = _synonym_state(locked)
    audit_record(
        action=Action.MAPPING_CHANGED,
        actor=actor,
        obj=locked,
        details={"change": "synonym_deleted", "before": before, "after": None},
        request=request,
    )
    locked.delete()
