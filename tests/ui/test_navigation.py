"""The header shows each person only what their role allows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.context_processors import NAVIGATION
from accounts.models import Membership, Organisation
from tests.factories import TEST_PASSWORD, MembershipFactory
from tests.ui.conftest import with_verified_email

Role = Membership.Role
ALL_SECTIONS = {
    "Home",
    "Explore",
    "Dashboard",
    "Submissions",
    "Geocode review",
    "Use of your data",
    "Monitoring reports",
    "Manage access",
    "Audit log",
    "Agreements",
    "Case studies",
    "Guidance",
    "Impact",
    "API tokens",
    "Account security",
}


def nav_labels(html: str) -> set[str]:
    nav = re.search(r'<nav aria-label="Menu".*?</nav>', html, re.S)
    assert nav, "the service navigation is missing"
    links = re.findall(r'class="govuk-service-navigation__link"[^>]*>(.*?)</a>', nav.group(0), re.S)
    return {re.sub(r"<[^>]+>", "", link).strip() for link in links}


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
@pytest.mark.parametrize(
    ("role", "grant", "expected"),
    [
        (
            Role.ANALYST,
            True,
            {"Home", "Explore", "Dashboard", "Case studies", "API tokens", "Account security"},
        ),
        (Role.ANALYST, False, {"Home", "Case studies", "API tokens", "Account security"}),
        (
            Role.LIAISON,
            False,
            {
                "Home",
                "Submissions",
                "Use of your data",
                "Case studies",
                "Guidance",
                "API tokens",
                "Account security",
            },
        ),
        (
            Role.DATA_MANAGER,
            True,
            {
                "Home",
                "Explore",
                "Dashboard",
                "Submissions",
                "Geocode review",
                "Monitoring reports",
                "Agreements",
                "Case studies",
                "Guidance",
                "API tokens",
                "Account security",
            },
        ),
        (
            Role.ACCESS_ADMIN,
            False,
            {
                "Home",
                "Manage access",
                "Audit log",
                "Agreements",
                "Case studies",
                "Impact",
                "API tokens",
                "Account security",
            },
        ),
        # A grant to the organisation gives no data access to a role that does not use data.
        (
            Role.ACCESS_ADMIN,
            True,
            {
                "Home",
                "Manage access",
                "Audit log",
                "Agreements",
                "Case studies",
                "Impact",
                "API tokens",
                "Account security",
            },
        ),
    ],
)
def test_navigation_matches_role(client, signed_in_as, role, grant, expected):
    # Access administration is a GLA role (accounts.selectors.is_access_admin).
    kind = Organisation.Kind.GLA if role == Role.ACCESS_ADMIN else Organisation.Kind.MPS
    signed_in_as(role, grant=grant, kind=kind)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert nav_labels(html) == expected
    # Home lists the same sections as things to do next (all but Home itself).
    for label in ALL_SECTIONS - expected:
        assert f">{label}</a>" not in html


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
def test_revoked_grant_removes_data_sections(client, signed_in_as):
    from django.utils import timezone

    from accounts.models import AccessGrant

    signed_in_as(Role.ANALYST)
    assert "Explore" in nav_labels(client.get(reverse("home")).content.decode())
    AccessGrant.objects.update(revoked_at=timezone.now())
    assert "Explore" not in nav_labels(client.get(reverse("home")).content.decode())


@pytest.mark.django_db
def test_sections_without_views_are_not_linked(client, signed_in_as):
    """Only URL names that resolve are shown, so the live header never links to a 404."""
    signed_in_as(Role.ACCESS_ADMIN, grant=False, kind=Organisation.Kind.GLA)
    html = client.get(reverse("home")).content.decode()
    assert "Manage access" in nav_labels(html)
    for href in re.findall(r'class="govuk-service-navigation__link" href="([^"]+)"', html):
        assert client.get(href, follow=True).status_code == 200, href


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
def test_current_section_is_marked(client, signed_in_as):
    signed_in_as(Role.ANALYST)
    html = client.get(reverse("home")).content.decode()
    assert re.search(r'href="/" aria-current="page">\s*<strong[^>]*>Home</strong>', html)
    assert html.count('aria-current="page"') == 1


@pytest.mark.django_db
def test_sign_out_is_a_post_form(client, signed_in_as):
    signed_in_as(Role.ANALYST)
    html = client.get(reverse("home")).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form and form.group(1) == reverse("account_logout")
    assert "csrfmiddlewaretoken" in form.group(2)
    assert "Sign out" in form.group(2)


@pytest.mark.django_db
def test_password_only_session_sees_no_sections(client):
    """Half-way through sign-in (no second factor yet) the header offers nothing to follow."""
    membership = MembershipFactory(
        role=Role.ANALYST, organisation__kind=Organisation.Kind.MPS, user__with_mfa=False
    )
    with_verified_email(membership.user)
    client.post(
        reverse("account_login"), {"login": membership.user.email, "password": TEST_PASSWORD}
    )
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain, "a password-only session must be sent to MFA set-up"
    assert nav_labels(response.content.decode()) == set()
    assert "Sign out" in response.content.decode()


@pytest.mark.django_db
def test_anonymous_visitor_sees_no_navigation(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'aria-label="Menu"' not in html
    assert "Sign out" not in html


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
@pytest.mark.parametrize(
    ("role", "kind"),
    [(Role.ANALYST, Organisation.Kind.MPS), (Role.ACCESS_ADMIN, Organisation.Kind.GLA)],
)
def test_navigation_costs_few_queries_once_per_request(
    rf, django_assert_max_num_queries, role, kind
):
    from accounts.context_processors import navigation
    from tests.factories import AccessGrantFactory

    membership = MembershipFactory(role=role, organisation__kind=kind)
    AccessGrantFactory(organisation=membership.organisation)
    request = rf.get("/")
    request.user = membership.user
    # A session whose sign-in included the second factor, as allauth records it.
    request.session = {
        "account_authentication_methods": [{"method": "mfa", "at": 0}],
        "account_authentication_methods_user": str(membership.user.pk),
    }
    with django_assert_max_num_queries(3):
        first = navigation(request)
    with django_assert_max_num_queries(0):
        assert navigation(request) is first
    assert first["nav_links"]


# The layout's own links: templates/base.html and the includes it pulls in.
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LAYOUT_TEMPLATES = [TEMPLATES / "base.html", *sorted((TEMPLATES / "includes").glob("*.html"))]


def test_navigation_lists_every_section_once():
    labels = [entry.label for entry in NAVIGATION]
    assert len(labels) == len(set(labels))
    assert set(labels) == ALL_SECTIONS


@pytest.mark.parametrize("entry", NAVIGATION, ids=lambda entry: entry.label)
def test_every_navigation_url_name_resolves(entry):
    """No fallbacks: each section names the one URL it links to, in the portal's URLs."""
    assert reverse(entry.url_name).startswith("/")


@pytest.mark.parametrize("template", LAYOUT_TEMPLATES, ids=lambda path: path.name)
def test_every_url_name_in_the_layout_resolves(template):
    names = re.findall(r"{%\s*url\s+['\"]([^'\"]+)['\"]", template.read_text())
    for name in names:
        assert reverse(name).startswith("/"), name
