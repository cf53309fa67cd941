"""The HTTP response of a download: streamed, optionally zipped with its data dictionary
and manifest, and audited when it starts and again when its last byte is handed over.

The API's export views (``incidents.api.views``) answer with ``stream_response``; the
workspace's download page (``incidents.views.downloads``) hands off to them. Unlike the
rest of this package it touches the database: the two audit events and the
organisations the recipient acts for.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from accounts.audit.models import Action
from accounts.models import User
from incidents.exports.fields import FieldSpec, data_dictionary_csv
from incidents.exports.manifest import Recipient, build_manifest, manifest_json
from incidents.exports.package import ZipPackage
from incidents.exports.streams import ExportStream
from incidents.models import Release
from incidents.services import data_access_record, data_organisation


def stream_response(
    request: HttpRequest,
    *,
    user: User,
    stream: ExportStream,
    zipped: bool,
    base_name: str,
    fields: list[FieldSpec],
    filters: dict[str, Any],
    release: Release | None,
    row_count: int,
    purpose: str | None,
    disclosure_note: str | None,
    endpoint: str,
) -> StreamingHttpResponse:
    """Audit the start, stream (optionally zipped), audit the end with the SHA-256."""
    organisation = data_organisation(user)
    generated_at = timezone.now()
    export_format = stream.extension
    common = {
        "organisations": _acting_for(user),
        "format": export_format,
        "package": "zip" if zipped else None,
        "purpose": purpose,
        "release": release.number if release is not None else None,
        "disclosure_control": disclosure_note is not None,
    }
    # Before the first byte: a client that disconnects mid-way is still on the record,
    # with the row count computed by COUNT. The stream's own row count and SHA-256 are
    # recorded by a second event once the last byte has been handed over (audit rows
    # are append-only, so the first cannot be completed later).
    data_access_record(
        action=Action.DATA_DOWNLOADED,
        actor=user,
        endpoint=endpoint,
        filters=filters,
        row_count=row_count,
        request=request,
        organisation=organisation,
        extra={**common, "stage": "started"},
    )

    def finished(done: Any) -> None:
        data_access_record(
            action=Action.DATA_DOWNLOADED,
            actor=user,
            endpoint=endpoint,
            filters=filters,
            row_count=stream.row_count,
            request=request,
            organisation=organisation,
            extra={**common, "stage": "completed", "sha256": done.sha256, "bytes": done.size},
        )

    recipient = Recipient(
        email=user.email, organisations=[organisation.name] if organisation else []
    )

    def manifest(data: ExportStream) -> bytes:
        return manifest_json(
            build_manifest(
                query=filters,
                release=release.label if release is not None else None,
                row_count=data.row_count,
                export_format=export_format,
                recipient=recipient,
                generated_at=generated_at,
                data_file_name=f"{base_name}.{export_format}",
                data_sha256=data.sha256,
                data_bytes=data.size,
                fields=[f.name for f in fields],
                disclosure_note=disclosure_note,
                purpose=purpose,
            )
        )

    body: Any
    if zipped:
        body = ZipPackage(
            stream,
            base_name=base_name,
            dictionary=data_dictionary_csv(fields),
            manifest=manifest,
            on_complete=finished,
        )
    else:
        stream.on_complete = finished
        body = stream
    response = StreamingHttpResponse(body, content_type=body.content_type)
    response["Content-Disposition"] = f'attachment; filename="{base_name}.{body.extension}"'
    _describe_export(
        response,
        row_count=row_count,
        filters=filters,
        release=release,
        generated_at=generated_at,
        fields=fields,
        disclosure_note=disclosure_note,
    )
    return response


def _acting_for(user: User) -> list[str]:
    """Every organisation the user acts for, not only the one the grant came from."""
    return sorted(
        user.memberships.filter(is_active=True, organisation__is_active=True)
        .values_list("organisation__name", flat=True)
        .distinct()
    )


def _describe_export(
    response: StreamingHttpResponse,
    *,
    row_count: int,
    filters: dict[str, Any],
    release: Release | None,
    generated_at: dt.datetime,
    fields: list[FieldSpec],
    disclosure_note: str | None,
) -> None:
    """The ``X-Export-*`` headers: what the manifest says, for a client without the zip."""
    response["X-Export-Row-Count"] = str(row_count)
    response["X-Export-Query"] = json.dumps(filters, sort_keys=True)
    response["X-Export-Release"] = release.label if release is not None else ""
    response["X-Export-Generated-At"] = generated_at.astimezone(dt.UTC).isoformat()
    response["X-Export-Fields"] = ",".join(f.name for f in fields)
    if disclosure_note:
        response["X-Disclosure-Control"] = disclosure_note.encode("ascii", "replace").decode()
