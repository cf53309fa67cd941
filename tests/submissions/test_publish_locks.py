"""Publishing never blocks a file being received for the same site.

A receipt holds the audit chain's lock until it commits, and its foreign key to the site
takes a KEY SHARE lock on the site's row at commit. Publishing locks the site's row too
(publishes of one site queue on it) and then appends to the audit chain. Had publishing
locked the row FOR UPDATE, which conflicts with KEY SHARE, each would wait for the other:
a deadlock, seen once in the ingest benchmark. FOR NO KEY UPDATE does not conflict.

The data must be committed for a second session to lock its rows, hence a transactional
test; the queueing of the received file (a message to the broker, which no worker here
reads) is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from ingest import services
from ingest.services import publish, receive
from tests.submissions.helpers import CsvSpec

pytestmark = pytest.mark.django_db(transaction=True)
Status = Submission.Status


def _foreign_key_check_blocked(site_id: int) -> bool:
    """Whether another session's foreign-key check on the site (a KEY SHARE lock on its
    row, as a commit that refers to the site takes) has to wait."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SET lock_timeout = '2s'")
        try:
            with other.transaction():
                other.execute(
                    "SELECT 1 FROM hospitals_hospitalsite WHERE id = %s FOR KEY SHARE", [site_id]
                )
        except psycopg.errors.LockNotAvailable:
            return True
    return False


@pytest.fixture
def unqueued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receive, "submission_enqueue", lambda **_: None)


def test_the_probe_sees_a_row_locked_for_update(site_a: HospitalSite) -> None:
    """The check below can fail: FOR UPDATE on the site blocks a foreign-key check."""
    with transaction.atomic():
        HospitalSite.objects.select_for_update().get(pk=site_a.pk)
        assert _foreign_key_check_blocked(site_a.pk)
    assert not _foreign_key_check_blocked(site_a.pk)


def test_publishing_does_not_block_a_receipt_for_the_same_site(
    unqueued: None,
    receive: Callable[..., Submission],
    data_manager: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submission = services.submission_process(submission_id=receive(CsvSpec(rows=4)).pk)
    assert submission.status == Status.READY_FOR_REVIEW
    blocked: list[bool] = []
    publish_version = publish.publish_version

    def checked(locked: Submission, **kwargs: Any) -> None:
        # Publishing holds its locks on the submission and the site from here to commit.
        blocked.append(_foreign_key_check_blocked(locked.site_id))
        publish_version(locked, **kwargs)

    monkeypatch.setattr(publish, "publish_version", checked)
    published = services.submission_publish(actor=data_manager, submission=submission)
    assert published.status == Status.PUBLISHED
    assert blocked == [False]
