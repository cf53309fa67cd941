"""Fixtures for the audit log tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import audit_record
from accounts.models import Membership, Organisation, User
from tests.factories import MembershipFactory, UserFactory


@contextmanager
def trigger_disabled() -> Iterator[None]:
    """What a superuser with direct database access could do: switch the guard off."""
    with connection.cursor() as cursor:
        # Inside a test's transaction Django's deferred FK checks are still pending, and
        # PostgreSQL will not ALTER a table with pending trigger events: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def tamper(sql: str, params: list[object] | None = None) -> None:
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def make_events(db: None) -> Callable[..., list[AuditEvent]]:
    def make(count: int, **kwargs: object) -> list[AuditEvent]:
        kwargs.setdefault("action", Action.USER_CHANGED)
        return [
            audit_record(details={"n": n}, **kwargs)  # type: ignore[arg-type]
            for n in range(count)
        ]

    return make


@pytest.fixture
def access_admin(db: None) -> User:
    return MembershipFactory(
        role=Membership.Role.ACCESS_ADMIN, organisation__kind=Organisation.Kind.GLA
    ).user


@pytest.fixture
def analyst(db: None) -> User:
    return MembershipFactory(role=Membership.Role.ANALYST).user


@pytest.fixture
def outsider(db: None) -> User:
    return UserFactory()
