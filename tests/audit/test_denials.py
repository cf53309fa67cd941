"""Every denied request is audited once; ordinary 404s and redirects are not."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from tests.factories import OrganisationFactory, login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audit.urls")]


@pytest.fixture
def signed_in(client: Client, analyst: User) -> Client:
    login_verified(client, analyst)
    return client


def denials() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.ACCESS_DENIED))


@pytest.mark.parametrize("url", ["/t/forbidden/", "/t/forbidden-response/", "/t/api/forbidden/"])
def test_403_is_audited_and_logged(
    signed_in: Client,
    analyst: User,
    url: str,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks,
) -> None:
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.get(url, {"token": "query-strings-are-not-kept"})
    assert response.status_code == 403
    (event,) = denials()
    assert event.actor_id == analyst.pk
    assert event.details["status"] == 403
    assert event.details["reason"] == "forbidden"
    assert event.details["method"] == "GET"
    assert event.details["path"] == url
    assert event.request_id == response["X-Request-ID"]
    assert "query-strings-are-not-kept" not in json.dumps(event.details)
    (line,) = [r for r in caplog.records if r.name == "istv.security"]
    assert line.levelno == logging.WARNING
    assert line.event == "auth.denied"  # type: ignore[attr-defined]
    assert line.status == 403  # type: ignore[attr-defined]
    assert line.user_id == analyst.pk  # type: ignore[attr-defined]
    # ...and the audit row itself went to the external sink once committed.
    assert any(
        json.loads(r.getMessage())["id"] == event.pk
        for r in caplog.records
        if r.name == "istv.audit"
    )


@pytest.mark.parametrize("url", ["/t/organisations/{pk}/", "/t/api/organisations/{pk}/"])
def test_out_of_scope_is_404_and_audited(signed_in: Client, analyst: User, url: str) -> None:
    hidden = OrganisationFactory(is_active=False)
    response = signed_in.get(url.format(pk=hidden.pk))
    assert response.status_code == 404
    assert hidden.name.encode() not in response.content
    (event,) = denials()
    assert event.actor_id == analyst.pk
    assert event.details["status"] == 404
    assert event.details["reason"] == "out_of_scope"
    assert (event.object_type, event.object_id) == ("accounts.organisation", str(hidden.pk))


@pytest.mark.parametrize("url", ["/t/organisations/{pk}/", "/t/api/organisations/{pk}/"])
def test_in_scope_object_is_served_without_a_denial(signed_in: Client, url: str) -> None:
    visible = OrganisationFactory()
    response = signed_in.get(url.format(pk=visible.pk))
    assert response.status_code == 200
    assert visible.name.encode() in response.content
    assert denials() == []


@pytest.mark.parametrize(
    "url",
    [
        "/t/missing/",
        "/no/such/page/",
        "/t/organisations/987654/",  # absent, not out of scope
        "/t/api/organisations/987654/",
    ],
)
def test_ordinary_404_is_not_a_denial(signed_in: Client, url: str) -> None:
    assert signed_in.get(url).status_code == 404
    assert denials() == []


def test_view_that_records_its_own_denial_is_not_recorded_twice(signed_in: Client) -> None:
    assert signed_in.get("/t/recorded-by-view/").status_code == 403
    assert len(denials()) == 1


def test_anonymous_redirect_to_sign_in_is_not_a_denial(client: Client) -> None:
    response = client.get("/audit/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert denials() == []


def test_anonymous_403_is_audited_without_an_actor(client: Client) -> None:
    assert client.get("/t/forbidden/").status_code == 403
    (event,) = denials()
    assert event.actor_id is None
    assert event.actor_email == ""


def test_csrf_failure_is_a_denial(analyst: User) -> None:
    client = Client(enforce_csrf_checks=True)
    login_verified(client, analyst)
    assert client.post("/t/forbidden/").status_code == 403
    (event,) = denials()
    assert event.details["method"] == "POST"


def test_an_audit_failure_does_not_turn_a_denial_into_an_error(
    signed_in: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: object) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("accounts.audit.denials.audit_record", broken)
    assert signed_in.get("/t/forbidden/").status_code == 403
    assert any(r.name == "istv.security" and r.levelno == logging.ERROR for r in caplog.records)
