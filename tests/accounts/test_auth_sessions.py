"""Sessions: replay after sign-out, idle and absolute lifetime, revocation and
deactivation on the next request, and "sign out everywhere else"."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from tests.factories import AccessGrantFactory, MembershipFactory, login_verified
from tests.security.authflow import api_call, browser, make_user, session_user_id, sign_in

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 8, 0, 15, tzinfo=dt.UTC)


def _signed_in(user: User, ip: str = "192.0.2.50") -> Client:
    client = browser(ip)
    sign_in(client, user)
    assert session_user_id(client) == str(user.pk)
    return client


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_old_session_cookie_after_logout_goes_to_sign_in() -> None:
    user = make_user()
    client = _signed_in(user)
    stolen = client.cookies["sessionid"].value
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    replay = browser()
    replay.cookies["sessionid"] = stolen
    assert _sent_to_sign_in(replay.get(reverse("home")))
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=user).count() == 1


def test_idle_for_thirty_minutes_ends_the_session() -> None:
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = _signed_in(user)
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=29))  # 29 minutes since the last request
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=30, seconds=5))
        assert _sent_to_sign_in(client.get(reverse("home")))
    assert session_user_id(client) is None
    event = AuditEvent.objects.get(action=Action.SESSION_ENDED)
    assert event.details["reason"] == "idle_timeout"


def test_twelve_hours_ends_the_session_even_when_active() -> None:
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = _signed_in(user)
        for _ in range(47):  # a request every 15 minutes: never idle
            clock.shift(dt.timedelta(minutes=15))
            assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=15, seconds=1))  # 12 h and a second after sign-in
        assert _sent_to_sign_in(client.get(reverse("home")))
    event = AuditEvent.objects.get(action=Action.SESSION_ENDED)
    assert event.details["reason"] == "absolute_timeout"


def test_deactivating_a_user_ends_their_live_session() -> None:
    user = make_user()
    client = _signed_in(user)
    User.objects.filter(pk=user.pk).update(status=User.Status.DEACTIVATED)
    assert _sent_to_sign_in(client.get(reverse("home")))
    assert session_user_id(client) is None
    assert AuditEvent.objects.get(action=Action.SESSION_ENDED).details["reason"] == "deactivated"


def test_is_active_false_also_ends_the_session() -> None:
    user = make_user()
    client = _signed_in(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert _sent_to_sign_in(client.get(reverse("home")))
    assert session_user_id(client) is None


def test_bumping_access_epoch_ends_the_live_session() -> None:
    """What revoking a person's last grant does: their very next request fails."""
    user = make_user()
    client = _signed_in(user)
    assert client.get(reverse("home")).status_code == 200
    User.objects.filter(pk=user.pk).update(access_epoch=user.access_epoch + 1)
    assert _sent_to_sign_in(client.get(reverse("home")))
    event = AuditEvent.objects.get(action=Action.SESSION_ENDED)
    assert event.details["reason"] == "access_changed"
    # A new session picks up the new epoch and works.
    client = browser("192.0.2.51")
    login_verified(client, User.objects.get(pk=user.pk))
    assert client.get(reverse("home")).status_code == 200


def test_the_sessions_list_is_refreshed_with_the_idle_clock_not_every_request() -> None:
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = _signed_in(user)
        assert client.get(reverse("home")).status_code == 200  # the session's first page
        clock.shift(dt.timedelta(seconds=30))
        assert client.get(reverse("home")).status_code == 200
        assert UserSession.objects.get(user=user).last_seen_at == START
        clock.shift(dt.timedelta(seconds=45))  # the idle clock moves on: a minute has passed
        assert client.get(reverse("home")).status_code == 200
        seen = UserSession.objects.get(user=user).last_seen_at
        assert seen == START + dt.timedelta(seconds=75)


def test_sign_out_everywhere_else_ends_the_other_live_session() -> None:
    user = make_user()
    laptop = _signed_in(user, ip="192.0.2.52")
    phone = browser("192.0.2.53")
    login_verified(phone, user)  # the TOTP code of this period is spent already
    assert phone.get(reverse("home")).status_code == 200
    page = laptop.get(reverse("usersessions_list"))
    assert page.status_code == 200
    response = laptop.post(reverse("usersessions_list"))
    assert response.status_code == 302
    assert _sent_to_sign_in(phone.get(reverse("home")))
    assert laptop.get(reverse("home")).status_code == 200


def test_revoking_the_last_grant_ends_session_and_token_on_next_request() -> None:
    """End to end through the access services: revocation and deactivation."""

    admin = make_user()
    user = make_user()
    membership = MembershipFactory(user=user)
    grant = AccessGrantFactory(organisation=membership.organisation)
    key = services.api_token_create(actor=user, name="automation", days=7).key
    client = browser("192.0.2.56")
    login_verified(client, user)
    assert client.get(reverse("home")).status_code == 200
    assert api_call(key).status_code == 200

    services.grant_revoke(actor=admin, grant=grant, reason="Agreement ended")
    assert _sent_to_sign_in(client.get(reverse("home")))
    assert api_call(key).status_code == 401


def test_deactivation_through_the_service_ends_session_and_token() -> None:

    admin, user = make_user(), make_user()
    key = services.api_token_create(actor=user, name="automation", days=7).key
    client = browser("192.0.2.57")
    login_verified(client, user)
    assert client.get(reverse("home")).status_code == 200
    services.user_deactivate(actor=admin, user=user, reason="Left the organisation")
    assert _sent_to_sign_in(client.get(reverse("home")))
    assert api_call(key).status_code == 401
