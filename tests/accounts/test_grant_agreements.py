"""A grant names an agreement from the register; grants that do not are listed to fix.

The grant form offers only agreements in force that cover the organisation, refuses any
other reference with a message naming the fix, and the reconciling migration plus the
notice on the grant pages deal with grants written before the rule.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from accounts import selectors
from accounts.models import AccessGrant, DataSharingAgreement
from tests.accounts.govuk_errors import error_at, summary_links
from tests.factories import AccessGrantFactory, login_verified, register_agreement

pytestmark = pytest.mark.django_db
LAMBETH = "E09000022"
reconcile = importlib.import_module(
    "accounts.migrations.0006_grant_references_match_the_register"
).forwards


def grant_form(**overrides):
    today = timezone.localdate()
    data = {
        "level": "record",
        "boroughs": [LAMBETH],
        "location_precision": "snapped",
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=90)).isoformat(),
        "agreement_reference": "DSA-LAM-REG",
        "reason": "Joint problem-solving",
    }
    return data | overrides


def select_options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert select is not None, f"no <select name={name}>"
    return re.findall(r'<option value="([^"]*)"', select.group(0))


def test_grant_form_offers_only_agreements_in_force_covering_the_organisation(
    client, access_admin, org_lambeth, org_southwark
):
    register_agreement("DSA-LAM-REG", recipients=[org_lambeth, org_southwark])
    register_agreement("DSA-SWK-ONLY", recipients=[org_southwark])
    register_agreement(
        "DSA-LAM-SUSP", recipients=[org_lambeth], status=DataSharingAgreement.Status.SUSPENDED
    )
    register_agreement(
        "DSA-LAM-OLD",
        recipients=[org_lambeth],
        signed_on=timezone.localdate() - dt.timedelta(days=900),
        ends_on=timezone.localdate() - dt.timedelta(days=1),
    )
    login_verified(client, access_admin)
    url = reverse("accounts:grant_create", kwargs={"organisation_pk": org_lambeth.pk})
    page = client.get(url).content.decode()
    assert select_options(page, "agreement_reference") == ["", "DSA-LAM-REG"]
    assert 'name="agreement_reference" type="text"' not in page


@pytest.mark.parametrize(
    ("reference", "fix"),
    [
        ("DSA-NOT-IN-REGISTER-999", "Choose an agreement from the register"),
        ("DSA-SWK-ONLY", "Choose an agreement that covers this organisation"),
        ("DSA-LAM-SUSP", "Choose an agreement that is in force"),
    ],
)
def test_grant_form_refuses_a_reference_it_does_not_offer(
    client, access_admin, org_lambeth, org_southwark, reference, fix
):
    register_agreement("DSA-LAM-REG", recipients=[org_lambeth])
    register_agreement("DSA-SWK-ONLY", recipients=[org_southwark])
    register_agreement(
        "DSA-LAM-SUSP", recipients=[org_lambeth], status=DataSharingAgreement.Status.SUSPENDED
    )
    login_verified(client, access_admin)
    url = reverse("accounts:grant_create", kwargs={"organisation_pk": org_lambeth.pk})
    response = client.post(url, grant_form(agreement_reference=reference))
    assert response.status_code == 200
    html = response.content.decode()
    assert error_at(html, "agreement_reference").startswith(fix)
    assert summary_links(html)["agreement_reference"].startswith(fix)
    assert not AccessGrant.objects.exists()

    accepted = client.post(url, grant_form())
    assert accepted.status_code == 302
    assert AccessGrant.objects.get().agreement_reference == "DSA-LAM-REG"


def test_grant_form_errors_name_the_field_and_the_fix(client, access_admin, org_lambeth):
    login_verified(client, access_admin)
    url = reverse("accounts:grant_create", kwargs={"organisation_pk": org_lambeth.pk})
    # (An empty POST is an unbound form, as for a first visit: send one empty field.)
    response = client.post(url, {"reason": ""})
    html = response.content.decode()
    assert "This field is required" not in html
    expected = {
        "level": "Choose the level of access",
        "boroughs": "Choose pan-London or at least one borough.",
        "valid_from": "Enter the date the access starts",
        "valid_until": "Enter the date the access ends",
        "agreement_reference": "Choose the data-sharing agreement this grant is under",
        "reason": "Enter why the organisation needs this access",
    }
    for field, message in expected.items():
        assert error_at(html, field) == message, field
    assert {k: v for k, v in summary_links(html).items() if k in expected} == expected

    bad_date = client.post(url, grant_form(valid_from="2026-02-30")).content.decode()
    assert error_at(bad_date, "valid_from") == "The start date must be a real date"


def test_unmatched_grants_are_listed_with_a_link_to_fix_each(
    client, access_admin, org_lambeth, org_mps
):
    register_agreement("DSA-LAM-REG", recipients=[org_lambeth])
    matched = AccessGrantFactory(organisation=org_lambeth, agreement_reference="DSA-LAM-REG")
    unmatched = [
        AccessGrantFactory(organisation=org_lambeth, agreement_reference="DSA-NOT-IN-REGISTER-999"),
        AccessGrantFactory(
            organisation=org_mps,
            agreement_reference="DSA-OLD-MPS",
            valid_from=timezone.localdate() - dt.timedelta(days=400),
            valid_until=timezone.localdate() - dt.timedelta(days=10),
        ),
    ]
    AccessGrantFactory(
        organisation=org_mps, agreement_reference="DSA-GONE", revoked_at=timezone.now()
    )
    assert set(selectors.grants_without_agreement()) == set(unmatched)

    login_verified(client, access_admin)
    for page in ("accounts:grant_list", "accounts:access_review"):
        html = client.get(reverse(page)).content.decode()
        notice = re.search(r'id="unmatched-grants".*?</table>', html, re.S)
        assert notice is not None, page
        assert "2 grants name an agreement that is not in the register" in notice.group(0)
        links = re.findall(r'href="([^"]+/edit/)"', notice.group(0))
        assert sorted(links) == sorted(
            reverse("accounts:grant_edit", kwargs={"pk": g.pk}) for g in unmatched
        )
        assert matched.agreement_reference not in notice.group(0)


def test_fixing_an_unmatched_grant_takes_it_off_the_list(client, access_admin, org_lambeth):
    register_agreement("DSA-LAM-REG", recipients=[org_lambeth])
    grant = AccessGrantFactory(
        organisation=org_lambeth,
        pan_london=False,
        boroughs=[LAMBETH],
        agreement_reference="DSA-NOT-IN-REGISTER-999",
    )
    login_verified(client, access_admin)
    edit = reverse("accounts:grant_edit", kwargs={"pk": grant.pk})
    page = client.get(edit).content.decode()
    # The unregistered reference is not offered, so nothing is chosen for the person.
    agreement_select = re.search(r'<select[^>]*name="agreement_reference".*?</select>', page, re.S)
    assert agreement_select is not None and "selected" not in agreement_select.group(0)
    form = grant_form(
        valid_from=grant.valid_from.isoformat(), valid_until=grant.valid_until.isoformat()
    )
    assert client.post(edit, form).status_code == 302
    grant.refresh_from_db()
    assert grant.agreement_reference == "DSA-LAM-REG"
    assert not selectors.grants_without_agreement().exists()
    assert (
        'id="unmatched-grants"' not in client.get(reverse("accounts:grant_list")).content.decode()
    )


def test_migration_matches_references_ignoring_case_and_whitespace(org_lambeth, org_mps):
    register_agreement("DSA-DEMO-LAM", recipients=[org_lambeth])
    loose = AccessGrantFactory(organisation=org_lambeth, agreement_reference=" dsa-demo-lam ")
    spaced = AccessGrantFactory(organisation=org_lambeth, agreement_reference="DSA -DEMO-LAM")
    exact = AccessGrantFactory(organisation=org_lambeth, agreement_reference="DSA-DEMO-LAM")
    stray = AccessGrantFactory(organisation=org_mps, agreement_reference="DSA-NOWHERE")
    reconcile(apps, None)
    for grant in (loose, spaced, exact, stray):
        grant.refresh_from_db()
    assert [loose.agreement_reference, spaced.agreement_reference, exact.agreement_reference] == [
        "DSA-DEMO-LAM"
    ] * 3
    assert stray.agreement_reference == "DSA-NOWHERE"
    assert list(selectors.grants_without_agreement()) == [stray]
