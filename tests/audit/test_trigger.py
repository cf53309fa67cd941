"""The database itself refuses to change or remove audit rows."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import audit_record
from tests.audit.conftest import trigger_disabled

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    return audit_record(action=Action.GRANT_REVOKED, details={"reason": "ended"})


def test_orm_update_is_refused(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(details={})
    assert AuditEvent.objects.get(pk=event.pk).details == {"reason": "ended"}


def test_model_save_is_refused(event: AuditEvent) -> None:
    event.action = Action.GRANT_CREATED
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()


def test_orm_delete_is_refused(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor_email = 'someone@else.test'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_raw_sql_is_refused(event: AuditEvent, sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only") as excinfo,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    # insufficient_privilege: Django raises ProgrammingError, as the trigger intends.
    assert excinfo.type.__name__ == "ProgrammingError"
    assert AuditEvent.objects.count() == 1


def test_truncate_is_refused(event: AuditEvent) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # Test connections carry the flag that lets the test runner empty tables;
        # without it (as on every non-test database) TRUNCATE is refused.
        cursor.execute("SET LOCAL istv.audit_allow_truncate = 'off'")
        # Django's deferred FK checks from the insert above would otherwise block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE audit_auditevent CASCADE")
    assert AuditEvent.objects.count() == 1


def test_inserts_still_work_and_a_superuser_can_only_bypass_by_disabling(
    event: AuditEvent,
) -> None:
    audit_record(action=Action.GRANT_CREATED)
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_id = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).object_id == "x"
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(object_id="y")
