"""Named personas (the portal's users, docs/roles.md) as pytest fixtures, loaded by
tests/conftest.py.

Every persona is an active user with TOTP set up; sign one in on a test client with
``login_verified(client, persona)`` (or the ``login_as`` fixture). Organisations, sites and
grants are fixtures too, so a test asks only for what it uses:

==================  ===========================================================
liaison_a           hospital liaison at trust RJ1, upload right on site RJ122
liaison_b           hospital liaison at trust R1H, upload right on site R1H12
southwark_analyst   Southwark CSP analyst: record level, Southwark only
lambeth_analyst     Lambeth CSP analyst: record level, Lambeth only, no free text
mps_analyst         MPS analyst: record level, pan-London, downloads
aggregate_user      VRU analyst: aggregate only, pan-London
mopac_analyst       MOPAC analyst: record level pan-London, LSOA precision, no downloads
data_manager        GLA data manager (record level pan-London through the GLA grant)
access_admin        GLA access administrator
org_lead            organisation lead of the Southwark CSP
outsider            active, MFA set up, no memberships at all
==================  ===========================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.models import AccessGrant, DataSharingAgreement, Membership, Organisation, User
from hospitals.models import HospitalSite
from tests.factories import (
    AccessGrantFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    login_verified,
    register_agreement,
)

SOUTHWARK, LAMBETH = "E09000028", "E09000022"
PERSONAS = (
    "liaison_a",
    "liaison_b",
    "southwark_analyst",
    "lambeth_analyst",
    "mps_analyst",
    "aggregate_user",
    "mopac_analyst",
    "data_manager",
    "access_admin",
    "org_lead",
    "outsider",
)
Kind = Organisation.Kind
Role = Membership.Role
Level = AccessGrant.Level
Precision = AccessGrant.Precision


def _member(organisation: Organisation, role: str, label: str) -> User:
    user = UserFactory(email=f"{label}@personas.test", full_name=label.replace("_", " ").title())
    MembershipFactory(user=user, organisation=organisation, role=role)
    return user


# --- organisations, sites and grants ---------------------------------------------------


@pytest.fixture
def org_gla(db: None) -> Organisation:
    return OrganisationFactory(name="Greater London Authority", kind=Kind.GLA)


@pytest.fixture
def org_mps(db: None) -> Organisation:
    return OrganisationFactory(name="Metropolitan Police Service", kind=Kind.MPS)


@pytest.fixture
def org_vru(db: None) -> Organisation:
    return OrganisationFactory(name="Violence Reduction Unit", kind=Kind.VRU)


@pytest.fixture
def org_mopac(db: None) -> Organisation:
    return OrganisationFactory(name="MOPAC", kind=Kind.MOPAC)


@pytest.fixture
def org_southwark(db: None) -> Organisation:
    return OrganisationFactory(
        name="Southwark Community Safety Partnership", kind=Kind.CSP, gss_code=SOUTHWARK
    )


@pytest.fixture
def org_lambeth(db: None) -> Organisation:
    return OrganisationFactory(
        name="Lambeth Community Safety Partnership", kind=Kind.CSP, gss_code=LAMBETH
    )


@pytest.fixture
def trust_a(db: None) -> Organisation:
    return OrganisationFactory(name="Trust A (RJ1)", kind=Kind.HOSPITAL, ods_code="RJ1")


@pytest.fixture
def trust_b(db: None) -> Organisation:
    return OrganisationFactory(name="Trust B (R1H)", kind=Kind.HOSPITAL, ods_code="R1H")


@pytest.fixture
def site_a(trust_a: Organisation) -> HospitalSite:
    return HospitalSite.objects.create(
        site_code="RJ122",
        name="St Thomas' Hospital",
        trust_code="RJ1",
        trust_name=trust_a.name,
        organisation=trust_a,
        borough_code=LAMBETH,
    )


@pytest.fixture
def site_b(trust_b: Organisation) -> HospitalSite:
    return HospitalSite.objects.create(
        site_code="R1H12",
        name="The Royal London Hospital",
        trust_code="R1H",
        trust_name=trust_b.name,
        organisation=trust_b,
        borough_code="E09000030",
    )


@pytest.fixture
def grant_gla(org_gla: Organisation) -> AccessGrant:
    return AccessGrantFactory(organisation=org_gla, agreement_reference="DSA-GLA")


@pytest.fixture
def grant_mps(org_mps: Organisation) -> AccessGrant:
    return AccessGrantFactory(organisation=org_mps, agreement_reference="DSA-MPS")


@pytest.fixture
def grant_southwark(org_southwark: Organisation) -> AccessGrant:
    return AccessGrantFactory(
        organisation=org_southwark,
        pan_london=False,
        boroughs=[SOUTHWARK],
        location_precision=Precision.SNAPPED,
        agreement_reference="DSA-SWK",
    )


@pytest.fixture
def grant_lambeth(org_lambeth: Organisation) -> AccessGrant:
    return AccessGrantFactory(
        organisation=org_lambeth,
        pan_london=False,
        boroughs=[LAMBETH],
        free_text_visible=False,
        location_precision=Precision.SNAPPED,
        agreement_reference="DSA-LAM",
    )


@pytest.fixture
def grant_vru(org_vru: Organisation) -> AccessGrant:
    return AccessGrantFactory(
        organisation=org_vru,
        level=Level.AGGREGATE,
        free_text_visible=False,
        location_precision=Precision.LSOA,
        agreement_reference="DSA-VRU",
    )


@pytest.fixture
def grant_mopac(org_mopac: Organisation) -> AccessGrant:
    return AccessGrantFactory(
        organisation=org_mopac,
        download_allowed=False,
        free_text_visible=False,
        location_precision=Precision.LSOA,
        agreement_reference="DSA-MOPAC",
        valid_until=timezone.localdate() + dt.timedelta(days=20),
    )


@pytest.fixture
def agreement_southwark(org_southwark: Organisation) -> DataSharingAgreement:
    """A registered agreement in force with the Southwark CSP as recipient: what a new or
    changed Southwark grant must name (the persona grants above predate the register)."""
    return register_agreement("DSA-SWK-REG", recipients=[org_southwark])


# --- personas ---------------------------------------------------------------------------


@pytest.fixture
def liaison_a(trust_a: Organisation, site_a: HospitalSite) -> User:
    user = _member(trust_a, Role.LIAISON, "liaison_a")
    assign_perm("hospitals.upload_submission", user, site_a)
    return user


@pytest.fixture
def liaison_b(trust_b: Organisation, site_b: HospitalSite) -> User:
    user = _member(trust_b, Role.LIAISON, "liaison_b")
    assign_perm("hospitals.upload_submission", user, site_b)
    return user


@pytest.fixture
def southwark_analyst(org_southwark: Organisation, grant_southwark: AccessGrant) -> User:
    return _member(org_southwark, Role.ANALYST, "southwark_analyst")


@pytest.fixture
def lambeth_analyst(org_lambeth: Organisation, grant_lambeth: AccessGrant) -> User:
    return _member(org_lambeth, Role.ANALYST, "lambeth_analyst")


@pytest.fixture
def mps_analyst(org_mps: Organisation, grant_mps: AccessGrant) -> User:
    return _member(org_mps, Role.ANALYST, "mps_analyst")


@pytest.fixture
def aggregate_user(org_vru: Organisation, grant_vru: AccessGrant) -> User:
    return _member(org_vru, Role.ANALYST, "aggregate_user")


@pytest.fixture
def mopac_analyst(org_mopac: Organisation, grant_mopac: AccessGrant) -> User:
    return _member(org_mopac, Role.ANALYST, "mopac_analyst")


@pytest.fixture
def data_manager(org_gla: Organisation, grant_gla: AccessGrant) -> User:
    return _member(org_gla, Role.DATA_MANAGER, "data_manager")


@pytest.fixture
def access_admin(org_gla: Organisation) -> User:
    return _member(org_gla, Role.ACCESS_ADMIN, "access_admin")


@pytest.fixture
def org_lead(org_southwark: Organisation, grant_southwark: AccessGrant) -> User:
    return _member(org_southwark, Role.ORG_LEAD, "org_lead")


@pytest.fixture
def outsider(db: None) -> User:
    return UserFactory(email="outsider@personas.test", full_name="Outsider")


@pytest.fixture
def login_as(client: Client) -> Callable[[User], Client]:
    """``login_as(persona)`` signs the persona in (password + TOTP) on ``client``."""

    def _login(user: User) -> Client:
        login_verified(client, user)
        return client

    return _login
