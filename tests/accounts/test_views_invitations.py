"""Invite-only sign-up: the invitation e-mail, the one-time link, then MFA enrolment."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from accounts.models import Membership, User
from tests.factories import login_verified

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough passphrase 42"


def test_public_sign_up_is_closed(client):
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert "account/signup_closed.html" in [t.name for t in response.templates]
    assert b'name="password1"' not in response.content
    response = client.post(
        reverse("account_signup"),
        {"email": "stranger@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert not User.objects.filter(email="stranger@example.test").exists()


def invite_via_screen(client, access_admin, org, capture) -> str:
    login_verified(client, access_admin)
    with capture(execute=True):
        response = client.post(
            reverse("accounts:user_invite"),
            {
                "email": "invitee@example.test",
                "full_name": "Invited Person",
                "organisation": org.pk,
                "role": Membership.Role.ANALYST,
            },
        )
    assert response.status_code == 302
    assert b"invitee@example.test" in client.get(response["Location"]).content
    client.post(reverse("account_logout"))
    link = re.search(r"https?://\S+/manage/invitation/\S+/", mail.outbox[-1].body)
    assert link is not None
    return link.group(0).split("testserver", 1)[-1]


def test_invitation_end_to_end_leads_to_mfa_enrolment(
    client, access_admin, org_southwark, django_capture_on_commit_callbacks
):
    path = invite_via_screen(
        client, access_admin, org_southwark, django_capture_on_commit_callbacks
    )
    assert AuditEvent.objects.filter(action=Action.INVITATION_SENT).count() == 1

    response = client.get(path)
    # The token leaves the address bar at once.
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:invitation_accept")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"invitee@example.test" in page.content

    too_short = client.post(
        reverse("accounts:invitation_accept"), {"password1": "short1", "password2": "short1"}
    )
    assert too_short.status_code == 200 and b"govuk-error-summary" in too_short.content

    done = client.post(
        reverse("accounts:invitation_accept"), {"password1": PASSWORD, "password2": PASSWORD}
    )
    assert done.status_code == 302 and done["Location"] == reverse("mfa_activate_totp")
    user = User.objects.get(email="invitee@example.test")
    assert user.status == User.Status.ACTIVE
    assert EmailAddress.objects.get(user=user).verified
    assert AuditEvent.objects.filter(action=Action.INVITATION_ACCEPTED, actor=user).exists()
    # Signed in, but with no MFA the portal sends them to set it up.
    enrol = client.get(reverse("mfa_activate_totp"))
    assert enrol.status_code == 200
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"] == reverse("mfa_activate_totp")

    # The link is spent.
    client.post(reverse("account_logout"))
    again = client.get(path)
    assert again.status_code == 404
    assert b"cannot be used" in again.content


def test_expired_and_unknown_links_get_the_same_page(
    client, access_admin, org_southwark, django_capture_on_commit_callbacks, settings
):
    path = invite_via_screen(
        client, access_admin, org_southwark, django_capture_on_commit_callbacks
    )
    unknown = client.get(reverse("accounts:invitation_open", kwargs={"token": "x" * 43}))
    with time_machine.travel(
        timezone.now() + dt.timedelta(hours=settings.INVITATION_VALID_HOURS + 1)
    ):
        expired = client.get(path)
    no_token = client.get(reverse("accounts:invitation_accept"))
    # Unknown, expired and missing tokens all get the same page (per-request nonces aside).
    for response in (unknown, expired, no_token):
        assert response.status_code == 404
        assert b"This invitation link cannot be used" in response.content
        assert b"invitee@example.test" not in response.content


def test_link_expiring_between_open_and_submit_is_refused(
    client, access_admin, org_southwark, django_capture_on_commit_callbacks, settings
):
    path = invite_via_screen(
        client, access_admin, org_southwark, django_capture_on_commit_callbacks
    )
    client.get(path)
    with time_machine.travel(
        timezone.now() + dt.timedelta(hours=settings.INVITATION_VALID_HOURS + 1)
    ):
        response = client.post(
            reverse("accounts:invitation_accept"), {"password1": PASSWORD, "password2": PASSWORD}
        )
    assert response.status_code == 404
    assert User.objects.get(email="invitee@example.test").status == User.Status.INVITED
