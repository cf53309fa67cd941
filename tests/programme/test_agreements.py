"""The agreement register and its coupling to access grants and submissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.access import effective_access
from accounts.agreements import grant_agreement_errors, inactive_agreement_references_qs
from accounts.audit.models import Action, AuditEvent
from accounts.models import AccessGrant, DataSharingAgreement
from hospitals.selectors import site_can_submit
from programme import services
from programme.selectors import agreement_register
from tests.factories import AccessGrantFactory, login_verified

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


def test_create_is_audited_with_parties(make_agreement, org_southwark, trust_a) -> None:
    agreement = make_agreement("DSA-SWK", providers=[trust_a], recipients=[org_southwark])
    event = AuditEvent.objects.get(action=Action.AGREEMENT_CREATED)
    assert event.object_id == str(agreement.pk)
    assert event.details["after"]["reference"] == "DSA-SWK"
    assert event.details["after"]["recipients"] == [org_southwark.pk]
    assert event.details["after"]["status"] == "active"


def test_grant_check_names_every_problem(make_agreement, org_southwark, org_lambeth) -> None:
    ends = TODAY() + dt.timedelta(days=100)
    make_agreement("DSA-SWK", recipients=[org_southwark], ends_on=ends)
    fine = AccessGrant(
        organisation=org_southwark,
        agreement_reference="DSA-SWK",
        valid_from=TODAY(),
        valid_until=ends,
    )
    assert grant_agreement_errors(fine) == {}
    too_long = AccessGrant(
        organisation=org_lambeth,
        agreement_reference="DSA-SWK",
        valid_from=TODAY(),
        valid_until=ends + dt.timedelta(days=1),
    )
    errors = grant_agreement_errors(too_long)
    assert any(f"on or before {ends:%-d %B %Y}" in e for e in errors["valid_until"])
    assert any("not a recipient" in e for e in errors["agreement_reference"])
    unknown = AccessGrant(
        organisation=org_southwark,
        agreement_reference="DSA-NOPE",
        valid_from=TODAY(),
        valid_until=ends,
    )
    errors = grant_agreement_errors(unknown)
    assert list(errors) == ["agreement_reference"]
    [message] = errors["agreement_reference"]
    assert "DSA-NOPE is not in it" in message


def test_grant_check_refuses_draft_agreement(make_agreement, org_southwark) -> None:
    make_agreement("DSA-DRAFT", recipients=[org_southwark], activate=False)
    grant = AccessGrant(
        organisation=org_southwark,
        agreement_reference="DSA-DRAFT",
        valid_from=TODAY(),
        valid_until=TODAY(),
    )
    assert any("draft" in e for e in grant_agreement_errors(grant)["agreement_reference"])


def test_ending_agreement_cuts_live_session_on_next_request(
    client, make_agreement, access_admin, southwark_analyst, grant_southwark, org_southwark
) -> None:
    agreement = make_agreement("DSA-SWK", recipients=[org_southwark])
    login_verified(client, southwark_analyst)
    assert client.get(reverse("home")).status_code == 200
    assert effective_access(southwark_analyst).has_data_access
    epoch = southwark_analyst.access_epoch

    services.agreement_end(actor=access_admin, agreement=agreement, reason="Not renewed")

    southwark_analyst.refresh_from_db()
    assert southwark_analyst.access_epoch == epoch + 1
    grant_southwark.refresh_from_db()
    assert grant_southwark.revoked_at is not None
    assert "DSA-SWK ended" in grant_southwark.revoked_reason
    assert not effective_access(southwark_analyst).has_data_access
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    ended = AuditEvent.objects.get(action=Action.AGREEMENT_ENDED)
    assert ended.details["grants_revoked"] == [grant_southwark.pk]
    assert AuditEvent.objects.filter(action=Action.GRANT_REVOKED).count() == 1


def test_suspending_revokes_only_that_agreements_grants(
    make_agreement, access_admin, grant_southwark, grant_lambeth, org_southwark
) -> None:
    agreement = make_agreement("DSA-SWK", recipients=[org_southwark])
    services.agreement_suspend(actor=access_admin, agreement=agreement, reason="Audit finding")
    grant_southwark.refresh_from_db()
    grant_lambeth.refresh_from_db()
    assert grant_southwark.revoked_at is not None
    assert grant_lambeth.revoked_at is None
    agreement.refresh_from_db()
    assert agreement.status == DataSharingAgreement.Status.SUSPENDED
    assert "DSA-SWK" in set(inactive_agreement_references_qs())


def test_end_rolls_back_with_grants_when_audit_fails(
    make_agreement, access_admin, grant_southwark, org_southwark, monkeypatch
) -> None:
    agreement = make_agreement("DSA-SWK", recipients=[org_southwark])

    def boom(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_record", boom)
    with pytest.raises(RuntimeError):
        services.agreement_end(actor=access_admin, agreement=agreement, reason="x")
    grant_southwark.refresh_from_db()
    agreement.refresh_from_db()
    assert grant_southwark.revoked_at is None
    assert agreement.status == DataSharingAgreement.Status.ACTIVE


def test_update_refuses_end_date_before_live_grants(
    make_agreement, access_admin, grant_southwark, org_southwark
) -> None:
    agreement = make_agreement("DSA-SWK", recipients=[org_southwark])
    with pytest.raises(ValidationError, match="run past"):
        services.agreement_update(
            actor=access_admin,
            agreement=agreement,
            ends_on=grant_southwark.valid_until - dt.timedelta(days=1),
        )
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.agreement_update(actor=access_admin, agreement=agreement, reference="DSA-X")
    services.agreement_update(actor=access_admin, agreement=agreement, title="Renamed")
    changed = AuditEvent.objects.get(action=Action.AGREEMENT_CHANGED)
    assert changed.details == {
        "before": {"title": "Agreement DSA-SWK"},
        "after": {"title": "Renamed"},
    }


def test_lapse_job_ends_past_agreements_and_their_grants(
    make_agreement, org_mps, access_admin
) -> None:
    past = TODAY() - dt.timedelta(days=1)
    agreement = make_agreement(
        "DSA-OLD", recipients=[org_mps], ends_on=past, signed_on=past - dt.timedelta(days=300)
    )
    grant = AccessGrantFactory(organisation=org_mps, agreement_reference="DSA-OLD")
    keep = make_agreement("DSA-NEW", recipients=[org_mps])
    assert services.agreements_lapse() == [agreement.pk]
    assert services.agreements_lapse() == []  # idempotent
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    keep.refresh_from_db()
    assert keep.status == DataSharingAgreement.Status.ACTIVE


def test_effective_access_ignores_grants_under_lapsed_agreement(
    make_agreement, southwark_analyst, org_southwark
) -> None:
    # Ended by date only (no one ran the job yet): access stops that day.
    past = TODAY() - dt.timedelta(days=1)
    make_agreement(
        "DSA-SWK", recipients=[org_southwark], ends_on=past, signed_on=past - dt.timedelta(days=9)
    )
    assert not effective_access(southwark_analyst).has_data_access


def test_inactive_references(make_agreement, org_mps) -> None:
    make_agreement("DSA-A", recipients=[org_mps])
    make_agreement("DSA-D", recipients=[org_mps], activate=False)
    past = TODAY() - dt.timedelta(days=1)
    make_agreement("DSA-P", recipients=[org_mps], ends_on=past, signed_on=past)
    assert set(inactive_agreement_references_qs()) == {"DSA-D", "DSA-P"}


def test_site_can_submit(make_agreement, access_admin, site_a, site_b, trust_a, settings) -> None:
    agreement = make_agreement("DSA-RJ1", providers=[trust_a])
    assert site_can_submit(site_a) == (True, "")
    # No provider agreement at all: allowed while the register is filling, unless required.
    assert site_can_submit(site_b) == (True, "")
    settings.PROGRAMME_REQUIRE_PROVIDER_AGREEMENT = True
    allowed, reason = site_can_submit(site_b)
    assert not allowed and "no data-sharing agreement" in reason
    services.agreement_suspend(actor=access_admin, agreement=agreement, reason="Review")
    allowed, reason = site_can_submit(site_a)
    assert not allowed
    assert "DSA-RJ1 is suspended" in reason and site_a.name in reason


def test_site_blocked_once_provider_agreement_lapses(make_agreement, site_a, trust_a) -> None:
    ends = TODAY() + dt.timedelta(days=10)
    make_agreement("DSA-RJ1", providers=[trust_a], ends_on=ends)
    assert site_can_submit(site_a, on=ends)[0]
    allowed, reason = site_can_submit(site_a, on=ends + dt.timedelta(days=1))
    assert not allowed
    assert "ended on" in reason and "renewed" in reason


def test_reminders_sent_once_per_date(make_agreement, access_admin, org_mps) -> None:
    make_agreement(
        "DSA-MPS",
        recipients=[org_mps],
        review_on=TODAY() + dt.timedelta(days=10),
        ends_on=TODAY() + dt.timedelta(days=20),
    )
    make_agreement("DSA-FAR", recipients=[org_mps])
    sent = services.agreement_reminders_send()
    assert sent == 1
    assert services.agreement_reminders_send() == 0
    event = AuditEvent.objects.get(action=Action.AGREEMENT_REMINDED)
    assert {d["kind"] for d in event.details["due"]} == {"review", "end"}


def test_reminder_email_goes_to_access_admins(
    make_agreement, access_admin, org_mps, django_capture_on_commit_callbacks
) -> None:
    make_agreement("DSA-MPS", recipients=[org_mps], ends_on=TODAY() + dt.timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.agreement_reminders_send()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [access_admin.email]
    assert "DSA-MPS" in mail.outbox[0].subject


def test_register_lists_what_is_due(make_agreement, org_mps, grant_mps) -> None:
    make_agreement("DSA-MPS", recipients=[org_mps], review_on=TODAY() + dt.timedelta(days=30))
    make_agreement("DSA-FAR", recipients=[org_mps])
    rows = {row.agreement.reference: row for row in agreement_register()}
    assert rows["DSA-MPS"].live_grants == 1
    assert rows["DSA-MPS"].due and "Review" in rows["DSA-MPS"].due[0]
    assert rows["DSA-FAR"].due == []


def test_document_upload_and_download(
    client, make_agreement, access_admin, data_manager, mps_analyst, org_mps, private_storage
) -> None:
    with pytest.raises(ValidationError, match="PDF"):
        make_agreement(
            "DSA-BAD",
            recipients=[org_mps],
            document=SimpleUploadedFile("x.pdf", b"<script>", content_type="application/pdf"),
        )
    agreement = make_agreement(
        "DSA-MPS",
        recipients=[org_mps],
        document=SimpleUploadedFile("../../etc/signed.pdf", b"%PDF-1.7 test"),
    )
    stored = private_storage / "agreements" / agreement.document_name
    assert stored.read_bytes() == b"%PDF-1.7 test"
    assert len(agreement.document_name) == 32
    url = reverse("programme:agreement_document", args=[agreement.pk])
    for user in (access_admin, data_manager):
        login_verified(client, user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert 'filename="agreement-DSA-MPS.pdf"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == b"%PDF-1.7 test"
    login_verified(client, mps_analyst)
    assert client.get(url).status_code == 404
    assert AuditEvent.objects.filter(action=Action.AGREEMENT_DOCUMENT_DOWNLOADED).count() == 2


def test_end_through_the_page(client, make_agreement, access_admin, grant_mps, org_mps) -> None:
    agreement = make_agreement("DSA-MPS", recipients=[org_mps])
    login_verified(client, access_admin)
    page = client.get(reverse("programme:agreement_detail", args=[agreement.pk]))
    assert b"DSA-MPS" in page.content and org_mps.name.encode() in page.content
    response = client.post(
        reverse("programme:agreement_end", args=[agreement.pk]), {"reason": "Not renewed"}
    )
    assert response.status_code == 302
    grant_mps.refresh_from_db()
    assert grant_mps.revoked_at is not None


def test_create_through_the_page(client, access_admin, org_mps, trust_a) -> None:
    login_verified(client, access_admin)
    response = client.post(
        reverse("programme:agreement_create"),
        {
            "reference": "DSA-NEW",
            "title": "New",
            "providers": [trust_a.pk],
            "recipients": [org_mps.pk],
            "legal_basis": "Public task",
            "purpose": "Violence reduction",
            "ends_on": (TODAY() + dt.timedelta(days=365)).isoformat(),
            "activate": "on",
        },
    )
    assert response.status_code == 302, response.content
    agreement = DataSharingAgreement.objects.get(reference="DSA-NEW")
    assert agreement.status == "active"
    assert list(agreement.providers.all()) == [trust_a]


def test_grant_form_refuses_a_grant_running_past_its_agreement(
    client, make_agreement, access_admin, org_lambeth
) -> None:
    from django.urls import reverse

    from accounts.models import AccessGrant
    from tests.factories import login_verified

    agreement_end = TODAY() + dt.timedelta(days=100)
    make_agreement("DSA-LAM", recipients=[org_lambeth], ends_on=agreement_end)
    login_verified(client, access_admin)
    url = reverse("accounts:grant_create", kwargs={"organisation_pk": org_lambeth.pk})
    form = {
        "level": "record",
        "boroughs": ["E09000022"],
        "location_precision": "lsoa",
        "valid_from": TODAY().isoformat(),
        "valid_until": (agreement_end + dt.timedelta(days=1)).isoformat(),
        "agreement_reference": "DSA-LAM",
        "reason": "Joint problem-solving",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert f"must be on or before {agreement_end:%-d %B %Y}".encode() in refused.content
    assert not AccessGrant.objects.filter(organisation=org_lambeth).exists()

    accepted = client.post(url, form | {"valid_until": agreement_end.isoformat()})
    assert accepted.status_code == 302
    assert AccessGrant.objects.filter(organisation=org_lambeth).count() == 1


def test_upload_refused_while_the_provider_agreement_is_suspended(
    make_agreement, access_admin, liaison_a, site_a, trust_a
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hospitals.models import Submission
    from ingest.services import UploadRefused, submission_receive

    agreement = make_agreement("DSA-RJ1", providers=[trust_a])
    services.agreement_suspend(actor=access_admin, agreement=agreement, reason="Review")
    upload = SimpleUploadedFile("istv.csv", b"Assault date,Method,Location\n", "text/csv")
    with pytest.raises(UploadRefused) as refused:
        submission_receive(
            actor=liaison_a,
            site=site_a,
            period=TODAY().replace(day=1),
            upload=upload,
            set_aside_invalid=False,
            dry_run=False,
        )
    assert refused.value.code == "AGREEMENT_LAPSED"
    assert "DSA-RJ1 is suspended" in refused.value.message
    assert not Submission.objects.exists()


def test_agreement_history_stays_under_one_audit_object_type(
    make_agreement, access_admin, org_southwark
) -> None:
    # The model moved from programme to accounts; its events keep the name the earlier
    # ones carry, so one agreement's history is found under one object type.
    agreement = make_agreement("DSA-HIST", recipients=[org_southwark])
    services.agreement_suspend(actor=access_admin, agreement=agreement, reason="Review")
    types = set(
        AuditEvent.objects.filter(object_id=str(agreement.pk))
        .filter(action__in=[Action.AGREEMENT_CREATED, Action.AGREEMENT_SUSPENDED])
        .values_list("object_type", flat=True)
    )
    assert types == {"programme.datasharingagreement"}


def test_agreement_tables_kept_their_names() -> None:
    opts = DataSharingAgreement._meta
    through = {f.name: f.remote_field.through._meta.db_table for f in opts.many_to_many}
    assert opts.db_table == "programme_datasharingagreement"
    assert through == {
        "providers": "programme_datasharingagreement_providers",
        "recipients": "programme_datasharingagreement_recipients",
    }
    assert {opts.db_table, *through.values()} <= set(connection.introspection.table_names())
