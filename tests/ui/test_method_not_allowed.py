"""Opening an action URL (POST only) in the browser gives the portal's own 405 page, with
the status and the ``Allow`` header kept; the API's 405 stays JSON."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import api_token_create
from tests.factories import login_verified

pytestmark = pytest.mark.django_db
PAGE_HEADING = "This address is for a button, not a page"


def _assert_portal_405(response) -> None:
    html = response.content.decode()
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"].startswith("text/html")
    assert PAGE_HEADING in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html  # base.html
    assert reverse("home") in html  # says where to go


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("ingest:submission_publish", {"pk": 1}),
        ("ingest:reference_synonym_delete", {"pk": 1}),
        ("accounts:token_revoke", {"pk": 1}),
    ],
)
def test_get_on_an_action_url_is_the_portal_405_page(
    client: Client, data_manager: User, name: str, kwargs: dict[str, int]
) -> None:
    login_verified(client, data_manager)
    _assert_portal_405(client.get(reverse(name, kwargs=kwargs)))


def test_a_client_that_takes_no_html_keeps_the_empty_405(client: Client, data_manager) -> None:
    login_verified(client, data_manager)
    url = reverse("ingest:submission_publish", kwargs={"pk": 1})
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.content == b""


def test_api_405_stays_json(liaison_a: User) -> None:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(actor=liaison_a, name='t', days=5).key}"
    )
    url = reverse("submissions_api:submission_list")
    response = client.delete(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert "DELETE" in response.json()["detail"]
    # Even a client that asks for HTML gets the API's own answer, never the portal page.
    response = client.delete(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 405 and PAGE_HEADING not in response.content.decode()
