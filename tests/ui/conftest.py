"""People with different roles, signed in as if password and TOTP had passed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import AccessGrant, Membership, Organisation, User
from tests.factories import (
    AccessGrantFactory,
    MembershipFactory,
    OrganisationFactory,
    login_verified,
)

SOUTHWARK = "E09000028"


def with_verified_email(user: User) -> User:
    """Invited people have confirmed their address; sign-in requires it."""
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def mark_reauthenticated(client: Client) -> None:
    """Record a fresh password re-entry, which allauth asks for before showing secrets."""
    session = client.session
    session["account_authentication_methods"] = [
        *session.get("account_authentication_methods", []),
        {"method": "password", "at": time.time(), "reauthenticated": True},
    ]
    session.save()


@pytest.fixture
def signed_in_as(client: Client) -> Callable[..., User]:
    """Create a member with ``role`` (and optionally a grant) and sign them in."""

    def make(
        role: str = Membership.Role.ANALYST,
        *,
        grant: bool = True,
        kind: str = Organisation.Kind.MPS,
        **grant_fields: object,
    ) -> User:
        organisation = OrganisationFactory(kind=kind)
        membership = MembershipFactory(organisation=organisation, role=role)
        if grant:
            AccessGrantFactory(organisation=organisation, **grant_fields)
        login_verified(client, membership.user)
        return membership.user

    return make


@pytest.fixture
def southwark_grant() -> dict[str, object]:
    return {
        "pan_london": False,
        "boroughs": [SOUTHWARK],
        "level": AccessGrant.Level.RECORD,
    }
