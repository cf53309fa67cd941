"""Errors on the accounts forms name the field and the fix (GOV.UK style), inline at the
field and in the summary at the top; the invitation leaves the role to the inviter."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import ApiToken, Membership, Organisation, User
from tests.accounts.govuk_errors import error_at, summary_links
from tests.factories import login_verified

pytestmark = pytest.mark.django_db
GENERIC = ("This field is required", "Select a valid choice", "Enter a whole number")


def assert_messages(html: str, expected: dict[str, str]) -> None:
    for generic in GENERIC:
        assert generic not in html
    for field, message in expected.items():
        assert error_at(html, field) == message, field
    summary = summary_links(html)
    assert {name: summary.get(name) for name in expected} == expected


def test_invitation_form_has_no_role_chosen_in_advance(client, access_admin):
    login_verified(client, access_admin)
    html = client.get(reverse("accounts:user_invite")).content.decode()
    roles = re.findall(r'<input[^>]*name="role"[^>]*>', html)
    assert len(roles) == len(Membership.Role.choices)
    assert not [tag for tag in roles if "checked" in tag]
    assert (
        "selected" not in re.search(r'<select[^>]*name="organisation".*?</select>', html, re.S)[0]
    )


def test_invitation_without_a_role_is_refused_with_choose_a_role(
    client, access_admin, org_southwark
):
    login_verified(client, access_admin)
    response = client.post(
        reverse("accounts:user_invite"),
        {
            "email": "invitee@example.test",
            "full_name": "Invited Person",
            "organisation": org_southwark.pk,
        },
    )
    assert response.status_code == 200
    assert_messages(response.content.decode(), {"role": "Choose a role for the person"})
    assert not User.objects.filter(email="invitee@example.test").exists()


def test_invitation_form_errors_name_the_field_and_the_fix(client, access_admin):
    login_verified(client, access_admin)
    url = reverse("accounts:user_invite")
    empty = client.post(url, {"email": ""}).content.decode()
    assert_messages(
        empty,
        {
            "email": "Enter the person's e-mail address",
            "full_name": "Enter the person's full name",
            "organisation": "Choose the organisation the person will join",
            "role": "Choose a role for the person",
        },
    )
    wrong = client.post(
        url,
        {
            "email": "not-an-address",
            "full_name": "x" * 151,
            "organisation": "999999",
            "role": "emperor",
        },
    ).content.decode()
    assert error_at(wrong, "full_name") == "Full name must be 150 characters or fewer"
    assert error_at(wrong, "email").startswith("Enter an e-mail address in the correct format")
    assert error_at(wrong, "organisation") == "Choose an active organisation from the list"
    assert error_at(wrong, "role") == "Choose a role from the list"


def test_token_form_errors_name_the_field_and_the_fix(client, mps_analyst):
    login_verified(client, mps_analyst)
    url = reverse("accounts:token_list")
    assert_messages(
        client.post(url, {"name": "", "days": ""}).content.decode(),
        {
            "name": "Enter a name for the token",
            "days": "Enter how many days the token is valid for",
        },
    )
    limit = settings.API_TOKEN_MAX_DAYS
    too_long = client.post(url, {"name": "R script", "days": limit + 1}).content.decode()
    assert error_at(too_long, "days") == f"Valid for must be {limit} days or fewer"
    zero = client.post(url, {"name": "R script", "days": 0}).content.decode()
    assert error_at(zero, "days") == "Valid for must be at least 1 day"
    words = client.post(url, {"name": "R script", "days": "ninety"}).content.decode()
    assert error_at(words, "days") == "Valid for must be a whole number of days"
    wordy = client.post(url, {"name": "x" * 101, "days": 30}).content.decode()
    assert error_at(wordy, "name") == "Token name must be 100 characters or fewer"
    assert not ApiToken.objects.exists()


def test_organisation_form_errors_name_the_field_and_the_fix(client, access_admin, org_southwark):
    login_verified(client, access_admin)
    url = reverse("accounts:organisation_create")
    assert_messages(
        client.post(url, {"name": ""}).content.decode(),
        {"name": "Enter the organisation's name", "kind": "Choose the type of organisation"},
    )
    csp = client.post(url, {"name": "New CSP", "kind": "csp"}).content.decode()
    assert_messages(csp, {"gss_code": "Choose the borough the CSP serves"})
    hospital = client.post(url, {"name": "New Trust", "kind": "hospital"}).content.decode()
    assert_messages(hospital, {"ods_code": "Enter the ODS code of the hospital trust or site"})
    taken = client.post(url, {"name": org_southwark.name, "kind": "vru"}).content.decode()
    assert error_at(taken, "name").startswith("An organisation with this name already exists")
    assert not Organisation.objects.filter(name__in=["New CSP", "New Trust"]).exists()
    assert "Constraint" not in csp + hospital
