"""Errors under /api/ are JSON (``{"detail": ...}``), never the HTML pages, and the list
endpoints' envelopes are what the schema says."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.management import call_command

from istv_portal.errors import server_error

pytestmark = pytest.mark.django_db


def test_unknown_api_url_answers_json_404(client, api_as, mps_analyst) -> None:
    for caller in (client, api_as(mps_analyst)):
        response = caller.get("/api/v1/no-such-endpoint/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}


def test_unknown_page_url_still_answers_the_html_page(client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_api_server_error_answers_json(rf) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = server_error(rf.get("/api/v1/incidents/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"detail"}
    assert "boom" not in response.content.decode()


def test_schema_documents_envelopes_errors_and_choices(tmp_path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path in ("/api/v1/hospitals/", "/api/v1/releases/", "/api/v1/saved-queries/"):
        ok = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        component = ok["$ref"].rsplit("/", 1)[-1]
        assert "results" in schema["components"]["schemas"][component]["properties"], path
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert {"403", "404"} <= set(operation["responses"]), (method, path)
    parameters = {p["name"]: p for p in paths["/api/v1/incidents/"]["get"]["parameters"]}
    assert "E09000028" in parameters["borough"]["schema"]["items"]["enum"]
    assert parameters["weekday"]["schema"]["items"]["enum"] == [1, 2, 3, 4, 5, 6, 7]
