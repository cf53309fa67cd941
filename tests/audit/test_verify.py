"""manage.py verify_audit: catches altered, removed and spliced-in rows, names the first."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import (
    GENESIS_HASH,
    audit_record,
    canonical_payload,
    chain_hash,
    event_hash,
)
from accounts.audit.verify import verify_chain
from tests.audit.conftest import tamper
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
MakeEvents = Callable[..., list[AuditEvent]]


def run_verify(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken_at(*args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        run_verify(*args)
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def test_empty_log_verifies() -> None:
    assert run_verify().startswith("0 events verified.")


def test_intact_chain_passes(make_events: MakeEvents) -> None:
    events = make_events(12)
    out = run_verify("--chunk-size", "5")  # several chunks, including a partial one
    assert out.startswith("12 events verified.")
    assert events[-1].hash in out


def test_altered_row_is_caught(make_events: MakeEvents) -> None:
    events = make_events(6)
    tamper("UPDATE audit_auditevent SET details = '{\"n\": 99}' WHERE id = %s", [events[3].pk])
    message = broken_at("--chunk-size", "2")
    assert f"broken at event {events[3].pk}:" in message
    assert "row altered" in message
    assert "3 events before it verified" in message


def test_deleted_row_is_caught(make_events: MakeEvents) -> None:
    events = make_events(6)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    message = broken_at()
    assert f"broken at event {events[3].pk}:" in message
    assert f"does not match the hash of event {events[1].pk}" in message


def test_deleted_first_row_is_caught(make_events: MakeEvents) -> None:
    events = make_events(3)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])
    message = broken_at()
    assert f"broken at event {events[1].pk}:" in message
    assert "genesis" in message


def _gap_after(event: AuditEvent) -> int:
    """Leave an unused id after ``event``, as a rolled-back append does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_auditevent', 'id'))")
        return cursor.fetchone()[0]


def _forge(event_id: int, prev_hash: str, occurred_at: dt.datetime) -> str:
    """A row an attacker who knows the algorithm would write: internally consistent."""
    payload = canonical_payload(
        event_id=event_id,
        occurred_at=occurred_at,
        actor_id=None,
        actor_email="",
        organisation_id=None,
        action=Action.GRANT_CREATED,
        object_type="",
        object_id="",
        details={"forged": True},
        request_id="",
        ip_address=None,
        user_agent="",
    )
    forged_hash = chain_hash(prev_hash, payload)
    tamper(
        "INSERT INTO audit_auditevent (id, occurred_at, actor_email, action, object_type,"
        " object_id, details, request_id, user_agent, prev_hash, hash)"
        " VALUES (%s, %s, '', %s, '', '', %s, '', '', %s, %s)",
        [
            event_id,
            occurred_at,
            str(Action.GRANT_CREATED),
            json.dumps({"forged": True}),
            prev_hash,
            forged_hash,
        ],
    )
    return forged_hash


def test_row_spliced_in_out_of_order_is_caught(make_events: MakeEvents) -> None:
    first = audit_record(action=Action.USER_CHANGED)
    gap = _gap_after(first)
    later = make_events(3)
    _forge(gap, first.hash, first.occurred_at)
    message = broken_at()
    assert f"broken at event {gap}:" in message
    assert "inserted out of order" in message
    assert f"event {later[0].pk} links past it" in message


def test_naively_forged_row_is_caught_at_itself(make_events: MakeEvents) -> None:
    first = audit_record(action=Action.USER_CHANGED)
    gap = _gap_after(first)
    make_events(2)
    tamper(
        "INSERT INTO audit_auditevent (id, occurred_at, actor_email, action, object_type,"
        " object_id, details, request_id, user_agent, prev_hash, hash)"
        " VALUES (%s, now(), '', 'grant.created', '', '', '{}', '', '', %s, %s)",
        [gap, first.hash, "f" * 64],
    )
    message = broken_at()
    assert f"broken at event {gap}:" in message
    assert "row altered" in message


def test_forged_row_at_the_head_linking_to_an_old_event_is_caught(
    make_events: MakeEvents,
) -> None:
    events = make_events(4)
    forged_id = _gap_after(events[-1])
    _forge(forged_id, events[1].hash, events[-1].occurred_at)
    message = broken_at()
    assert f"broken at event {forged_id}:" in message


# Every column, and a change to it that a tamperer might make.
COLUMN_CHANGES = {
    "id": "id = id + 1000",
    "occurred_at": "occurred_at = occurred_at + interval '1 microsecond'",
    "actor_id": "actor_id = %(other_user)s",
    "actor_email": "actor_email = 'someone@else.test'",
    "organisation_id": "organisation_id = %(other_org)s",
    "action": "action = 'grant.created'",
    "object_type": "object_type = 'accounts.user'",
    "object_id": "object_id = '999'",
    "details": "details = details || '{\"extra\": 1}'",
    "request_id": "request_id = 'other-request'",
    "ip_address": "ip_address = '198.51.100.9'",
    "user_agent": "user_agent = 'Other/1'",
    "prev_hash": "prev_hash = repeat('a', 64)",
    "hash": "hash = repeat('b', 64)",
}


def test_column_list_is_complete() -> None:
    columns = {f.column for f in AuditEvent._meta.concrete_fields}
    assert columns == set(COLUMN_CHANGES)


@pytest.mark.parametrize("column", sorted(COLUMN_CHANGES))
def test_changing_any_single_column_breaks_verification(column: str) -> None:
    user, other_user = UserFactory(), UserFactory()
    org, other_org = OrganisationFactory(), OrganisationFactory()
    events = [
        audit_record(action=Action.USER_CHANGED, actor=user, organisation=org, details={"n": n})
        for n in range(3)
    ]
    # A middle row, except for id: renumbering the last row keeps every link intact, so
    # only the hash covering the id can catch it.
    target = events[-1] if column == "id" else events[1]
    assignment = COLUMN_CHANGES[column] % {"other_user": other_user.pk, "other_org": other_org.pk}
    tamper(f"UPDATE audit_auditevent SET {assignment} WHERE id = %s", [target.pk])  # noqa: S608
    report = verify_chain()
    assert not report.ok
    assert report.problem is not None
    expected_id = target.pk + 1000 if column == "id" else target.pk
    assert report.problem.event_id == expected_id
    assert "row altered" in report.problem.reason


def test_time_going_backwards_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    audit_record(action=Action.USER_CHANGED)
    second = audit_record(action=Action.USER_CHANGED)
    earlier = second.occurred_at - dt.timedelta(minutes=10)
    monkeypatch.setattr("accounts.audit.services.timezone.now", lambda: earlier)
    backdated = audit_record(action=Action.USER_CHANGED)
    monkeypatch.undo()
    assert event_hash(backdated) == backdated.hash  # consistent row, only the time is wrong
    message = broken_at()
    assert f"broken at event {backdated.pk}:" in message
    assert "occurred_at goes back" in message


def test_small_clock_skew_is_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    first = audit_record(action=Action.USER_CHANGED)
    skewed = first.occurred_at - dt.timedelta(seconds=1)
    monkeypatch.setattr("accounts.audit.services.timezone.now", lambda: skewed)
    audit_record(action=Action.USER_CHANGED)
    monkeypatch.undo()
    assert run_verify().startswith("2 events verified.")
    assert "goes back" in broken_at("--clock-tolerance", "0.5")


def test_first_event_starts_from_genesis() -> None:
    assert audit_record(action=Action.USER_CHANGED).prev_hash == GENESIS_HASH
    assert timezone.is_aware(AuditEvent.objects.get().occurred_at)
