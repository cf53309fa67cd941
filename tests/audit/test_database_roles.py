"""The application's database role cannot get round the audit log.

``check --deploy`` warns (``istv.W001``) about a role that is a superuser, owns the audit
table or may change its rows, and every ``migrate`` takes change rights on the table back
(accounts/audit/database_roles.py). The test database is reached as a superuser, so the
other cases act as throwaway roles (``SET ROLE``) inside the test's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core import checks
from django.core.checks.registry import registry
from django.core.management import call_command
from django.db import OperationalError, connection, connections

from accounts.audit import database_roles
from accounts.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def superuser_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (superuser,) = cursor.fetchone()
    if not superuser:
        pytest.skip("the test database is not reached as a superuser")


@contextmanager
def throwaway_role(*, owns_audit_table: bool = False, audit_grant: str = "") -> Iterator[str]:
    """A new NOSUPERUSER role, optionally owning or granted rights on the audit table."""
    role = f"istv_test_{uuid.uuid4().hex[:12]}"
    quoted = connection.ops.quote_name(role)
    table = connection.ops.quote_name(TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {quoted} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", [TABLE])
        (original_owner,) = cursor.fetchone()
        if owns_audit_table:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending events
            cursor.execute(f"ALTER TABLE {table} OWNER TO {quoted}")
        if audit_grant:
            cursor.execute(f"GRANT {audit_grant} ON {table} TO {quoted}")
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            if owns_audit_table:
                owner = connection.ops.quote_name(original_owner)
                cursor.execute(f"ALTER TABLE {table} OWNER TO {owner}")
            cursor.execute(f"REVOKE ALL ON {table} FROM {quoted}")
            cursor.execute(f"DROP ROLE {quoted}")


def set_role(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {connection.ops.quote_name(role)}")


def table_privileges(role: str) -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p, has_table_privilege(%s, %s, p)"
            " FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER'])"
            " AS p",
            [role, TABLE],
        )
        return dict(cursor.fetchall())


def test_the_check_runs_with_the_deployment_checks_only() -> None:
    assert database_roles.check_database_role in registry.get_checks(include_deployment_checks=True)
    assert database_roles.check_database_role not in registry.get_checks()


def test_a_superuser_connection_is_warned_about(superuser_connection: None) -> None:
    messages = database_roles.check_database_role()

    assert [m.id for m in messages] == ["istv.W001"]
    assert isinstance(messages[0], checks.Warning)
    assert "superuser" in messages[0].msg
    # And it is what `manage.py check --deploy` runs.
    reported = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "istv.W001" in {m.id for m in reported}


def test_a_role_that_is_neither_superuser_nor_owner_is_not_warned_about(
    superuser_connection: None,
) -> None:
    with throwaway_role(audit_grant="SELECT, INSERT") as role:
        set_role(role)
        messages = database_roles.check_database_role()

    assert messages == []


def test_a_role_that_owns_the_audit_table_is_warned_about(superuser_connection: None) -> None:
    with throwaway_role(owns_audit_table=True) as role:
        set_role(role)
        messages = database_roles.check_database_role()

    assert [m.id for m in messages] == ["istv.W001"]
    assert f"owns {TABLE}" in messages[0].msg
    assert "superuser" not in messages[0].msg


@pytest.mark.parametrize("right", ["UPDATE", "DELETE", "TRUNCATE"])
def test_a_role_that_may_change_audit_rows_is_warned_about(
    superuser_connection: None, right: str
) -> None:
    with throwaway_role(audit_grant=f"SELECT, INSERT, {right}") as role:
        set_role(role)
        messages = database_roles.check_database_role()

    assert [m.id for m in messages] == ["istv.W001"]
    assert "may UPDATE, DELETE, TRUNCATE" in messages[0].msg


def test_an_unreachable_database_gives_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)

    assert database_roles.check_database_role() == []


def test_revoke_takes_change_rights_on_the_audit_table_back(superuser_connection: None) -> None:
    with throwaway_role(audit_grant="ALL") as role:
        before = table_privileges(role)
        database_roles.revoke_audit_changes(using="default")
        after = table_privileges(role)

    assert all(before.values())
    assert after == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "TRIGGER": False,
    }


def test_every_migrate_ends_by_revoking(superuser_connection: None) -> None:
    with throwaway_role(audit_grant="SELECT, INSERT, UPDATE, DELETE") as role:
        call_command("migrate", verbosity=0)
        after = table_privileges(role)

    assert after["SELECT"] and after["INSERT"]
    assert not (after["UPDATE"] or after["DELETE"])
