"""Every non-public URL needs a sign-in, the admin is no bypass,
and a GET never changes state (the GET half of CSRF protection)."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from accounts.models import AccessGrant, ApiToken, Membership, Organisation, User
from tests.factories import login_verified
from tests.security.authflow import browser, make_user, post_code, post_password, totp_code
from tests.security.urlwalk import NamedRoute, named_routes

pytestmark = pytest.mark.django_db

# Pages anyone may open without signing in. Everything else must send them to sign-in.
PUBLIC_URL_NAMES = frozenset(
    {
        "account_login",
        "account_signup",  # answers "sign-up is closed": the portal is invite-only
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "account_confirm_email",
        "account_email_verification_sent",
        "account_inactive",
        "accounts:invitation_open",  # the one-time link in an invitation e-mail
        "accounts:invitation_accept",
        "incidents:alert_stop_link",  # the one-click stop link in an alert e-mail (a secret token)
        "attribution",
        "favicon",  # a redirect to the static icon, which browsers ask for before sign-in
        "healthz",
    }
)
MAX_REDIRECTS = 3


def _final_answer(client: Client, path: str) -> tuple[int, str]:
    """Follow at most a few redirects; return the last status and the path it came from."""
    response = client.get(path)
    hops = 0
    while response.status_code in (301, 302) and hops < MAX_REDIRECTS:
        path = response["Location"].split("?")[0]
        response = client.get(response["Location"])
        hops += 1
    return response.status_code, path


def _protected_routes() -> list[NamedRoute]:
    return [route for route in named_routes() if route.name not in PUBLIC_URL_NAMES]


def test_public_allow_list_names_only_existing_routes() -> None:
    existing = {route.name for route in named_routes()}
    # Names of pages not wired in yet may wait in the list, but the core ones must exist.
    assert {"account_login", "account_reset_password", "healthz"} <= existing


@pytest.mark.parametrize("route", _protected_routes(), ids=lambda r: r.name)
def test_anonymous_request_to_non_public_url_goes_to_sign_in(route: NamedRoute) -> None:
    client = Client(raise_request_exception=False)
    first = client.get(route.path)
    assert first.status_code in (302, 401, 403), (route.name, first.status_code)
    if first.status_code == 302:
        status, landed_on = _final_answer(client, route.path)
        assert landed_on == reverse("account_login"), (route.name, landed_on)
        assert status == 200


def test_admin_login_goes_through_allauth() -> None:
    response = Client().get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_admin_login_form_post_cannot_sign_in() -> None:
    staff = make_user(is_staff=True, is_superuser=True)
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_staff_without_mfa_get_no_admin_pages() -> None:
    staff = make_user(mfa=False, is_staff=True, is_superuser=True)
    client = browser()
    response = post_password(client, staff.email)  # no second factor enrolled
    assert response.status_code == 302
    for path in ("/admin/", "/admin/login/", "/admin/accounts/user/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == reverse("mfa_activate_totp"), path


def test_staff_session_that_skipped_mfa_is_signed_out_of_admin() -> None:
    staff = make_user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)  # a session that never passed the second factor
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_admin_session_check_refuses_without_mfa_even_behind_middleware() -> None:
    """The admin site's own permission check requires a verified session too."""
    from django.contrib import admin
    from django.test import RequestFactory

    staff = make_user(is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = staff
    request.session = Client().session
    assert admin.site.has_permission(request) is False


def test_verified_staff_reach_the_admin() -> None:
    staff = make_user(is_staff=True, is_superuser=True)
    client = browser()
    post_password(client, staff.email)
    post_code(client, totp_code())
    assert client.get("/admin/").status_code == 200


def _state_snapshot() -> dict[str, list[tuple[object, ...]]]:
    return {
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk", "email", "status", "is_active", "access_epoch", "password"
            )
        ),
        "authenticators": list(
            Authenticator.objects.order_by("pk").values_list("pk", "type", "data")
        ),
        "organisations": list(Organisation.objects.order_by("pk").values_list()),
        "memberships": list(Membership.objects.order_by("pk").values_list()),
        "grants": list(AccessGrant.objects.order_by("pk").values_list()),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
    }


def test_get_requests_never_change_state() -> None:
    """A verified administrator GETs every named page; no domain row changes."""
    admin_user = make_user(is_staff=True, is_superuser=True)
    other = make_user()
    organisation = Organisation.objects.create(name="Org GET", kind=Organisation.Kind.MPS)
    Membership.objects.create(user=other, organisation=organisation, role="analyst")
    client = Client(raise_request_exception=False)
    login_verified(client, admin_user)
    before = _state_snapshot()
    for route in named_routes():
        if route.name in {"account_logout", "admin:logout"}:
            continue  # asserted separately below: GET must not sign out either
        client.get(route.path)
    assert _state_snapshot() == before
    client.get(reverse("account_logout"))
    assert client.session.get("_auth_user_id") == str(admin_user.pk)
