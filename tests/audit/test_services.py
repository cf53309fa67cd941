"""audit_record: the closed action list, honest details, chaining and the external sink."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import (
    GENESIS_HASH,
    AuditDetailsError,
    audit_record,
    event_hash,
)
from accounts.audit.verify import verify_chain
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_events_chain_from_genesis() -> None:
    first = audit_record(action=Action.ORGANISATION_CREATED)
    second = audit_record(action=Action.ORGANISATION_CHANGED)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.pk > first.pk
    stored = AuditEvent.objects.get(pk=second.pk)
    assert event_hash(stored) == stored.hash == second.hash


def test_records_actor_object_and_request_context() -> None:
    membership = MembershipFactory()
    user = membership.user
    request = RequestFactory().get(
        "/x", REMOTE_ADDR="2001:DB8:0:0::1", HTTP_USER_AGENT="Browser/1.0"
    )
    request.request_id = "req-12345678"  # type: ignore[attr-defined]
    event = audit_record(
        action="membership.changed",
        actor=user,
        organisation=membership.organisation,
        obj=membership,
        details={"before": {"role": "analyst"}, "after": {"role": "org_lead"}},
        request=request,
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id == user.pk
    assert stored.actor_email == user.email
    assert stored.organisation_id == membership.organisation_id
    assert (stored.object_type, stored.object_id) == ("accounts.membership", str(membership.pk))
    assert stored.ip_address == "2001:db8::1"  # PostgreSQL's form, so the hash round-trips
    assert stored.user_agent == "Browser/1.0"
    assert stored.request_id == "req-12345678"
    assert stored.details == {"before": {"role": "analyst"}, "after": {"role": "org_lead"}}
    assert verify_chain().ok


def test_anonymous_actor_is_not_linked() -> None:
    event = audit_record(action=Action.LOGIN_FAILURE, actor=AnonymousUser())  # type: ignore[arg-type]
    assert event.actor_id is None
    assert event.actor_email == ""


def test_refuses_unknown_action_and_writes_nothing() -> None:
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(action="user.teleported")
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "details",
    [
        {"thing": object()},
        {"nested": [{"when": dt.time}]},
        {"ratio": float("nan")},
        {"ratio": float("inf")},
        {1: "non-string key"},
        ["not", "a", "mapping"],
    ],
    ids=["object", "callable", "nan", "inf", "int-key", "list"],
)
def test_refuses_details_that_are_not_json(details: object) -> None:
    with pytest.raises(AuditDetailsError):
        audit_record(action=Action.USER_CHANGED, details=details)  # type: ignore[arg-type]
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "details",
    [
        {"password": "x"},
        {"after": {"totp_secret": "x"}},
        {"changes": [{"recovery_codes": ["a"]}]},
        {"csrfmiddlewaretoken": "x"},
        {"Session_Key": "x"},
    ],
)
def test_refuses_credentials_in_details_instead_of_stripping(details: dict) -> None:
    with pytest.raises(AuditDetailsError, match="credential"):
        audit_record(action=Action.USER_CHANGED, details=details)
    assert not AuditEvent.objects.exists()


def test_details_are_kept_whole_with_lossless_text_for_django_types() -> None:
    when = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    details = {
        "filter": {"boroughs": ["E09000028", "E09000022"], "from": dt.date(2026, 1, 1)},
        "at": when,
        "amount": Decimal("1.50"),
        "id": ident,
        "big": 1e20,
        "small": 0.1,
        "unicode": "Zoë \u2013 \u201cquoted\u201d",
        "empty": {},
        "none": None,
    }
    event = audit_record(action=Action.DATA_DOWNLOADED, details=details)
    stored = AuditEvent.objects.get(pk=event.pk).details
    assert stored["filter"] == {"boroughs": ["E09000028", "E09000022"], "from": "2026-01-01"}
    assert stored["at"] == "2026-03-01T12:30:00+00:00"
    assert stored["amount"] == "1.50"
    assert stored["id"] == str(ident)
    assert stored["unicode"] == "Zoë \u2013 \u201cquoted\u201d"
    assert set(stored) == set(details)  # nothing dropped
    # jsonb rewrites 1e20 as an integer; the hash was taken over the stored form.
    assert event_hash(AuditEvent.objects.get(pk=event.pk)) == event.hash
    assert verify_chain().ok


def test_naive_datetime_in_details_is_refused() -> None:
    with pytest.raises(AuditDetailsError, match="Naive"):
        audit_record(action=Action.USER_CHANGED, details={"at": dt.datetime(2026, 1, 1)})


def test_event_ships_one_json_line_after_commit(
    caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory()
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="Agent/2")
    caplog.set_level(logging.INFO, logger="istv.audit")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = audit_record(
            action=Action.GRANT_CREATED, actor=user, details={"level": "record"}, request=request
        )
    assert not [r for r in caplog.records if r.name == "istv.audit"]  # nothing before commit
    for callback in callbacks:
        callback()
    lines = [r.getMessage() for r in caplog.records if r.name == "istv.audit"]
    assert len(lines) == 1
    shipped = json.loads(lines[0])
    assert shipped["id"] == event.pk
    assert shipped["action"] == "grant.created"
    assert shipped["actor_id"] == user.pk
    assert shipped["details"] == {"level": "record"}
    assert (shipped["prev_hash"], shipped["hash"]) == (event.prev_hash, event.hash)
    assert shipped["occurred_at"].endswith("+00:00")
    # Personal data stays in the database: no e-mail, address or browser string.
    assert user.email not in lines[0]
    assert "192.0.2.7" not in lines[0]
    assert "Agent/2" not in lines[0]


def test_rolled_back_event_is_never_shipped(
    caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks
) -> None:
    caplog.set_level(logging.INFO, logger="istv.audit")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        audit_record(action=Action.USER_CHANGED)
        raise RuntimeError("the change failed")
    assert callbacks == []
    assert not [r for r in caplog.records if r.name == "istv.audit"]
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("field", ["object_type", "object_id"])
def test_overlong_object_reference_is_refused_not_truncated(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        audit_record(action=Action.USER_CHANGED, **{field: "x" * 65})
    assert not AuditEvent.objects.exists()


def test_details_with_floats_are_hashed_as_stored() -> None:
    """jsonb keeps numbers as decimals (1e+100 reads back as an integer): the append asks
    PostgreSQL for the stored form of details holding a float, so the chain verifies."""
    event = audit_record(
        action=Action.DATA_VIEWED, details={"share": 0.1, "big": 1e100, "nested": [2.50]}
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == event.details
    assert event.details["big"] == 10**100
    assert event_hash(stored) == stored.hash == event.hash
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_an_append_outside_a_transaction_is_one_statement(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A data view appends in autocommit: one statement, its own transaction (no BEGIN or
    COMMIT around it, so the chain lock is never held between round trips), shipped."""
    assert not connection.in_atomic_block
    with (
        caplog.at_level(logging.INFO, logger="istv.audit"),
        CaptureQueriesContext(connection) as queries,
    ):
        event = audit_record(action=Action.DATA_VIEWED, details={"endpoint": "pages/explore"})
    assert [q["sql"].split("(")[0] for q in queries.captured_queries] == [
        "SELECT * FROM audit_append"
    ]
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.prev_hash, stored.hash, stored.occurred_at) == (
        event.prev_hash,
        event.hash,
        event.occurred_at,
    )
    assert [json.loads(r.getMessage())["id"] for r in caplog.records] == [event.pk]
