"""The layout, the home page and allauth's pages in GOV.UK Design System style."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import AccessGrant, Membership
from tests.factories import TEST_PASSWORD, UserFactory, login_verified
from tests.ui.conftest import mark_reauthenticated, with_verified_email

Role = Membership.Role


def assert_portal_layout(html: str) -> None:
    """Landmarks, skip link, branding and assets every page shares."""
    assert '<html lang="en-GB" class="govuk-template">' in html
    assert '<a href="#main-content" class="govuk-skip-link"' in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html
    assert '<header class="govuk-template__header">' in html
    assert '<footer class="govuk-footer">' in html
    assert "govuk/govuk-frontend.min.css" in html
    assert "css/portal.css" in html
    assert "ISTV Portal</a>" in html
    # Portal branding: no crown, no GOV.UK logo.
    assert "govuk-header__logotype" not in html
    assert "__crown" not in html and "govuk-crest" not in html
    assert "GOV.UK" not in html
    assert len(re.findall(r"<h1[ >]", html)) == 1


@pytest.mark.django_db
def test_sign_in_page(client):
    response = client.get(reverse("account_login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert_portal_layout(html)
    assert "Sign in to the ISTV Portal" in html
    assert '<label class="govuk-label govuk-label--s" for="id_login">' in html
    assert '<label class="govuk-label govuk-label--s" for="id_password">' in html
    assert 'autocomplete="current-password"' in html
    assert "govuk-phase-banner" in html and ">Beta<" in html
    assert "sign up" not in html.lower()  # invite only
    assert "placeholder=" not in html  # GOV.UK: labels, not placeholders


@pytest.mark.django_db
def test_sign_in_page_explains_an_ended_session(client):
    html = client.get(reverse("account_login") + "?expired=1").content.decode()
    assert "You were signed out to protect your account." in html
    assert "signed out to protect" not in client.get(reverse("account_login")).content.decode()


@pytest.mark.django_db
def test_sign_in_error_uses_error_summary_and_field_pattern(client):
    response = client.post(
        reverse("account_login"), {"login": "nobody@example.test", "password": ""}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Sign in" in html
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert summary, "error summary missing"
    assert 'href="#id_password"' in summary.group(0)
    assert "govuk-form-group--error" in html
    assert 'id="id_password-error" class="govuk-error-message"' in html
    assert 'aria-describedby=" id_password-error"' in html or (
        'aria-describedby="id_password-error"' in html
    )


@pytest.mark.django_db
def test_mfa_step_and_totp_setup_pages(client):
    user = with_verified_email(UserFactory())
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert_portal_layout(html)
    assert 'for="id_code">Enter your authentication code</label>' in html
    assert 'autocomplete="one-time-code"' in html

    newcomer = with_verified_email(UserFactory(with_mfa=False))
    client.logout()
    client.post(reverse("account_login"), {"login": newcomer.email, "password": TEST_PASSWORD})
    mark_reauthenticated(client)  # allauth asks for the password again before MFA changes
    html = client.get(reverse("mfa_activate_totp")).content.decode()
    assert_portal_layout(html)
    assert "Set up your authenticator app" in html
    assert re.search(r'<img src="data:image/svg\+xml[^"]*" alt="QR code[^"]*"', html)
    assert 'id="authenticator_secret"' in html
    assert 'for="id_code"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    ["mfa_index", "mfa_view_recovery_codes", "usersessions_list", "account_change_password"],
)
def test_account_pages_use_portal_layout(client, url_name):
    user = UserFactory()
    RecoveryCodes.activate(user)
    login_verified(client, user)
    mark_reauthenticated(client)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assert_portal_layout(html)
    assert 'class="govuk-heading-l"' in html
    assert "Menu:" not in html  # allauth's unstyled default layout
    assert 'aria-label="Your account"' in html


@pytest.mark.django_db
def test_recovery_codes_are_shown_as_text(client):
    user = UserFactory()
    codes = RecoveryCodes.activate(user).get_unused_codes()
    login_verified(client, user)
    mark_reauthenticated(client)
    html = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    assert all(code in html for code in codes)
    assert "<script" not in html.split("</footer>")[0].split("<body")[1].replace(
        '<script src="/static/js/portal.js"', ""
    )


@pytest.mark.django_db
def test_password_reset_and_reauthenticate_pages(client):
    html = client.get(reverse("account_reset_password")).content.decode()
    assert_portal_layout(html)
    assert 'class="govuk-input' in html and 'class="govuk-button"' in html

    user = UserFactory()
    login_verified(client, user)
    html = client.get(reverse("account_reauthenticate")).content.decode()
    assert_portal_layout(html)
    assert 'for="id_password"' in html


@pytest.mark.django_db
def test_home_for_record_level_analyst(client, signed_in_as):
    signed_in_as(Role.ANALYST)
    html = client.get(reverse("home")).content.decode()
    assert_portal_layout(html)
    assert "Welcome to the ISTV Portal" in html
    assert "record data for all of London" in html
    assert "Individual records" in html and "All of London" in html


@pytest.mark.django_db
def test_home_for_borough_analyst_names_the_borough(client, signed_in_as, southwark_grant):
    signed_in_as(Role.ANALYST, **southwark_grant)
    html = client.get(reverse("home")).content.decode()
    assert "record data for 1 borough." in html
    assert "<li>Southwark</li>" in html
    assert "Lambeth" not in html


@pytest.mark.django_db
def test_home_spells_out_mixed_access_borough_by_borough(client):
    """Records in one borough and counts in another: not summed up as "counts only"."""
    from tests.factories import AccessGrantFactory, MembershipFactory

    membership = MembershipFactory(role=Role.ANALYST)
    org = membership.organisation
    AccessGrantFactory(organisation=org, pan_london=False, boroughs=["E09000028"])
    AccessGrantFactory(
        organisation=org,
        pan_london=False,
        boroughs=["E09000022"],
        level=AccessGrant.Level.AGGREGATE,
        download_allowed=False,
        free_text_visible=False,
    )
    login_verified(client, membership.user)
    html = client.get(reverse("home")).content.decode()
    assert "Individual records in some boroughs, counts only (aggregate) in the others" in html
    assert "<li>Lambeth: counts only</li>" in html
    assert "<li>Southwark: individual records</li>" in html


@pytest.mark.django_db
def test_home_for_aggregate_user(client, signed_in_as):
    signed_in_as(Role.ANALYST, level=AccessGrant.Level.AGGREGATE)
    html = client.get(reverse("home")).content.decode()
    assert "Counts only (aggregate)" in html
    assert "Free-text descriptions" not in html


@pytest.mark.django_db
def test_home_for_person_without_data_access(client, signed_in_as):
    signed_in_as(Role.LIAISON, grant=False)
    html = client.get(reverse("home")).content.decode()
    assert "You cannot see incident data" in html
    assert "Hospital liaison" in html


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
def test_messages_become_notification_banners(client, signed_in_as):
    signed_in_as(Role.ANALYST)
    html = client.get("/x/messages/", follow=True).content.decode()
    assert re.search(
        r'govuk-notification-banner--success" role="alert".*?>Grant saved\.</p>', html, re.S
    )
    assert re.search(
        r'govuk-notification-banner" role="region".*?>Nothing changed\.</p>', html, re.S
    )


def test_attribution_page_is_public(client: Client) -> None:
    response = client.get(reverse("attribution"))
    assert response.status_code == 200
    html = response.content.decode()
    assert_portal_layout(html)
    assert "Open Government Licence" in html and "OpenStreetMap contributors" in html
    assert 'href="/data-sources/">Data sources and attribution</a>' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    [
        "account_email",
        "account_change_password",
        "account_logout",
        "mfa_generate_recovery_codes",
        "mfa_deactivate_totp",
        "account_reset_password_done",
        "account_reset_password_from_key_done",
    ],
)
def test_other_account_pages_render_in_portal_style(client, url_name):
    """Pages left to allauth's own templates still come out through our layout and elements."""
    user = UserFactory()
    RecoveryCodes.activate(user)
    login_verified(client, user)
    mark_reauthenticated(client)
    response = client.get(reverse(url_name), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert_portal_layout(html)
    assert "Menu:" not in html
    # Every button and heading comes from the GOV.UK element templates.
    assert '<h1 class="govuk-heading-l">' in html
    assert not re.search(r"<button(?![^>]*class=)", html), "unstyled button"


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["account_signup", "account_inactive"])
def test_public_account_pages_render_in_portal_style(client, url_name):
    response = client.get(reverse(url_name), follow=True)
    assert response.status_code == 200
    assert_portal_layout(response.content.decode())
