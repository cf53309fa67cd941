"""/api/docs/: the API reference as a server-rendered page, built from the OpenAPI schema.

Swagger UI styles itself with inline ``style`` attributes, which the portal's
Content-Security-Policy blocks (no ``'unsafe-inline'``), and fails WCAG checks the portal
must pass (contrast, nested interactive controls, target size). This page lists the same
operations, parameters, responses and schemas from the schema ``/api/schema/`` serves,
with the GOV.UK styles, and needs no script at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

from accounts.permissions import is_verified_session

METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    ref: str  # the schema this field's type names ("" for plain types)
    required: bool
    description: str
    location: str = ""  # where a parameter goes: path, query, header


@dataclass(frozen=True)
class Body:
    status: str  # "" for a request body
    description: str
    content_types: tuple[str, ...]
    type: str
    ref: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    parameters: list[Field] = field(default_factory=list)
    request_body: Body | None = None
    responses: list[Body] = field(default_factory=list)


@dataclass(frozen=True)
class SchemaObject:
    name: str
    anchor: str
    description: str
    type: str
    fields: list[Field]


def describe_type(schema: dict[str, Any]) -> tuple[str, str]:
    """A schema's type in words and the name of the component it refers to, if any."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(REF_PREFIX)
        return name, name
    for combiner in ("allOf", "oneOf", "anyOf"):
        if schema.get(combiner):
            parts = [describe_type(part) for part in schema[combiner]]
            ref = next((r for _, r in parts if r), "")
            return " or ".join(t for t, _ in parts), ref
    kind = str(schema.get("type", "any"))
    if kind == "array":
        item, ref = describe_type(schema.get("items", {}))
        return f"array of {item}", ref
    words = kind
    if schema.get("format"):
        words += f" ({schema['format']})"
    if schema.get("enum"):
        words += ": one of " + ", ".join(str(value) for value in schema["enum"] if value)
    if schema.get("nullable"):
        words += ", or null"
    return words, ""


def _parameter(raw: dict[str, Any]) -> Field:
    kind, ref = describe_type(raw.get("schema", {}))
    return Field(
        name=raw["name"],
        type=kind,
        ref=ref,
        required=bool(raw.get("required")),
        description=raw.get("description", ""),
        location=raw.get("in", ""),
    )


def _body(status: str, raw: dict[str, Any]) -> Body:
    content = raw.get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {})
    kind, ref = describe_type(first.get("schema", {})) if first else ("", "")
    return Body(
        status=status,
        description=raw.get("description", ""),
        content_types=tuple(content),
        type=kind,
        ref=ref,
    )


def _anchor(method: str, path: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in path.strip("/"))
    return f"{method}-{slug}".strip("-")


def operations(schema: dict[str, Any]) -> list[Operation]:
    """Every operation in the schema, in the schema's order of paths."""
    found = []
    for path, item in schema.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            body = raw.get("requestBody")
            responses = sorted(raw.get("responses", {}).items())
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    anchor=_anchor(method, path),
                    summary=raw.get("summary", ""),
                    description=raw.get("description", ""),
                    parameters=[_parameter(p) for p in [*shared, *raw.get("parameters", [])]],
                    request_body=_body("", body) if body else None,
                    responses=[_body(status, response) for status, response in responses],
                )
            )
    return found


def schema_objects(schema: dict[str, Any]) -> list[SchemaObject]:
    """The named schemas that requests and responses refer to, with their fields."""
    found = []
    for name, raw in schema.get("components", {}).get("schemas", {}).items():
        required = set(raw.get("required", []))
        fields = []
        for prop, prop_schema in raw.get("properties", {}).items():
            kind, ref = describe_type(prop_schema)
            if prop_schema.get("readOnly"):
                kind += ", read only"
            fields.append(
                Field(prop, kind, ref, prop in required, prop_schema.get("description", ""))
            )
        kind, _ = describe_type(raw)
        found.append(SchemaObject(name, f"schema-{name}", raw.get("description", ""), kind, fields))
    return found


def api_schema() -> dict[str, Any]:
    """The schema /api/schema/ serves (the same generator and settings)."""
    return dict(SchemaGenerator().get_schema(request=None, public=True))


@login_required
@require_GET
def api_reference(request: HttpRequest) -> HttpResponse:
    # The API's own rule (IsVerifiedUser): a session that passed MFA. The MFA middleware
    # leaves /api/ to the API's checks, so this page makes the check itself.
    if not is_verified_session(request):
        raise PermissionDenied
    schema = api_schema()
    context = {
        "info": schema.get("info", {}),
        "operations": operations(schema),
        "schemas": schema_objects(schema),
    }
    return render(request, "api/reference.html", context)
