"""The database role the portal connects as must not be able to get round the audit log.

The append-only trigger (migration ``audit.0002``) stops the application, but a superuser
can switch triggers off for its session (``SET session_replication_role = replica``) and
the table's owner can ``ALTER TABLE ... DISABLE TRIGGER``. So production runs two roles
(docs/operations.md, "Database roles"): an owner that runs migrations, and a runtime role
for web, worker and scheduler that is neither, and holds only ``SELECT`` and ``INSERT`` on
the audit table (docs/audit.md, "The trigger").

Two pieces hold this here:

- :func:`revoke_audit_changes` runs after every ``migrate`` (as the owner) and takes
  ``UPDATE``, ``DELETE``, ``TRUNCATE`` and ``TRIGGER`` on the audit table back from every
  role but its owner. The owner's default privileges give the runtime role read and write
  on every table a migration creates, this one included; this narrows that one table, and
  doing it on every ``migrate`` restores it after a restore or a broad ``GRANT``.
- :func:`check_database_role`, a deployment check (``manage.py check --deploy``), warns
  (``istv.W001``) when the connected role is a superuser, owns the audit table (or may
  act as the role that does), or may update, delete or truncate its rows. When the
  database cannot be reached the check says nothing: it cannot see the role, and the
  settings-only deploy checks must still run on a machine without the database (the image
  build, CI). Run ``check --deploy`` where the database is reachable to get its verdict.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core import checks
from django.db import DatabaseError, connections, router

logger = logging.getLogger(__name__)

CHECK_ID = "istv.W001"
# Privileges that would let a role rewrite or remove events (or add a trigger of its own).
_CHANGE_PRIVILEGES = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER")


def _audit_table() -> tuple[str, str]:
    """The audit table's name and the database alias it is written to."""
    from accounts.audit.models import AuditEvent

    return AuditEvent._meta.db_table, router.db_for_write(AuditEvent)


def revoke_audit_changes(*, using: str) -> None:
    """Take change privileges on the audit table back from every role but its owner.

    Idempotent and quiet when there is nothing to take back (development and test
    databases, where the superuser owns everything and nothing is granted).
    """
    table, _alias = _audit_table()
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    privileges = ", ".join(_CHANGE_PRIVILEGES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT CASE WHEN acl.grantee = 0 THEN 'PUBLIC'"
            " ELSE quote_ident(pg_get_userbyid(acl.grantee)) END"
            " FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS acl"
            " WHERE c.oid = to_regclass(%s) AND acl.grantee <> c.relowner"
            " AND acl.privilege_type = ANY(%s)",
            [connection.ops.quote_name(table), list(_CHANGE_PRIVILEGES)],
        )
        grantees = [row[0] for row in cursor.fetchall()]
        for grantee in grantees:
            # Both names are quoted identifiers (quote_ident above, quote_name here).
            cursor.execute(
                f"REVOKE {privileges} ON {connection.ops.quote_name(table)} FROM {grantee}"
            )
    if grantees:
        # Expected on the first migrate (default privileges cover every new table).
        logger.info(
            "Revoked %s on %s from %s: the audit log is append-only.",
            privileges,
            table,
            ", ".join(grantees),
        )


def revoke_after_migrate(*, using: str, **_kwargs: Any) -> None:
    """``post_migrate`` receiver (connected in ``AuditConfig.ready``)."""
    revoke_audit_changes(using=using)


def _role_problems(alias: str, table: str) -> tuple[str, list[str]]:
    """The connected role's name and what lets it get round the audit log."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolname, r.rolsuper,"
            " t.tableowner IS NOT NULL AND pg_has_role(current_user, t.tableowner, 'MEMBER'),"
            " t.tableowner IS NOT NULL AND has_table_privilege(current_user,"
            "   format('%%I.%%I', t.schemaname, t.tablename), %s)"
            " FROM pg_roles AS r"
            " LEFT JOIN pg_tables AS t"
            "   ON t.tablename = %s AND t.schemaname = ANY(current_schemas(false))"
            " WHERE r.rolname = current_user",
            [", ".join(_CHANGE_PRIVILEGES), table],
        )
        row = cursor.fetchone()
    if row is None:  # current_user always has a pg_roles row; nothing to judge otherwise
        return "", []
    role, superuser, owner, may_change = row
    if superuser:  # may do anything, as any role: nothing more to say
        return role, ["is a superuser (it can switch the audit trigger off)"]
    problems = []
    if owner:
        problems.append(f"owns {table} or may act as the role that does")
    if may_change:
        problems.append(f"may UPDATE, DELETE, TRUNCATE or add triggers to {table}")
    return role, problems


def check_database_role(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    """Deployment check ``istv.W001`` (registered in ``AuditConfig.ready``)."""
    if app_configs is not None and not any(c.label == "audit" for c in app_configs):
        return []
    table, alias = _audit_table()
    if connections[alias].vendor != "postgresql":
        return []
    try:
        role, problems = _role_problems(alias, table)
    except DatabaseError:
        # Unreachable (or refusing us): the role cannot be judged; see the module docstring.
        return []
    if not problems:
        return []
    return [
        checks.Warning(
            f"The portal connects to the database as role {role!r}, which "
            + "; ".join(problems)
            + ": it could change or remove audit events.",
            hint=(
                "Connect web, worker and scheduler with the runtime role (no superuser, "
                "owns no table, only SELECT and INSERT on the audit table) and run "
                "migrations with the owner role: docs/operations.md, 'Database roles'."
            ),
            id=CHECK_ID,
        )
    ]
