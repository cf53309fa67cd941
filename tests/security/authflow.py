"""Helpers for driving allauth's real sign-in flow (password, then TOTP) in tests."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.models import User
from tests.factories import DEMO_TOTP_SECRET, TEST_PASSWORD, UserFactory

CLIENT_IP = "192.0.2.10"
USER_AGENT = "ISTV-test-browser/1.0"


def make_user(*, mfa: bool = True, **fields: Any) -> User:
    """An active person with a verified primary e-mail (allauth's login needs one)."""
    user: User = UserFactory(with_mfa=mfa, **fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


TOTP_PERIOD = 30
# A code fetched this close to the end of its period might expire before it is posted.
_TOTP_SAFETY_SECONDS = 2.0


def totp_code(secret: str = DEMO_TOTP_SECRET) -> str:
    """The current code of ``secret`` (by default the one every test user is enrolled
    with); waits for the next period rather than hand out a code about to expire."""
    remaining = TOTP_PERIOD - time.time() % TOTP_PERIOD
    if remaining < _TOTP_SAFETY_SECONDS:
        time.sleep(remaining + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // TOTP_PERIOD))


def browser(ip: str = CLIENT_IP, **extra: Any) -> Client:
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=USER_AGENT, **extra)


def post_password(client: Client, email: str, password: str = TEST_PASSWORD) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def post_code(client: Client, code: str) -> Any:
    return client.post(reverse("mfa_authenticate"), {"code": code})


def sign_in(client: Client, user: User, password: str = TEST_PASSWORD) -> Any:
    """Password then TOTP through allauth's own views; returns the final response."""
    response = post_password(client, user.email, password)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("mfa_authenticate")
    return post_code(client, totp_code())


def change_password(client: Client, new: str, old: str = TEST_PASSWORD) -> Any:
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": old, "password1": new, "password2": new},
    )


def session_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


class WhoAmI(APIView):
    """A stand-in API view with the project's default authentication and permission."""

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.pk})


def api_call(key: str | None, header: str | None = None) -> Any:
    """GET the stand-in API view with ``Authorization: Token <key>`` (or ``header``)."""
    auth = header if header is not None else f"Token {key}"
    request = APIRequestFactory().get("/api/whoami", HTTP_AUTHORIZATION=auth)
    return WhoAmI.as_view()(request)
