"""The audit viewer and CSV export: access administrators only, filtered, paged, audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import audit_record
from accounts.audit.verify import verify_chain
from accounts.models import Membership, User
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, login_verified

pytestmark = pytest.mark.django_db
LIST_URL = "/audit/"
EXPORT_URL = "/audit/export.csv"
MakeEvents = Callable[..., list[AuditEvent]]


@pytest.fixture
def admin_client(client: Client, access_admin: User) -> Client:
    login_verified(client, access_admin)
    return client


def events_of(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_urls_are_named() -> None:
    assert reverse("audit:event_list") == LIST_URL
    assert reverse("audit:event_export") == EXPORT_URL


def test_admin_sees_newest_first_with_no_store(
    admin_client: Client, access_admin: User, make_events: MakeEvents
) -> None:
    events = make_events(3, object_type="accounts.accessgrant", object_id="7")
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = [e.pk for e in response.context["page"].events]
    # Signing in was audited first, so it is the oldest event on the page.
    assert shown[:3] == [e.pk for e in reversed(events)]
    assert shown == sorted(shown, reverse=True)
    html = response.content.decode()
    assert '<caption class="govuk-table__caption' in html
    assert 'scope="col"' in html and 'scope="row"' in html
    assert 'class="govuk-table"' in html
    for field in ("person", "organisation", "action", "object_type", "object_id"):
        assert f'<label class="govuk-label govuk-label--s" for="id_{field}">' in html
        assert f'id="id_{field}"' in html
    assert 'for="id_occurred_from"' in html and 'for="id_occurred_to"' in html
    assert 'type="date"' in html


def test_details_read_as_a_description_list_in_a_scroll_region(admin_client: Client) -> None:
    """Details are labelled values, not raw JSON; the wide table scrolls in its own
    keyboard-reachable region instead of widening the page on a phone."""
    audit_record(
        action=Action.USER_CHANGED,
        details={"filters": {"borough": ["E09000028", "E09000022"]}, "rows_returned": 12},
    )
    html = admin_client.get(LIST_URL).content.decode()
    assert "<dt>Filters: borough</dt><dd>E09000028, E09000022</dd>" in html
    assert "<dt>Rows returned</dt><dd>12</dd>" in html
    assert "{&quot;filters&quot;" not in html and '{"filters"' not in html
    region = html.index('class="portal-table-scroll" tabindex="0" role="region" aria-label="')
    assert region < html.index('<table class="govuk-table">')


def test_each_page_view_is_audited_once_with_its_filter(
    admin_client: Client, access_admin: User, make_events: MakeEvents
) -> None:
    make_events(2)
    admin_client.get(LIST_URL, {"action": "grant.revoked", "person": "abc"})
    (viewed,) = events_of(Action.AUDIT_VIEWED)
    assert viewed.actor_id == access_admin.pk
    assert viewed.details["filter"] == {"action": "grant.revoked", "person": "abc"}
    admin_client.get(LIST_URL)
    assert len(events_of(Action.AUDIT_VIEWED)) == 2
    assert verify_chain().ok


def test_filters(admin_client: Client, make_events: MakeEvents) -> None:
    alice = UserFactory(email="alice.filter@example.test")
    org = OrganisationFactory()
    wanted = audit_record(
        action=Action.GRANT_REVOKED,
        actor=alice,
        organisation=org,
        object_type="accounts.accessgrant",
        object_id="42",
    )
    make_events(3)
    audit_record(action=Action.GRANT_REVOKED, object_type="accounts.accessgrant", object_id="43")
    today = timezone.localdate().isoformat()
    for params in (
        {"person": "ALICE.FILTER"},
        {"organisation": org.pk},
        {"action": "grant.revoked", "object_id": "42"},
        {"object_type": "accounts.accessgrant", "object_id": "42"},
        {"person": "alice", "occurred_from": today, "occurred_to": today},
    ):
        response = admin_client.get(LIST_URL, params)
        assert [e.pk for e in response.context["page"].events] == [wanted.pk], params


def test_time_range_excludes_other_days(admin_client: Client, make_events: MakeEvents) -> None:
    make_events(2)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert admin_client.get(LIST_URL, {"occurred_from": tomorrow}).context["page"].events == []
    assert admin_client.get(LIST_URL, {"occurred_to": yesterday}).context["page"].events == []


def test_invalid_filter_shows_errors_and_no_rows(admin_client: Client) -> None:
    response = admin_client.get(LIST_URL, {"action": "not.an.action", "occurred_from": "soon"})
    assert response.status_code == 200
    assert response.context["page"] is None
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "govuk-form-group--error" in html
    assert admin_client.get(EXPORT_URL, {"action": "not.an.action"}).status_code == 400


def test_keyset_pagination_walks_every_event_once(
    admin_client: Client, make_events: MakeEvents, django_assert_max_num_queries
) -> None:
    make_events(60)
    seen: list[int] = []
    response = admin_client.get(LIST_URL, {"action": Action.USER_CHANGED})
    while True:
        page = response.context["page"]
        assert len(page.events) <= 25
        seen.extend(e.pk for e in page.events)
        if page.older_cursor is None:
            break
        assert 'class="govuk-pagination' in response.content.decode()
        # Session, MFA and navigation checks included; the point is it is bounded.
        with django_assert_max_num_queries(30):
            response = admin_client.get(
                LIST_URL, {"action": Action.USER_CHANGED, "before": page.older_cursor}
            )
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 60
    # And back up again from the last page.
    newer = admin_client.get(
        LIST_URL, {"action": Action.USER_CHANGED, "after": page.newer_cursor}
    ).context["page"]
    assert [e.pk for e in newer.events] == seen[25:50]


def test_query_count_does_not_grow_with_the_log(
    admin_client: Client, make_events: MakeEvents, django_assert_max_num_queries
) -> None:
    orgs = [OrganisationFactory() for _ in range(5)]
    for org in orgs:
        make_events(10, organisation=org)
    admin_client.get(LIST_URL)  # the first request of a session does one-off writes
    with django_assert_max_num_queries(30) as captured:
        admin_client.get(LIST_URL)
    few = len(captured)
    for org in orgs:
        make_events(10, organisation=org)
    with django_assert_max_num_queries(few):
        admin_client.get(LIST_URL)


def test_export_streams_the_filter_neutralised_and_is_audited(
    admin_client: Client, access_admin: User, make_events: MakeEvents
) -> None:
    org = OrganisationFactory(name="=Org")
    risky = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    for value in risky:
        audit_record(
            action=Action.GRANT_CHANGED, organisation=org, object_type="t", object_id=value
        )
    make_events(2)  # not matched by the filter
    response = admin_client.get(EXPORT_URL, {"action": Action.GRANT_CHANGED})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    header, data = rows[0], rows[1:]
    assert header[:2] == ["id", "occurred_at"]
    column = header.index("object_id")
    assert [r[column] for r in data] == [f"'{v}" for v in reversed(risky)]
    assert {r[header.index("organisation")] for r in data} == {"'=Org"}
    assert all(r[header.index("action")] == "grant.changed" for r in data)
    (exported,) = events_of(Action.AUDIT_EXPORTED)
    assert exported.actor_id == access_admin.pk
    assert exported.details["filter"] == {"action": "grant.changed"}
    assert exported.details["row_count"] == len(data) == len(risky)
    assert exported.details["format"] == "csv"
    # The export's own audit row is after the snapshot and so not in it.
    assert exported.pk not in {int(r[0]) for r in data}


def test_export_of_everything_matches_the_count(
    admin_client: Client, make_events: MakeEvents, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("accounts.audit.views.EXPORT_CHUNK_SIZE", 7)
    make_events(40)  # several streaming chunks and a partial last one
    rows = csv_rows(admin_client.get(EXPORT_URL))[1:]
    (exported,) = events_of(Action.AUDIT_EXPORTED)
    # Everything: the events above plus the sign-in audited by login_verified.
    assert exported.details["row_count"] == len(rows) == AuditEvent.objects.count() - 1
    ids = [int(r[0]) for r in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) > 40
    assert json.loads(rows[0][9]) == {"n": 39}  # details column, newest first


NON_ADMIN_ROLES = [r for r in Membership.Role.values if r != Membership.Role.ACCESS_ADMIN]


def _persona(kind: str) -> User:
    if kind in NON_ADMIN_ROLES:
        return MembershipFactory(role=kind).user
    if kind == "outsider":
        return UserFactory()
    if kind == "inactive_admin_membership":
        return MembershipFactory(
            role=Membership.Role.ACCESS_ADMIN, is_active=False, organisation__kind="gla"
        ).user
    if kind == "admin_of_inactive_organisation":
        return MembershipFactory(
            role=Membership.Role.ACCESS_ADMIN,
            organisation__is_active=False,
            organisation__kind="gla",
        ).user
    if kind == "admin_outside_the_gla":
        return MembershipFactory(role=Membership.Role.ACCESS_ADMIN).user
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "persona",
    [
        *NON_ADMIN_ROLES,
        "outsider",
        "inactive_admin_membership",
        "admin_of_inactive_organisation",
        "admin_outside_the_gla",
    ],
)
@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
def test_everyone_but_an_active_access_admin_gets_404(
    client: Client, persona: str, url: str, make_events: MakeEvents
) -> None:
    make_events(1, object_id="secret-looking-object")
    user = _persona(persona)
    login_verified(client, user)
    response = client.get(url)
    assert response.status_code == 404
    assert b"secret-looking-object" not in b"".join(
        getattr(response, "streaming_content", [response.content])
    )
    assert events_of(Action.AUDIT_VIEWED) == events_of(Action.AUDIT_EXPORTED) == []
    (denied,) = events_of(Action.ACCESS_DENIED)
    assert denied.actor_id == user.pk
    assert denied.details["reason"] == "out_of_scope"


@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
def test_anonymous_is_sent_to_sign_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
def test_only_get_is_allowed(admin_client: Client, url: str) -> None:
    assert admin_client.post(url).status_code == 405
