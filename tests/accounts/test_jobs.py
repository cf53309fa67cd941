"""Scheduled jobs: expiry, expiry warnings and the inactivity sweep."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounts import tasks
from accounts.access import effective_access
from accounts.audit.models import Action, AuditEvent
from accounts.models import AccessGrant, Membership, User
from tests.factories import MembershipFactory, UserFactory, register_agreement

pytestmark = pytest.mark.django_db


def test_beat_schedule_names_real_tasks():
    from istv_portal.celery import app

    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "accounts.tasks.expire_grants",
        "accounts.tasks.send_grant_expiry_warnings",
        "accounts.tasks.deactivate_inactive_users",
    } <= names
    assert names <= set(app.tasks)


# --- expiry ---------------------------------------------------------------------------


def test_expire_job_marks_ended_grants_audits_and_ends_sessions(
    southwark_analyst, grant_southwark, grant_mps, mps_analyst
):
    grant_southwark.valid_until = timezone.localdate() - dt.timedelta(days=1)
    grant_southwark.save(update_fields=["valid_until"])
    before = {u.pk: u.access_epoch for u in (southwark_analyst, mps_analyst)}

    assert tasks.expire_grants() == 1
    assert tasks.expire_grants() == 0  # idempotent: a re-delivered task does nothing

    grant_southwark.refresh_from_db()
    assert grant_southwark.expired_at is not None
    event = AuditEvent.objects.get(action=Action.GRANT_EXPIRED)
    assert event.object_id == str(grant_southwark.pk) and event.actor is None
    assert event.details["affected_users"] == 1
    users = User.objects.in_bulk([southwark_analyst.pk, mps_analyst.pk])
    assert users[southwark_analyst.pk].access_epoch == before[southwark_analyst.pk] + 1
    assert users[mps_analyst.pk].access_epoch == before[mps_analyst.pk]
    assert not effective_access(users[southwark_analyst.pk]).has_data_access


def test_grant_ending_today_is_not_expired_until_tomorrow(grant_southwark):
    grant_southwark.valid_until = timezone.localdate()
    grant_southwark.save(update_fields=["valid_until"])
    assert tasks.expire_grants() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert tasks.expire_grants() == 1


# --- warnings -------------------------------------------------------------------------------


def test_warning_job_emails_the_organisations_leads_once(
    org_lead, grant_southwark, grant_mps, django_capture_on_commit_callbacks
):
    grant_southwark.valid_until = timezone.localdate() + dt.timedelta(
        days=settings.GRANT_EXPIRY_WARNING_DAYS
    )
    grant_southwark.save(update_fields=["valid_until"])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_grant_expiry_warnings() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_grant_expiry_warnings() == 0  # once per grant
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [org_lead.email]
    assert "Southwark" in message.subject
    assert "DSA-SWK" in message.body
    event = AuditEvent.objects.get(action=Action.GRANT_EXPIRY_WARNED)
    assert event.details["recipients"] == 1 and event.object_id == str(grant_southwark.pk)


def test_warning_falls_back_to_gla_access_admins(
    access_admin, grant_mopac, mopac_analyst, django_capture_on_commit_callbacks
):
    # MOPAC's persona grant ends in 20 days and MOPAC has no lead.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_grant_expiry_warnings() == 1
    assert mail.outbox[0].to == [access_admin.email]
    assert mopac_analyst.email not in mail.outbox[0].to


def test_extending_a_grant_rearms_the_warning(access_admin, grant_mopac, org_mopac):
    from accounts import services

    register_agreement("DSA-MOPAC", recipients=[org_mopac])  # a grant changed names one
    tasks.send_grant_expiry_warnings()
    grant_mopac.refresh_from_db()
    assert grant_mopac.expiry_warning_sent_at is not None
    services.grant_update(
        actor=access_admin,
        grant=grant_mopac,
        valid_until=grant_mopac.valid_until + dt.timedelta(days=365),
    )
    grant_mopac.refresh_from_db()
    assert grant_mopac.expiry_warning_sent_at is None


def test_grants_far_from_their_end_are_not_warned(grant_mps, org_mps):
    MembershipFactory(organisation=org_mps, role=Membership.Role.ORG_LEAD)
    assert tasks.send_grant_expiry_warnings() == 0
    assert AccessGrant.objects.filter(expiry_warning_sent_at__isnull=False).count() == 0


# --- inactivity -------------------------------------------------------------------------------


def test_inactive_accounts_are_deactivated_after_the_configured_days(settings):
    settings.ACCOUNT_INACTIVITY_DAYS = 90
    now = timezone.now()
    stale = UserFactory(
        last_login=now - dt.timedelta(days=91), date_joined=now - dt.timedelta(days=400)
    )
    never = UserFactory(last_login=None, date_joined=now - dt.timedelta(days=100))
    recent_login = UserFactory(
        last_login=now - dt.timedelta(days=89), date_joined=now - dt.timedelta(days=400)
    )
    recently_seen = UserFactory(
        last_login=now - dt.timedelta(days=120),
        last_seen=now - dt.timedelta(days=1),
        date_joined=now - dt.timedelta(days=400),
    )
    new = UserFactory(last_login=None)
    epochs = {u.pk: u.access_epoch for u in (stale, never)}

    assert tasks.deactivate_inactive_users() == 2
    assert tasks.deactivate_inactive_users() == 0

    users = User.objects.in_bulk([stale.pk, never.pk, recent_login.pk, recently_seen.pk, new.pk])
    for user in (stale, never):
        assert users[user.pk].status == User.Status.DEACTIVATED
        assert not users[user.pk].is_active
        assert users[user.pk].access_epoch == epochs[user.pk] + 1
    for user in (recent_login, recently_seen, new):
        assert users[user.pk].status == User.Status.ACTIVE
    events = AuditEvent.objects.filter(action=Action.USER_DEACTIVATED)
    assert {e.object_id for e in events} == {str(stale.pk), str(never.pk)}
    assert all(e.actor is None and "90 days" in e.details["reason"] for e in events)
