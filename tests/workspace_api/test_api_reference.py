"""/api/docs/: the API reference page is built from the schema /api/schema/ serves, so it
documents every operation, needs the API's sign-in, and works under the portal's CSP."""

from __future__ import annotations

import json
from html import escape

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def test_reference_lists_every_operation_and_schema(client: Client, login_as, mps_analyst):
    login_as(mps_analyst)
    schema = json.loads(client.get(reverse("api-schema"), {"format": "json"}).content)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()

    operations = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in METHODS
        if method in item
    ]
    assert len(operations) > 5  # the schema this is compared with is not empty
    for method, path in operations:
        heading = f'{method}</strong> <code class="portal-api-path">{escape(path)}</code>'
        assert heading in page, f"{method} {path} is missing from the reference"
        for parameter in schema["paths"][path][method.lower()].get("parameters", []):
            assert f"<code>{escape(parameter['name'])}</code>" in page
    for name in schema["components"]["schemas"]:
        assert f'id="schema-{name}"' in page, f"schema {name} is missing"
    assert f'href="{reverse("api-schema")}"' in page  # the raw schema stays one click away


def test_reference_needs_no_inline_style_or_script(client: Client, login_as, mps_analyst):
    login_as(mps_analyst)
    response = client.get(reverse("api-docs"))
    page = response.content.decode()
    assert " style=" not in page and "<style" not in page
    assert "<script>" not in page  # only the portal's own script files
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy


def test_reference_needs_the_apis_sign_in(client: Client):
    anonymous = client.get(reverse("api-docs"))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))

    # Signed in with a password only (no second factor): the API refuses, so does the page.
    client.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("api-docs")).status_code == 403
