"""Services: invitations, user lifecycle, organisations, memberships, tokens, upload rights."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from guardian.shortcuts import get_perms

from accounts import services
from accounts.audit.models import Action, AuditEvent
from accounts.authentication import token_digest
from accounts.models import ApiToken, Invitation, Membership, User
from hospitals import upload_right_services

pytestmark = pytest.mark.django_db
STRONG = "a long enough passphrase 42"


def epoch(user: User) -> int:
    return User.objects.values_list("access_epoch", flat=True).get(pk=user.pk)


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


# --- invitations -----------------------------------------------------------------------


def invite(admin, org, email="new.person@example.test", role=Membership.Role.ANALYST):
    return services.user_invite(
        actor=admin, email=email, full_name="New Person", organisation=org, role=role
    )


def test_invite_creates_an_inactive_invited_member_and_emails_a_link(
    access_admin, org_southwark, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = invite(access_admin, org_southwark, email="New.Person@Example.test")
    user = sent.invitation.user
    assert user.email == "new.person@example.test"
    assert user.status == User.Status.INVITED and not user.is_active
    assert not user.has_usable_password()
    assert Membership.objects.filter(user=user, organisation=org_southwark, role="analyst").exists()
    # Only the digest is stored; the token is in the e-mail and nowhere else.
    assert sent.invitation.digest == hashlib.sha256(sent.token.encode()).hexdigest()
    assert not Invitation.objects.filter(digest=sent.token).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    assert f"/manage/invitation/{sent.token}/" in mail.outbox[0].body
    event = last_event(Action.INVITATION_SENT)
    assert event.actor == access_admin and event.organisation == org_southwark
    assert sent.token not in str(event.details) and user.email not in str(event.details)


def test_invitation_expires_after_the_configured_hours(access_admin, org_southwark, settings):
    settings.INVITATION_VALID_HOURS = 2
    sent = invite(access_admin, org_southwark)
    assert services.invitation_find_usable(token=sent.token) is not None
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2, seconds=1)):
        assert services.invitation_find_usable(token=sent.token) is None
        assert services.invitation_accept(token=sent.token, password=STRONG) is None


def test_invitation_is_one_time_and_verifies_the_address(access_admin, org_southwark):
    sent = invite(access_admin, org_southwark)
    user = services.invitation_accept(token=sent.token, password=STRONG)
    assert user is not None and user.status == User.Status.ACTIVE and user.is_active
    assert user.check_password(STRONG)
    address = EmailAddress.objects.get(user=user)
    assert address.verified and address.primary and address.email == user.email
    assert last_event(Action.INVITATION_ACCEPTED).actor == user
    assert services.invitation_accept(token=sent.token, password="another passphrase 99") is None
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_reinviting_replaces_the_earlier_link(access_admin, org_southwark):
    first = invite(access_admin, org_southwark)
    second = invite(access_admin, org_southwark)
    assert services.invitation_find_usable(token=first.token) is None
    assert services.invitation_find_usable(token=second.token) is not None
    assert User.objects.filter(email="new.person@example.test").count() == 1


def test_cannot_invite_someone_who_already_has_an_account(access_admin, org_southwark, outsider):
    with pytest.raises(ValidationError):
        invite(access_admin, org_southwark, email=outsider.email)


@pytest.mark.parametrize("password", ["short pass1", "password123456"])
def test_invitation_password_follows_the_policy(access_admin, org_southwark, password):
    sent = invite(access_admin, org_southwark)
    with pytest.raises(ValidationError):
        services.invitation_accept(token=sent.token, password=password)
    assert services.invitation_find_usable(token=sent.token) is not None


# --- user lifecycle ------------------------------------------------------------------------


def test_deactivate_bumps_epoch_and_is_audited(access_admin, southwark_analyst):
    before = epoch(southwark_analyst)
    services.user_deactivate(actor=access_admin, user=southwark_analyst, reason="Left")
    southwark_analyst.refresh_from_db()
    assert southwark_analyst.status == User.Status.DEACTIVATED
    assert not southwark_analyst.is_active and southwark_analyst.access_epoch == before + 1
    event = last_event(Action.USER_DEACTIVATED)
    assert event.details["before"]["status"] == "active"
    assert event.details["after"]["status"] == "deactivated"
    assert event.details["reason"] == "Left"


def test_cannot_deactivate_yourself(access_admin):
    with pytest.raises(ValidationError):
        services.user_deactivate(actor=access_admin, user=access_admin)


def test_reactivate_restores_sign_in(access_admin, southwark_analyst):
    services.user_deactivate(actor=access_admin, user=southwark_analyst)
    services.user_reactivate(actor=access_admin, user=southwark_analyst)
    southwark_analyst.refresh_from_db()
    assert southwark_analyst.status == User.Status.ACTIVE and southwark_analyst.is_active
    assert last_event(Action.USER_REACTIVATED).details["after"]["status"] == "active"


# --- organisations and memberships ---------------------------------------------------------


def test_organisation_create_validates_csp_code(access_admin):
    with pytest.raises(ValidationError):
        services.organisation_create(actor=access_admin, name="Nowhere CSP", kind="csp")
    org = services.organisation_create(
        actor=access_admin, name="Camden CSP", kind="csp", gss_code="E09000007"
    )
    assert last_event(Action.ORGANISATION_CREATED).details["after"]["gss_code"] == "E09000007"
    assert org.pk


def test_deactivating_an_organisation_ends_its_members_sessions(
    access_admin, southwark_analyst, org_southwark
):
    before = epoch(southwark_analyst)
    services.organisation_update(actor=access_admin, organisation=org_southwark, is_active=False)
    assert epoch(southwark_analyst) == before + 1
    event = last_event(Action.ORGANISATION_CHANGED)
    assert event.details == {"before": {"is_active": True}, "after": {"is_active": False}}


def test_renaming_an_organisation_does_not_end_sessions(
    access_admin, southwark_analyst, org_southwark
):
    before = epoch(southwark_analyst)
    services.organisation_update(actor=access_admin, organisation=org_southwark, name="Renamed")
    assert epoch(southwark_analyst) == before


@pytest.mark.parametrize(
    ("change", "shrinks"),
    [
        ({"narrowed_boroughs": ["E09000028"]}, True),
        ({"narrowed_to_aggregate": True}, True),
        ({"narrowed_no_download": True}, True),
        ({"narrowed_no_free_text": True}, True),
        ({"is_active": False}, True),
        ({"role": Membership.Role.ORG_LEAD}, True),
        ({"is_active": True}, False),
    ],
)
def test_membership_narrowing_bumps_epoch_only_when_it_shrinks(
    access_admin, southwark_analyst, change, shrinks
):
    membership = southwark_analyst.memberships.get()
    before = epoch(southwark_analyst)
    services.membership_update(actor=access_admin, membership=membership, **change)
    assert epoch(southwark_analyst) == before + (1 if shrinks else 0)


def test_widening_a_narrowing_does_not_end_sessions(access_admin, southwark_analyst):
    membership = southwark_analyst.memberships.get()
    services.membership_update(
        actor=access_admin, membership=membership, narrowed_boroughs=["E09000028"]
    )
    before = epoch(southwark_analyst)
    services.membership_update(
        actor=access_admin, membership=membership, narrowed_boroughs=["E09000028", "E09000022"]
    )
    assert epoch(southwark_analyst) == before
    event = last_event(Action.MEMBERSHIP_CHANGED)
    assert event.details["before"] == {"narrowed_boroughs": ["E09000028"]}
    assert event.details["after"] == {"narrowed_boroughs": ["E09000022", "E09000028"]}


def test_membership_remove_bumps_epoch_and_is_audited(access_admin, southwark_analyst):
    membership = southwark_analyst.memberships.get()
    before = epoch(southwark_analyst)
    services.membership_remove(actor=access_admin, membership=membership)
    assert epoch(southwark_analyst) == before + 1
    assert not Membership.objects.filter(pk=membership.pk).exists()
    event = last_event(Action.MEMBERSHIP_REMOVED)
    assert event.details["before"]["role"] == "analyst"
    assert event.details["user_id"] == southwark_analyst.pk


def test_membership_add_rejects_duplicates_and_bad_boroughs(
    access_admin, southwark_analyst, org_southwark, org_lambeth
):
    with pytest.raises(ValidationError):
        services.membership_add(
            actor=access_admin, user=southwark_analyst, organisation=org_southwark, role="analyst"
        )
    with pytest.raises(ValidationError):
        services.membership_add(
            actor=access_admin,
            user=southwark_analyst,
            organisation=org_lambeth,
            role="analyst",
            narrowed_boroughs=["W06000001"],
        )


# --- API tokens ------------------------------------------------------------------------------


def test_api_token_stores_only_a_digest(mps_analyst, settings):
    created = services.api_token_create(actor=mps_analyst, name="R", days=30)
    token = ApiToken.objects.get(pk=created.token.pk)
    assert token.digest == token_digest(created.key)
    assert created.key.startswith(token.prefix) and len(token.prefix) == 8
    assert created.key not in {token.digest, token.prefix, token.name}
    assert token.access_epoch == mps_analyst.access_epoch
    assert (token.expires_at - token.created_at) == dt.timedelta(days=30)
    event = last_event(Action.TOKEN_CREATED)
    assert created.key not in str(event.details)
    with pytest.raises(ValidationError):
        services.api_token_create(actor=mps_analyst, name="R", days=settings.API_TOKEN_MAX_DAYS + 1)


def test_api_token_revoke_is_audited(mps_analyst):
    created = services.api_token_create(actor=mps_analyst, name="R", days=30)
    services.api_token_revoke(actor=mps_analyst, token=created.token)
    assert ApiToken.objects.get(pk=created.token.pk).revoked_at is not None
    assert last_event(Action.TOKEN_REVOKED).details["prefix"] == created.token.prefix


# --- hospital upload rights ------------------------------------------------------------------


def test_upload_right_only_for_a_liaison_of_the_trust(access_admin, liaison_a, site_a, site_b):
    with pytest.raises(ValidationError):
        upload_right_services.upload_right_grant(actor=access_admin, user=liaison_a, site=site_b)
    assert "upload_submission" not in get_perms(liaison_a, site_b)


def test_upload_right_grant_and_revoke(access_admin, liaison_b, site_b):
    upload_right_services.upload_right_revoke(actor=access_admin, user=liaison_b, site=site_b)
    fresh = User.objects.get(pk=liaison_b.pk)
    assert "upload_submission" not in get_perms(fresh, site_b)
    assert fresh.access_epoch == liaison_b.access_epoch + 1
    upload_right_services.upload_right_grant(actor=access_admin, user=fresh, site=site_b)
    assert "upload_submission" in get_perms(User.objects.get(pk=liaison_b.pk), site_b)
    event = last_event(Action.UPLOAD_RIGHT_GRANTED)
    assert event.details == {"user_id": liaison_b.pk, "site_code": "R1H12"}
