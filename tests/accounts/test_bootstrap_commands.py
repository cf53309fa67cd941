"""The two operator commands: first access administrator, and MFA key rotation."""

from __future__ import annotations

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.core import mail
from django.core.management import CommandError, call_command

from accounts.audit.models import Action, AuditEvent
from accounts.models import Membership, Organisation
from tests.factories import DEMO_TOTP_SECRET, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_first_access_admin_is_invited_at_the_gla(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("invite_access_admin", email="First.Admin@example.test", name="First Admin")
    membership = Membership.objects.get(user__email="first.admin@example.test")
    assert membership.role == Membership.Role.ACCESS_ADMIN
    assert membership.organisation.kind == Organisation.Kind.GLA
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["first.admin@example.test"]
    assert AuditEvent.objects.filter(action=Action.INVITATION_SENT, actor=None).count() == 1


def test_invite_access_admin_refuses_once_an_admin_exists():
    MembershipFactory(role=Membership.Role.ACCESS_ADMIN, organisation__kind="gla")
    with pytest.raises(CommandError, match="already exists"):
        call_command("invite_access_admin", email="second@example.test", name="Second")
    assert not Membership.objects.filter(user__email="second@example.test").exists()


def test_reencrypt_mfa_moves_secrets_to_the_new_key(settings):
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEY = old_key
    user = UserFactory()  # activates TOTP, encrypted with the old key
    stored_before = Authenticator.objects.get(user=user, type="totp").data["secret"]

    settings.MFA_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("reencrypt_mfa")

    stored_after = Authenticator.objects.get(user=user, type="totp").data["secret"]
    assert stored_after != stored_before
    assert DEMO_TOTP_SECRET not in stored_after
    settings.MFA_ENCRYPTION_KEY = new_key  # old key gone: the secret must still decrypt
    assert get_adapter().decrypt(stored_after) == DEMO_TOTP_SECRET
