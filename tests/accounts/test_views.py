"""Access-administration screens, personal API tokens and immediate revocation."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts import services
from accounts.audit.models import Action, AuditEvent
from accounts.models import AccessGrant, ApiToken, Membership, User
from tests.factories import MembershipFactory, UserFactory, login_verified, register_agreement

pytestmark = pytest.mark.django_db
SOUTHWARK, LAMBETH = "E09000028", "E09000022"


class WhoAmI(APIView):
    """A stand-in API view with the project's default authentication and permission."""

    def get(self, request):
        return Response({"user": request.user.pk})


def api_get(key: str):
    request = APIRequestFactory().get("/api/whoami", HTTP_AUTHORIZATION=f"Token {key}")
    return WhoAmI.as_view()(request)


# --- the home page keeps working ----------------------------------------------------------


def test_home_shows_effective_access(client, southwark_analyst):
    login_verified(client, southwark_analyst)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.context["access"].boroughs == {SOUTHWARK}


# --- immediate revocation -------------------------------------------------------------------


def test_revoking_a_grant_ends_a_live_session_and_tokens_on_the_next_request(
    client, access_admin, southwark_analyst, grant_southwark
):
    key = services.api_token_create(actor=southwark_analyst, name="R", days=30).key
    login_verified(client, southwark_analyst)
    assert client.get(reverse("home")).status_code == 200
    assert api_get(key).status_code == 200

    services.grant_revoke(actor=access_admin, grant=grant_southwark, reason="DSA ended")

    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert "_auth_user_id" not in client.session
    assert api_get(key).status_code in (401, 403)


def test_deactivating_a_user_ends_their_session_and_tokens(client, access_admin, mps_analyst):
    key = services.api_token_create(actor=mps_analyst, name="R", days=30).key
    login_verified(client, mps_analyst)
    assert client.get(reverse("accounts:token_list")).status_code == 200

    admin = client.__class__()
    login_verified(admin, access_admin)
    response = admin.post(
        reverse("accounts:user_deactivate", kwargs={"pk": mps_analyst.pk}), {"reason": "Left"}
    )
    assert response.status_code == 302

    response = client.get(reverse("accounts:token_list"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert api_get(key).status_code in (401, 403)


def test_removing_a_membership_ends_the_session(client, access_admin, southwark_analyst):
    login_verified(client, southwark_analyst)
    assert client.get(reverse("home")).status_code == 200
    services.membership_remove(actor=access_admin, membership=southwark_analyst.memberships.get())
    assert client.get(reverse("home")).status_code == 302


# --- grants through the screens ---------------------------------------------------------------


def grant_form(**overrides):
    data = {
        "level": "record",
        "boroughs": [SOUTHWARK, LAMBETH],
        "download_allowed": "on",
        "location_precision": "snapped",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "agreement_reference": "DSA-UI-1",
        "reason": "Joint problem-solving",
    }
    return data | overrides


def test_admin_grants_edits_and_revokes_through_the_screens(client, access_admin, org_lambeth):
    register_agreement("DSA-UI-1", recipients=[org_lambeth])
    login_verified(client, access_admin)
    url = reverse("accounts:grant_create", kwargs={"organisation_pk": org_lambeth.pk})
    form = client.get(url)
    assert form.status_code == 200
    for code in (SOUTHWARK, LAMBETH):
        assert f'value="{code}"'.encode() in form.content

    response = client.post(url, grant_form())
    assert response.status_code == 302
    grant = AccessGrant.objects.get(organisation=org_lambeth)
    assert grant.boroughs == [LAMBETH, SOUTHWARK] and grant.granted_by == access_admin

    edit = reverse("accounts:grant_edit", kwargs={"pk": grant.pk})
    assert client.post(edit, grant_form(download_allowed="")).status_code == 302
    grant.refresh_from_db()
    assert not grant.download_allowed

    revoke = reverse("accounts:grant_revoke", kwargs={"pk": grant.pk})
    page = client.get(revoke)
    assert b"Why?" in page.content
    assert client.post(revoke, {"reason": ""}).status_code == 200  # a reason is required
    assert client.post(revoke, {"reason": "Agreement withdrawn"}).status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_reason == "Agreement withdrawn"
    actions = list(
        AuditEvent.objects.filter(object_id=str(grant.pk), object_type="accounts.accessgrant")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [Action.GRANT_CREATED, Action.GRANT_CHANGED, Action.GRANT_REVOKED]
    # A revoked grant has no edit or revoke pages.
    assert client.get(edit).status_code == 404
    assert client.get(revoke).status_code == 404


def test_grant_form_errors_are_summarised(client, access_admin, org_lambeth):
    login_verified(client, access_admin)
    url = reverse("accounts:grant_create", kwargs={"organisation_pk": org_lambeth.pk})
    response = client.post(url, grant_form(boroughs=[], valid_until="2025-01-01"))
    assert response.status_code == 200
    assert b"govuk-error-summary" in response.content
    assert b"Choose pan-London or at least one borough." in response.content
    assert not AccessGrant.objects.exists()


def test_csrf_is_required_for_grant_revoke(access_admin, grant_southwark):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_verified(client, access_admin)
    url = reverse("accounts:grant_revoke", kwargs={"pk": grant_southwark.pk})
    assert client.post(url, {"reason": "No token"}).status_code == 403
    grant_southwark.refresh_from_db()
    assert grant_southwark.revoked_at is None


def test_analyst_post_to_revoke_is_forbidden_and_changes_nothing(
    client, southwark_analyst, grant_southwark
):
    login_verified(client, southwark_analyst)
    url = reverse("accounts:grant_revoke", kwargs={"pk": grant_southwark.pk})
    assert client.post(url, {"reason": "x"}).status_code == 403
    grant_southwark.refresh_from_db()
    assert grant_southwark.revoked_at is None
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).exists()


def test_grant_and_revoke_need_an_mfa_verified_session(client, access_admin, grant_southwark):
    # Password only: the session never passed the second factor.
    client.force_login(access_admin, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("accounts:grant_revoke", kwargs={"pk": grant_southwark.pk})
    response = client.post(url, {"reason": "No MFA"})
    assert response.status_code == 302
    grant_southwark.refresh_from_db()
    assert grant_southwark.revoked_at is None
    assert not AuditEvent.objects.filter(action=Action.GRANT_REVOKED).exists()


# --- people, organisations, memberships --------------------------------------------------------


def test_admin_changes_a_membership_narrowing(client, access_admin, southwark_analyst):
    login_verified(client, access_admin)
    membership = southwark_analyst.memberships.get()
    url = reverse("accounts:membership_edit", kwargs={"pk": membership.pk})
    response = client.post(
        url,
        {
            "role": Membership.Role.ANALYST,
            "is_active": "on",
            "narrowed_boroughs": [SOUTHWARK],
            "narrowed_no_download": "on",
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.narrowed_boroughs == [SOUTHWARK] and membership.narrowed_no_download


def test_admin_adds_and_removes_a_membership(client, access_admin, outsider, org_lambeth):
    login_verified(client, access_admin)
    response = client.post(
        reverse("accounts:membership_add"),
        {"user": outsider.pk, "organisation": org_lambeth.pk, "role": "analyst", "is_active": "on"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=outsider)
    remove = reverse("accounts:membership_remove", kwargs={"pk": membership.pk})
    assert client.get(remove).status_code == 200
    assert client.post(remove).status_code == 302
    assert not Membership.objects.filter(user=outsider).exists()


def test_admin_creates_and_edits_an_organisation(client, access_admin):
    login_verified(client, access_admin)
    response = client.post(
        reverse("accounts:organisation_create"),
        {"name": "Camden Community Safety Partnership", "kind": "csp", "gss_code": "E09000007"},
    )
    assert response.status_code == 302
    org = AuditEvent.objects.get(action=Action.ORGANISATION_CREATED).object_id
    edit = reverse("accounts:organisation_edit", kwargs={"pk": org})
    response = client.post(
        edit, {"name": "Camden CSP", "kind": "csp", "gss_code": "E09000007", "is_active": "on"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.get(action=Action.ORGANISATION_CHANGED).details["after"] == {
        "name": "Camden CSP"
    }


def test_csp_without_a_borough_is_refused(client, access_admin):
    login_verified(client, access_admin)
    response = client.post(
        reverse("accounts:organisation_create"), {"name": "Nowhere", "kind": "csp", "gss_code": ""}
    )
    assert response.status_code == 200 and b"govuk-error-summary" in response.content


def test_admin_reactivates_a_user(client, access_admin, southwark_analyst):
    services.user_deactivate(actor=access_admin, user=southwark_analyst)
    login_verified(client, access_admin)
    url = reverse("accounts:user_reactivate", kwargs={"pk": southwark_analyst.pk})
    assert client.post(url).status_code == 302
    assert User.objects.get(pk=southwark_analyst.pk).status == User.Status.ACTIVE


def test_upload_rights_screen(client, access_admin, liaison_a, liaison_b, site_a, site_b):
    login_verified(client, access_admin)
    page = client.get(reverse("upload_rights:list"))
    assert page.status_code == 200
    assert b"liaison_a@personas.test" in page.content
    # A liaison of trust A cannot be given trust B's site.
    response = client.post(reverse("upload_rights:list"), {"site": site_b.pk, "user": liaison_a.pk})
    assert response.status_code == 200 and b"govuk-error-summary" in response.content
    revoke = reverse("upload_rights:revoke", kwargs={"site_pk": site_a.pk, "user_pk": liaison_a.pk})
    assert client.post(revoke).status_code == 302
    assert not User.objects.get(pk=liaison_a.pk).has_perm("hospitals.upload_submission", site_a)


def test_org_lead_sees_only_their_own_people_read_only(
    client, org_lead, southwark_analyst, lambeth_analyst, org_southwark
):
    login_verified(client, org_lead)
    page = client.get(reverse("accounts:organisation_people", kwargs={"pk": org_southwark.pk}))
    assert page.status_code == 200
    assert b"southwark_analyst@personas.test" in page.content
    assert b"lambeth_analyst@personas.test" not in page.content
    assert b"<form" not in page.content.split(b"<main", 1)[1].split(b"</main>", 1)[0]
    shortcut = client.get(reverse("accounts:my_organisation"))
    assert shortcut["Location"] == reverse(
        "accounts:organisation_people", kwargs={"pk": org_southwark.pk}
    )


# --- lists are bounded --------------------------------------------------------------------------


@pytest.fixture
def crowd(org_southwark, org_lambeth, grant_southwark, grant_lambeth):
    for n in range(30):
        org = org_southwark if n % 2 else org_lambeth
        MembershipFactory(user=UserFactory(with_mfa=False), organisation=org)


@pytest.mark.parametrize(
    "name",
    [
        "accounts:user_list",
        "accounts:organisation_list",
        "accounts:grant_list",
        "accounts:access_review",
        "upload_rights:list",
    ],
)
def test_list_pages_use_a_bounded_number_of_queries(
    client, access_admin, crowd, name, django_assert_max_num_queries
):
    login_verified(client, access_admin)
    client.get(reverse(name))  # warm caches (content types, session)
    with django_assert_max_num_queries(25):
        response = client.get(reverse(name))
    assert response.status_code == 200


def test_access_review_lists_access_and_expiring_grants(
    client, access_admin, southwark_analyst, aggregate_user, mopac_analyst
):
    login_verified(client, access_admin)
    response = client.get(reverse("accounts:access_review"))
    assert response.status_code == 200
    rows = {row.user.email: row for row in response.context["rows"]}
    assert rows[southwark_analyst.email].access.summary().startswith("Record level: Southwark")
    assert rows[aggregate_user.email].access.summary().startswith("Aggregate only")
    # MOPAC's grant ends within 30 days; the others do not.
    assert [g.agreement_reference for g in response.context["expiring"]] == ["DSA-MOPAC"]


def test_access_review_last_data_access_comes_from_the_audit_log(
    client, access_admin, southwark_analyst, aggregate_user, outsider
):
    import datetime as dt

    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts import selectors
    from accounts.audit.services import audit_record

    viewed = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))
    downloaded = timezone.make_aware(dt.datetime(2026, 3, 9, 15, 30))
    called = timezone.make_aware(dt.datetime(2026, 3, 4, 9, 0))
    plan = [
        (viewed, southwark_analyst, Action.DATA_VIEWED, {}),
        (downloaded, southwark_analyst, Action.DATA_DOWNLOADED, {"stage": "started"}),
        (called, aggregate_user, Action.API_CALLED, {"endpoint": "aggregates"}),
        # Not data access: a sign-in, and an API call that was refused.
        (downloaded + dt.timedelta(days=1), aggregate_user, Action.LOGIN_SUCCESS, {}),
        (downloaded + dt.timedelta(days=2), aggregate_user, Action.API_CALLED, {"status": 400}),
    ]
    for when, actor, action, details in plan:
        with time_machine.travel(when, tick=False):
            audit_record(action=action, actor=actor, details=details)

    # The page's rows: one audit query for every person, not one each.
    people = [southwark_analyst, aggregate_user, outsider]
    with CaptureQueriesContext(connection) as queries:
        rows = {row.user.pk: row for row in selectors.access_review(users=people)}
    table = AuditEvent._meta.db_table
    assert sum(table in q["sql"] for q in queries.captured_queries) == 1
    assert rows[southwark_analyst.pk].last_data_access == downloaded
    assert rows[aggregate_user.pk].last_data_access == called
    assert rows[outsider.pk].last_data_access is None

    login_verified(client, access_admin)
    page = client.get(reverse("accounts:access_review"))
    assert page.status_code == 200
    shown = {row.user.pk: row.last_data_access for row in page.context["rows"]}
    assert shown[southwark_analyst.pk] == downloaded
    body = page.content.decode()
    assert "9 Mar 2026" in body
    assert shown[outsider.pk] is None
    detail = client.get(reverse("accounts:user_detail", args=[outsider.pk])).content.decode()
    assert 'Last data access</dt><dd class="govuk-summary-list__value">Never' in detail
    detail = client.get(reverse("accounts:user_detail", args=[southwark_analyst.pk]))
    assert "9 Mar 2026" in detail.content.decode()
    body = b"".join(client.get(reverse("accounts:access_review_csv")).streaming_content)
    by_email = {r["email"]: r for r in csv.DictReader(io.StringIO(body.decode()))}
    assert by_email[southwark_analyst.email]["last data access"] == downloaded.isoformat()
    assert by_email[outsider.email]["last data access"] == ""


def test_access_review_csv(client, access_admin, southwark_analyst, outsider):
    outsider.full_name = "=HYPERLINK(1)"
    outsider.save(update_fields=["full_name"])
    login_verified(client, access_admin)
    response = client.get(reverse("accounts:access_review_csv"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    by_email = {row["email"]: row for row in rows}
    assert by_email[southwark_analyst.email]["roles"] == (
        "Analyst (Southwark Community Safety Partnership)"
    )
    assert by_email[southwark_analyst.email]["effective access"].startswith("Record level")
    assert by_email[outsider.email]["name"] == "'=HYPERLINK(1)"
    assert by_email[outsider.email]["effective access"] == "No access to incident data"
    exported = AuditEvent.objects.get(action=Action.ACCESS_REVIEW_EXPORTED)
    assert exported.actor_id == access_admin.pk
    assert exported.details["row_count"] == len(rows)


# --- personal API tokens -------------------------------------------------------------------------


def test_token_page_shows_the_key_once_and_stores_a_digest(client, mps_analyst, settings):
    login_verified(client, mps_analyst)
    response = client.post(reverse("accounts:token_list"), {"name": "QGIS", "days": 30})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key and key.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=mps_analyst)
    assert token.digest != key and key.startswith(token.prefix)
    assert api_get(key).status_code == 200
    again = client.get(reverse("accounts:token_list"))
    assert key.encode() not in again.content and token.prefix.encode() in again.content

    too_long = client.post(
        reverse("accounts:token_list"),
        {"name": "Forever", "days": settings.API_TOKEN_MAX_DAYS + 1},
    )
    assert b"govuk-error-summary" in too_long.content
    assert ApiToken.objects.filter(user=mps_analyst).count() == 1

    revoke = reverse("accounts:token_revoke", kwargs={"pk": token.pk})
    assert client.post(revoke).status_code == 302
    assert api_get(key).status_code in (401, 403)


def test_token_panel_shows_the_whole_key_with_a_copy_button_and_the_api_docs(client, mps_analyst):
    login_verified(client, mps_analyst)
    response = client.post(reverse("accounts:token_list"), {"name": "R script", "days": 30})
    html = response.content.decode()
    key = response.context["new_key"]
    shown = re.search(r'<code id="new-token-key"[^>]*>([^<]*)</code>', html)
    assert shown is not None and shown.group(1) == key
    button = re.search(r"<button[^>]*data-copy-target=\"new-token-key\"[^>]*>", html)
    assert button is not None and 'type="button"' in button.group(0)
    status = re.search(r'data-copy-status="([^"]+)"', button.group(0))
    assert status is not None
    assert re.search(rf'id="{status.group(1)}"[^>]*aria-live="polite"', html)
    assert f'href="{reverse("api-docs")}"' in html
    # No inline script: the copy behaviour is static/js/portal.js (the CSP forbids inline).
    assert "<script>" not in html and "onclick" not in html


def test_another_persons_token_is_not_found(client, mps_analyst, southwark_analyst):
    token = services.api_token_create(actor=mps_analyst, name="R", days=5).token
    login_verified(client, southwark_analyst)
    response = client.post(reverse("accounts:token_revoke", kwargs={"pk": token.pk}))
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_create_api_token_command_prints_a_working_key(mps_analyst):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_api_token", "--email", mps_analyst.email, "--days", "7", stdout=out)
    key = out.getvalue().strip()
    assert api_get(key).status_code == 200
    token = ApiToken.objects.get(user=mps_analyst)
    assert (token.expires_at - token.created_at).days == 7


def test_create_api_token_command_refuses_unknown_people_and_long_lives(mps_analyst, settings):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("create_api_token", "--email", "nobody@example.test", "--days", "7")
    with pytest.raises(CommandError):
        call_command(
            "create_api_token",
            "--email",
            mps_analyst.email,
            "--days",
            str(settings.API_TOKEN_MAX_DAYS + 1),
        )
