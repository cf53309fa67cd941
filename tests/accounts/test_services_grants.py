"""Grant create / change / revoke: validated, audited with before/after, ending sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.access import effective_access
from accounts.audit.models import Action, AuditEvent
from accounts.models import AccessGrant, DataSharingAgreement, User
from tests.factories import register_agreement

pytestmark = pytest.mark.django_db
SOUTHWARK, LAMBETH = "E09000028", "E09000022"


@pytest.fixture(autouse=True)
def registered(org_lambeth, org_southwark) -> None:
    """The agreements these grants name, in the register and covering their organisation."""
    register_agreement("DSA-2026-01", recipients=[org_lambeth])
    register_agreement("DSA-SWK", recipients=[org_southwark])


def epoch(user: User) -> int:
    return User.objects.values_list("access_epoch", flat=True).get(pk=user.pk)


def grant_values(**overrides):
    today = timezone.localdate()
    values = {
        "level": AccessGrant.Level.RECORD,
        "pan_london": False,
        "boroughs": [LAMBETH, SOUTHWARK],
        "download_allowed": True,
        "free_text_visible": True,
        "location_precision": AccessGrant.Precision.SNAPPED,
        "valid_from": today,
        "valid_until": today + dt.timedelta(days=90),
        "agreement_reference": "DSA-2026-01",
        "reason": "Problem-solving project",
    }
    return values | overrides


def test_grant_create_is_audited_with_after(access_admin, org_lambeth):
    grant = services.grant_create(actor=access_admin, organisation=org_lambeth, **grant_values())
    assert grant.granted_by == access_admin
    event = AuditEvent.objects.get(action=Action.GRANT_CREATED)
    assert event.actor == access_admin and event.organisation == org_lambeth
    assert event.object_id == str(grant.pk)
    assert event.details["before"] == {}
    assert event.details["after"]["boroughs"] == [LAMBETH, SOUTHWARK]
    assert event.details["after"]["valid_until"] == grant.valid_until.isoformat()


@pytest.mark.parametrize(
    "bad",
    [
        {"boroughs": []},
        {"boroughs": ["W06000001"]},
        {"valid_until": timezone.localdate() - dt.timedelta(days=1)},
        {"agreement_reference": ""},
    ],
)
def test_grant_create_rejects_invalid_values(access_admin, org_lambeth, bad):
    with pytest.raises(ValidationError):
        services.grant_create(actor=access_admin, organisation=org_lambeth, **grant_values(**bad))
    assert not AccessGrant.objects.exists()


def test_aggregate_grants_carry_no_text_or_points(access_admin, org_lambeth):
    grant = services.grant_create(
        actor=access_admin,
        organisation=org_lambeth,
        **grant_values(level="aggregate", location_precision="exact"),
    )
    assert not grant.free_text_visible and grant.location_precision == "lsoa"


def test_grant_change_records_before_and_after(access_admin, grant_southwark, southwark_analyst):
    before_epoch = epoch(southwark_analyst)
    services.grant_update(
        actor=access_admin, grant=grant_southwark, download_allowed=False, reason="Tighter"
    )
    event = AuditEvent.objects.get(action=Action.GRANT_CHANGED)
    assert event.details["before"] == {"download_allowed": True, "reason": "Test grant"}
    assert event.details["after"] == {"download_allowed": False, "reason": "Tighter"}
    # Taking downloads away shrinks access: the analyst's sessions end.
    assert epoch(southwark_analyst) == before_epoch + 1
    assert not effective_access(User.objects.get(pk=southwark_analyst.pk)).download_allowed


def test_widening_a_grant_keeps_sessions(access_admin, grant_southwark, southwark_analyst):
    before_epoch = epoch(southwark_analyst)
    services.grant_update(
        actor=access_admin,
        grant=grant_southwark,
        boroughs=[SOUTHWARK, LAMBETH],
        valid_until=grant_southwark.valid_until + dt.timedelta(days=10),
    )
    assert epoch(southwark_analyst) == before_epoch
    assert effective_access(southwark_analyst).boroughs == {SOUTHWARK, LAMBETH}


@pytest.mark.parametrize(
    "change",
    [
        {"level": "aggregate"},
        {"boroughs": ["E09000022"]},
        {"free_text_visible": False},
        {"location_precision": "lsoa"},
    ],
)
def test_every_shrinking_change_ends_sessions(
    access_admin, grant_southwark, southwark_analyst, change
):
    before_epoch = epoch(southwark_analyst)
    services.grant_update(actor=access_admin, grant=grant_southwark, **change)
    assert epoch(southwark_analyst) == before_epoch + 1


def test_unchanged_update_writes_nothing(access_admin, grant_southwark):
    services.grant_update(actor=access_admin, grant=grant_southwark, reason="Test grant")
    assert not AuditEvent.objects.filter(action=Action.GRANT_CHANGED).exists()


def test_revoke_needs_a_reason_and_ends_every_members_session(
    access_admin, grant_southwark, southwark_analyst, org_lead, mps_analyst
):
    with pytest.raises(ValidationError):
        services.grant_revoke(actor=access_admin, grant=grant_southwark, reason="  ")
    epochs = {u.pk: epoch(u) for u in (southwark_analyst, org_lead, mps_analyst)}
    services.grant_revoke(actor=access_admin, grant=grant_southwark, reason="DSA ended early")
    grant_southwark.refresh_from_db()
    assert grant_southwark.revoked_by == access_admin
    assert grant_southwark.revoked_reason == "DSA ended early"
    assert epoch(southwark_analyst) == epochs[southwark_analyst.pk] + 1
    assert epoch(org_lead) == epochs[org_lead.pk] + 1
    assert epoch(mps_analyst) == epochs[mps_analyst.pk]  # another organisation
    event = AuditEvent.objects.get(action=Action.GRANT_REVOKED)
    assert event.details["before"] == {"revoked": False}
    assert event.details["after"]["revoked"] is True
    assert event.details["reason"] == "DSA ended early"
    assert event.actor == access_admin
    assert not effective_access(User.objects.get(pk=southwark_analyst.pk)).has_data_access


def test_revoked_grant_cannot_be_changed(access_admin, grant_southwark):
    services.grant_revoke(actor=access_admin, grant=grant_southwark, reason="Ended")
    with pytest.raises(ValidationError):
        services.grant_update(actor=access_admin, grant=grant_southwark, download_allowed=False)


# --- a grant names an agreement in the register, in force, covering its organisation -----


def _refusal(organisation, actor, **overrides) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        services.grant_create(actor=actor, organisation=organisation, **grant_values(**overrides))
    return refused.value.message_dict


def test_grant_citing_an_unregistered_reference_is_refused(access_admin, org_lambeth):
    errors = _refusal(org_lambeth, access_admin, agreement_reference="DSA-NOT-IN-REGISTER-999")
    [message] = errors["agreement_reference"]
    assert "DSA-NOT-IN-REGISTER-999 is not in it" in message and message.startswith("Choose")
    assert not AccessGrant.objects.exists()


def test_grant_under_an_agreement_not_covering_the_organisation_is_refused(access_admin, org_mps):
    errors = _refusal(org_mps, access_admin, agreement_reference="DSA-2026-01")
    assert any("covers this organisation" in m for m in errors["agreement_reference"])
    assert not AccessGrant.objects.exists()


@pytest.mark.parametrize(
    "agreement",
    [
        {"status": DataSharingAgreement.Status.SUSPENDED},
        {"status": DataSharingAgreement.Status.DRAFT},
        {
            "signed_on": timezone.localdate() - dt.timedelta(days=400),
            "ends_on": timezone.localdate() - dt.timedelta(days=1),
        },
    ],
)
def test_grant_under_an_agreement_not_in_force_is_refused(access_admin, org_lambeth, agreement):
    register_agreement("DSA-LAPSED", recipients=[org_lambeth], **agreement)
    errors = _refusal(
        org_lambeth,
        access_admin,
        agreement_reference="DSA-LAPSED",
        valid_from=timezone.localdate() - dt.timedelta(days=30),
        valid_until=timezone.localdate() - dt.timedelta(days=1),
    )
    assert any("in force" in m for m in errors["agreement_reference"])
    assert not AccessGrant.objects.exists()


def test_grant_must_lie_within_its_agreements_dates(access_admin, org_lambeth):
    ends = timezone.localdate() + dt.timedelta(days=60)
    register_agreement("DSA-SHORT", recipients=[org_lambeth], ends_on=ends)
    errors = _refusal(
        org_lambeth,
        access_admin,
        agreement_reference="DSA-SHORT",
        valid_until=ends + dt.timedelta(days=1),
    )
    assert list(errors) == ["valid_until"]


def test_grant_reference_is_stored_as_the_register_spells_it(access_admin, org_lambeth):
    grant = services.grant_create(
        actor=access_admin,
        organisation=org_lambeth,
        **grant_values(agreement_reference="  dsa-2026-01 "),
    )
    grant.refresh_from_db()
    assert grant.agreement_reference == "DSA-2026-01"


def test_changing_a_grant_to_an_unregistered_reference_is_refused(access_admin, grant_southwark):
    with pytest.raises(ValidationError) as refused:
        services.grant_update(
            actor=access_admin, grant=grant_southwark, agreement_reference="DSA-NOWHERE"
        )
    assert "agreement_reference" in refused.value.message_dict
    grant_southwark.refresh_from_db()
    assert grant_southwark.agreement_reference == "DSA-SWK"
