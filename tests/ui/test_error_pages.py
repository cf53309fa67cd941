"""Error pages in the portal layout; a forced exception shows nothing internal."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.views.defaults import bad_request, permission_denied

from tests.ui.urls import CRASH_MESSAGE


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls", DEBUG=False, DEBUG_PROPAGATE_EXCEPTIONS=False)
def test_forced_exception_returns_generic_500(django_assert_max_num_queries) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/x/crash/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html
    for leak in (
        CRASH_MESSAGE,
        "RuntimeError",
        "Traceback",
        'File "',
        "SELECT",
        "DATABASES",
        "SECRET_KEY",
        str(settings.BASE_DIR),
        "csrfmiddlewaretoken",
    ):
        assert leak not in html, leak
    # The key itself (checked when long enough not to match ordinary words by chance).
    if len(settings.SECRET_KEY) >= 16:
        assert settings.SECRET_KEY not in html


@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("500.html", "Sorry, there is a problem with the service"),
        ("503.html", "Sorry, the service is unavailable"),
        ("400.html", "There was a problem with your request"),
    ],
)
def test_context_free_pages_render_without_context_or_database(name: str, heading: str) -> None:
    """Rendered with no context at all, and with database access blocked (no django_db
    mark: any query would raise), as when the failure is the database itself."""
    html = render_to_string(name)
    assert heading in html
    assert '<a href="#main-content" class="govuk-skip-link">' in html
    assert "govuk/govuk-frontend.min.css" in html
    assert "{{" not in html and "{%" not in html


@pytest.mark.django_db
def test_404_page_in_layout(client: Client) -> None:
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<title>Page not found \u2013 ISTV Portal</title>" in html
    assert "If you typed the web address, check it is correct." in html
    assert '<a href="#main-content" class="govuk-skip-link"' in html
    assert "/no-such-page/" not in html  # nothing echoed back


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("view", "exception", "status", "heading"),
    [
        (permission_denied, PermissionDenied, 403, "You do not have permission to do this"),
        (bad_request, SuspiciousOperation, 400, "There was a problem with your request"),
    ],
)
def test_refusal_pages_say_what_to_do_without_details(rf, view, exception, status, heading):
    response = view(rf.get("/"), exception("internal reason"))
    html = response.content.decode()
    assert response.status_code == status
    assert heading in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html
    assert "internal reason" not in html
