"""The manifest that accompanies every export: what was asked, for whom, and a
fingerprint of the data file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from django.core.serializers.json import DjangoJSONEncoder

MANIFEST_SCHEMA = "istv-export-manifest/1"


@dataclass(frozen=True)
class Recipient:
    """Who the export was generated for."""

    email: str
    organisations: Sequence[str]


class DataFileEntry(TypedDict):
    name: str
    format: str
    sha256: str
    bytes: int | None
    row_count: int


class RecipientEntry(TypedDict):
    email: str
    organisations: list[str]


class Manifest(TypedDict):
    schema: str
    query: dict[str, Any]
    release: str | None
    row_count: int
    format: str
    generated_for: RecipientEntry
    generated_at: str
    data_file: DataFileEntry
    fields: list[str]
    disclosure_control: str | None
    purpose: str | None


def build_manifest(
    *,
    query: Mapping[str, Any],
    release: str | None,
    row_count: int,
    export_format: str,
    recipient: Recipient,
    generated_at: datetime,
    data_file_name: str,
    data_sha256: str,
    data_bytes: int | None = None,
    fields: Sequence[str] = (),
    disclosure_note: str | None = None,
    purpose: str | None = None,
) -> Manifest:
    """Build the manifest. ``query`` is the filter as applied (parameter → value);
    ``generated_at`` must be timezone-aware and is written in UTC; ``disclosure_note`` is
    the note of the disclosure control applied (``None`` for record-level data)."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    return Manifest(
        schema=MANIFEST_SCHEMA,
        query=dict(query),
        release=release,
        row_count=row_count,
        format=export_format,
        generated_for=RecipientEntry(
            email=recipient.email, organisations=list(recipient.organisations)
        ),
        generated_at=generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        data_file=DataFileEntry(
            name=data_file_name,
            format=export_format,
            sha256=data_sha256,
            bytes=data_bytes,
            row_count=row_count,
        ),
        fields=list(fields),
        disclosure_control=disclosure_note,
        purpose=purpose,
    )


def manifest_json(manifest: Manifest) -> bytes:
    """The manifest as indented UTF-8 JSON (dates and decimals in the query allowed)."""
    text = json.dumps(manifest, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
