"""Writes of the analyst workspace: saved queries, and the audit rows of data access.

Reads of incident data change nothing, but each one is on the record (every data access is audited):
``data_access_record`` writes the ``api.called`` / ``data.viewed`` / ``data.downloaded``
event with the filter as applied and the row count. Details never carry free text or
personal data: filter values have passed validation, and ``q`` is a search term.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.access import DATA_ROLES
from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import Membership, Organisation, User
from incidents.models import Release, SavedQuery


class SavedQueryError(ValueError):
    """The saved query cannot be created as asked."""


def data_organisation(user: User) -> Organisation | None:
    """The organisation whose grant a data access is made under (first data membership)."""
    membership = (
        Membership.objects.filter(
            user=user, is_active=True, organisation__is_active=True, role__in=DATA_ROLES
        )
        .select_related("organisation")
        .order_by("pk")
        .first()
    )
    return membership.organisation if membership is not None else None


def data_access_record(
    *,
    action: Action,
    actor: User,
    endpoint: str,
    filters: Mapping[str, Any],
    row_count: int | None,
    request: HttpRequest | None = None,
    organisation: Organisation | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Audit one read of incident data (a page, an API call, a download)."""
    details: dict[str, Any] = {"endpoint": endpoint, "filter": dict(filters), "rows": row_count}
    if extra:
        details.update(extra)
    # No transaction of its own: outside one, the append is a single statement that
    # commits at once, holding the audit chain's lock for no longer than the insert.
    audit_record(
        action=action,
        actor=actor,
        organisation=organisation if organisation is not None else data_organisation(actor),
        details=details,
        request=request,
    )


@transaction.atomic
def saved_query_create(
    *,
    actor: User,
    name: str,
    params: Mapping[str, list[str]],
    release: Release | None,
    shared_with_organisation: bool,
    request: HttpRequest | None = None,
) -> SavedQuery:
    """Save a filter for ``actor`` under their data organisation (optionally shared)."""
    organisation = data_organisation(actor)
    if organisation is None:
        raise SavedQueryError("Saving a query needs access to incident data.")
    saved = SavedQuery.objects.create(
        name=name,
        owner=actor,
        organisation=organisation,
        shared_with_organisation=shared_with_organisation,
        params=dict(params),
        release=release,
    )
    audit_record(
        action=Action.API_CALLED,
        actor=actor,
        organisation=organisation,
        obj=saved,
        details={
            "endpoint": "saved-queries",
            "operation": "create",
            "filter": dict(params),
            "shared": shared_with_organisation,
        },
        request=request,
    )
    return saved


@transaction.atomic
def saved_query_delete(
    *, actor: User, saved_query: SavedQuery, request: HttpRequest | None = None
) -> None:
    """Delete one of ``actor``'s own saved queries (the caller has checked ownership)."""
    if saved_query.owner_id != actor.pk:
        raise PermissionError("Only the owner can delete a saved query.")
    audit_record(
        action=Action.API_CALLED,
        actor=actor,
        organisation=saved_query.organisation,
        obj=saved_query,
        details={"endpoint": "saved-queries", "operation": "delete"},
        request=request,
    )
    saved_query.delete()
