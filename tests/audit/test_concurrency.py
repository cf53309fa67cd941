"""Concurrent writers, each on its own connection, must not fork the chain."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import connections, transaction

from accounts.audit.models import Action, AuditEvent
from accounts.audit.services import GENESIS_HASH, audit_record
from accounts.audit.verify import verify_chain

WRITERS = 8
EVENTS_EACH = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_chain() -> None:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait(timeout=30)
            for n in range(EVENTS_EACH):
                # Some appends ride in a longer transaction, as a service's would.
                with transaction.atomic():
                    audit_record(action=Action.API_CALLED, details={"writer": number, "n": n})
                    if n % 5 == 0:
                        audit_record(action=Action.DATA_VIEWED, details={"writer": number})
        except BaseException as exc:  # reported on the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert not any(thread.is_alive() for thread in threads)

    expected = WRITERS * (EVENTS_EACH + EVENTS_EACH // 5)
    chain = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "hash"))
    assert len(chain) == expected
    # Every link points at the row just before it: no two rows share a parent.
    assert chain[0][0] == GENESIS_HASH
    assert all(prev == chain[i - 1][1] for i, (prev, _) in enumerate(chain) if i)
    assert len({prev for prev, _ in chain}) == expected
    # The writers really interleaved (otherwise this proves nothing about concurrency).
    writers_in_order = list(
        AuditEvent.objects.filter(action=Action.API_CALLED)
        .order_by("id")
        .values_list("details__writer", flat=True)
    )
    switches = sum(1 for a, b in itertools.pairwise(writers_in_order) if a != b)
    assert switches > WRITERS
    report = verify_chain()
    assert report.ok, report.problem
    assert report.verified == expected
