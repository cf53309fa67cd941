"""Column mappings: the liaison confirms a mapping and the site's profile remembers it,
one version per confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.denials import OutOfScope
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from accounts.roles import is_data_manager
from hospitals.models import HospitalSite, MappingProfile, Submission
from ingest.pipeline import (
    ColumnMapping,
    Field,
)
from ingest.services.common import Status, submission_update
from ingest.services.receive import can_upload, submission_enqueue

# --- mapping ----------------------------------------------------------------------------


def _normalise_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """Source column → field. Accepts either direction (field → column is converted)."""
    fields = {f.value for f in Field}
    if (
        columns
        and all(k in fields for k in columns)
        and not all(v in fields for v in columns.values())
    ):
        columns = {v: k for k, v in columns.items()}
    bad = sorted(str(v) for v in columns.values() if v not in fields)
    if bad:
        raise ValidationError({"columns": f"Unknown field(s): {', '.join(bad[:10])}."})
    return {str(k): str(v) for k, v in columns.items()}


def profile_save(
    *,
    site: HospitalSite,
    mapping: ColumnMapping,
    source_columns: list[str],
    detected_format: str,
    actor: User | None,
    reason: str,
    request: HttpRequest | None = None,
    submission: Submission | None = None,
) -> MappingProfile:
    """Save a new version of the site's mapping; it becomes the current one. Earlier
    versions stay (a file in an earlier layout is still read with its version).

    Audited ``mapping.changed`` with ids and version numbers only: never column names or
    values from the file.
    """
    previous = MappingProfile.objects.filter(site=site).order_by("-version").first()
    profile = MappingProfile.objects.create(
        site=site,
        columns={c: f.value for f, c in mapping.columns.items()},
        value_mappings={f.value: dict(v) for f, v in mapping.values.items()},
        source_columns=list(source_columns),
        detected_format=detected_format,
        confirmed_by=actor if actor is not None and actor.pk else None,
        confirmed_at=timezone.now(),
    )
    audit_record(
        action=Action.MAPPING_CHANGED,
        actor=actor,
        organisation=site.organisation,
        obj=profile,
        details={
            "site_code": site.site_code,
            "reason": reason,
            "fields": sorted(profile.columns.values()),
            "version": profile.version,
            "previous_version": previous.version if previous else None,
            "previous_profile_id": previous.pk if previous else None,
            "submission_id": submission.pk if submission else None,
        },
        request=request,
    )
    return profile


def _carried_values(report: Mapping[str, Any], fields: set[str]) -> dict[str, dict[str, str]]:
    """The value mappings a changed layout's proposal kept from the previous version,
    for the fields still mapped."""
    proposal = report.get("proposal") or {}
    carried = (proposal.get("mapping") or {}).get("values") or {}
    return {
        str(f): {str(a): str(b) for a, b in v.items()}
        for f, v in carried.items()
        if str(f) in fields and isinstance(v, Mapping)
    }


@transaction.atomic
def submission_confirm_mapping(
    *,
    actor: User,
    submission: Submission,
    columns: Mapping[str, str],
    value_mappings: Mapping[str, Mapping[str, str]] | None = None,
    request: HttpRequest | None = None,
) -> Submission:
    """Save the confirmed mapping as a new version of the site's profile (its current
    one) and queue the same stored file again: no new upload.

    ``columns`` maps source column → field name (field → source column is accepted too);
    ``value_mappings`` maps field → {source value → harmonised code}, added to those the
    proposal carried over from the previous version.
    """
    site = submission.site
    if not (can_upload(actor, site) or is_data_manager(actor)):
        raise OutOfScope(object_type="hospitals.submission", object_id=submission.pk)
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.status not in (Status.MAPPING_NEEDED, Status.REJECTED):
        raise ValidationError("This submission does not need a mapping.")
    source_to_field = _normalise_columns(columns)
    values = _carried_values(locked.report or {}, set(source_to_field.values()))
    for f, v in (value_mappings or {}).items():
        values.setdefault(str(f), {}).update({str(a): str(b) for a, b in v.items()})
    try:
        mapping = ColumnMapping(
            columns={Field(f): c for c, f in source_to_field.items()},
            values={Field(f): v for f, v in values.items()},
        )
    except ValueError as exc:
        raise ValidationError({"value_mappings": "Unknown field."}) from exc
    report_columns = list((locked.report or {}).get("columns") or source_to_field)
    profile = profile_save(
        site=site,
        mapping=mapping,
        source_columns=report_columns,
        detected_format=locked.detected_format,
        actor=actor,
        reason="confirmed",
        request=request,
        submission=locked,
    )
    submission_update(
        locked,
        status=Status.RECEIVED,
        attempts=0,
        mapping=profile,
        progress=0,
        step="queued",
        error="",
        finished_at=None,
    )
    submission_id = locked.pk
    transaction.on_commit(lambda: submission_enqueue(submission_id=submission_id))
    return locked
