"""The OpenAPI schema generates without warnings and documents the contract."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    incidents = schema["paths"]["/api/v1/incidents/"]["get"]
    names = {p["name"] for p in incidents["parameters"]}
    contract = {
        "assault_date_from", "assault_date_to", "hospital", "borough", "method",
        "location_type", "weekday", "hour_from", "hour_to", "q", "release", "cursor",
    }  # fmt: skip
    assert contract <= names
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    assert "/api/v1/exports/incidents.{fmt}" in schema["paths"]


def test_schema_and_docs_need_sign_in(client, api_as, mps_analyst) -> None:
    assert client.get("/api/schema/").status_code in (302, 401, 403)
    response = api_as(mps_analyst).get("/api/schema/")
    assert response.status_code == 200
    assert b"ISTV Portal API" in response.content
