"""manage.py seed_demo: idempotent demo data; never with production settings."""

from __future__ import annotations

import io

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from accounts import selectors, services
from accounts.access import effective_access
from accounts.audit.models import AuditEvent
from accounts.demo import DEMO_PASSWORD, TYPE1_SITES
from accounts.models import AccessGrant, DataSharingAgreement, Membership, Organisation, User
from hospitals.models import HospitalSite
from incidents.geocoding.loaders import SHIPPED_DIR

pytestmark = pytest.mark.django_db
GEO_DIR = SHIPPED_DIR  # the London gazetteer shipped in data/gazetteer
DEMO_EMAILS = {
    "access.admin@demo.istv",
    "data.manager@demo.istv",
    "stthomas.liaison@demo.istv",
    "royallondon.liaison@demo.istv",
    "mps.analyst@demo.istv",
    "southwark.analyst@demo.istv",
    "lambeth.analyst@demo.istv",
    "vru.aggregate@demo.istv",
    "mopac.analyst@demo.istv",
}


def counts() -> dict[str, int]:
    return {
        "organisations": Organisation.objects.count(),
        "sites": HospitalSite.objects.count(),
        "grants": AccessGrant.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "authenticators": Authenticator.objects.count(),
        "emails": EmailAddress.objects.count(),
    }


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--no-submissions", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_complete(tmp_path):
    # An empty folder: the built-in borough list and site table must be enough.
    output = seed("--geo-dir", str(tmp_path))
    first = counts()
    seed("--geo-dir", str(tmp_path))
    assert counts() == first

    kinds = dict(Organisation.objects.values_list("kind").annotate(n=Count("id")))
    assert kinds["csp"] == 33
    assert kinds["mps"] == kinds["vru"] == kinds["mopac"] == kinds["gla"] == 1
    trusts = {site.trust_code for site in TYPE1_SITES}
    assert kinds["hospital"] == len(trusts)
    assert first["sites"] == 28
    assert set(User.objects.values_list("email", flat=True)) == DEMO_EMAILS
    assert DEMO_PASSWORD in output
    for email in DEMO_EMAILS:
        assert email in output
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD) and user.status == User.Status.ACTIVE
        assert Authenticator.objects.filter(user=user, type="totp").exists()
        assert EmailAddress.objects.get(user=user).verified


def test_demo_personas_have_the_documented_access():
    seed()
    by_email = {u.email: u for u in User.objects.all()}
    mps = effective_access(by_email["mps.analyst@demo.istv"])
    assert mps.record_level and mps.pan_london and mps.download_allowed
    southwark = effective_access(by_email["southwark.analyst@demo.istv"])
    assert southwark.record_level and southwark.boroughs == {"E09000028"}
    lambeth = effective_access(by_email["lambeth.analyst@demo.istv"])
    assert lambeth.boroughs == {"E09000022"}
    # Unlocated incidents (no mappable place): Lambeth's grant includes those treated at
    # EDs sited in Lambeth; Southwark's does not, so the demo shows both cases.
    assert lambeth.unlocated == {"E09000022"}
    assert southwark.unlocated == frozenset()
    grants = dict(AccessGrant.objects.values_list("agreement_reference", "include_unlocated"))
    assert grants["DSA-DEMO-LAM"] is True and grants["DSA-DEMO-SWK"] is False
    vru = effective_access(by_email["vru.aggregate@demo.istv"])
    assert vru.pan_london and not vru.any_record_level
    assert effective_access(by_email["mopac.analyst@demo.istv"]).has_data_access
    st_thomas = HospitalSite.objects.get(site_code="RJ122")
    royal_london = HospitalSite.objects.get(site_code="R1H12")
    liaison_a = by_email["stthomas.liaison@demo.istv"]
    liaison_b = by_email["royallondon.liaison@demo.istv"]
    assert liaison_a.has_perm("hospitals.upload_submission", st_thomas)
    assert not liaison_a.has_perm("hospitals.upload_submission", royal_london)
    assert liaison_b.has_perm("hospitals.upload_submission", royal_london)
    assert Membership.objects.filter(
        user=by_email["access.admin@demo.istv"], role="access_admin", organisation__kind="gla"
    ).exists()


def test_seed_uses_the_geo_files_when_present():
    seed("--geo-dir", str(GEO_DIR))
    royal_london = HospitalSite.objects.get(site_code="R1H12")
    assert royal_london.lat == pytest.approx(51.519, abs=0.01)
    assert royal_london.borough_code == "E09000030"
    assert Organisation.objects.filter(kind="csp").count() == 33
    assert HospitalSite.objects.filter(lat__isnull=True).count() == 0


def test_demo_submissions_need_the_gazetteer_first():
    # Without a gazetteer every demo incident would be stored awaiting geocoding.
    with pytest.raises(CommandError, match="load_gazetteer"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def test_an_older_demo_grant_gains_the_unlocated_option_unless_someone_changed_it():
    seed()
    lambeth = AccessGrant.objects.get(agreement_reference="DSA-DEMO-LAM")
    # As a seed_demo from before the option left it: never changed since creation.
    AccessGrant.objects.filter(pk=lambeth.pk).update(include_unlocated=False)
    seed()
    lambeth.refresh_from_db()
    assert lambeth.include_unlocated
    assert AccessGrant.objects.filter(include_unlocated=True).count() == 1
    changed = AuditEvent.objects.filter(action="grant.changed", object_id=str(lambeth.pk))
    assert changed.count() == 1 and changed.get().actor is None

    # An access administrator turns it off: seed_demo leaves their decision alone.
    admin = User.objects.get(email="access.admin@demo.istv")
    services.grant_update(actor=admin, grant=lambeth, include_unlocated=False)
    seed()
    lambeth.refresh_from_db()
    assert not lambeth.include_unlocated


def test_seed_refuses_production_settings(settings):
    settings.SETTINGS_MODULE = "istv_portal.settings.production"
    with pytest.raises(CommandError, match="production"):
        seed()
    assert not User.objects.exists()


def test_demo_registers_the_agreements_its_grants_name():
    seed()
    seed()  # idempotent: one agreement per reference
    today = timezone.localdate()
    hospitals = set(Organisation.objects.filter(kind="hospital"))
    grants = list(AccessGrant.objects.select_related("organisation"))
    assert len(grants) == 6
    for grant in grants:
        agreement = DataSharingAgreement.objects.get(reference=grant.agreement_reference)
        assert agreement.is_active_on(today)
        assert list(agreement.recipients.all()) == [grant.organisation]
        assert set(agreement.providers.all()) == hospitals
        assert agreement.signed_on <= grant.valid_from and grant.valid_until <= agreement.ends_on
    assert DataSharingAgreement.objects.count() == 6
    assert not selectors.grants_without_agreement().exists()


def test_ending_a_demo_agreement_ends_the_demo_grants_that_name_it():
    from programme.services import agreement_end

    seed()
    admin = User.objects.get(email="access.admin@demo.istv")
    lambeth_analyst = User.objects.get(email="lambeth.analyst@demo.istv")
    assert effective_access(lambeth_analyst).has_data_access
    agreement_end(
        actor=admin,
        agreement=DataSharingAgreement.objects.get(reference="DSA-DEMO-LAM"),
        reason="Not renewed",
    )
    revoked = set(
        AccessGrant.objects.filter(revoked_at__isnull=False).values_list(
            "agreement_reference", flat=True
        )
    )
    assert revoked == {"DSA-DEMO-LAM"}
    assert not effective_access(User.objects.get(pk=lambeth_analyst.pk)).has_data_access
    assert effective_access(User.objects.get(email="southwark.analyst@demo.istv")).has_data_access
    # Seeding again neither re-opens the agreement nor grants under it anew.
    seed()
    assert AccessGrant.objects.filter(agreement_reference="DSA-DEMO-LAM").count() == 1
    assert not DataSharingAgreement.objects.get(reference="DSA-DEMO-LAM").is_active_on(
        timezone.localdate()
    )


def test_a_demo_seeded_before_the_register_gains_the_agreements_its_grants_name():
    seed()
    DataSharingAgreement.objects.all().delete()  # as a demo seeded before agreements were
    assert selectors.grants_without_agreement().count() == 6
    seed()
    assert not selectors.grants_without_agreement().exists()
    assert AccessGrant.objects.count() == 6
