"""Kept CSV parts across sessions: made by a real worker after publishing, and never left
made from a row's old values when another session changes the row meanwhile.

The refresh reads a snapshot, makes the parts, then updates the rows. A second session that
changes a row in between (a personal-data rescan redacting its free text, say) holds the
row until it commits; the refresh's UPDATE then waits, and sees the row as it now is. Had
it stored parts made from the snapshot, with the current digest, downloads would show the
old free text from then on. The data must be committed for the second session to see and
lock it, hence a transactional test.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection, transaction

from incidents import csv_lines
from incidents.csv_lines import current_digest, refresh_export_lines
from incidents.masking import Masker, reset_geography_cache
from incidents.models import Incident
from ingest.services import publish
from tests.exports.test_copy_export import ACCESSES, _row, copy_csv, python_csv
from tests.worker import WorkerHandle, wait_until
from tests.workspace_api.factories import (
    SOUTHWARK,
    geography_create,
    incidents_create,
    site_get,
    submission_create,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_row_changed_during_the_refresh_gets_parts_from_its_new_values() -> None:
    reset_geography_cache()
    geography_create()
    submission = submission_create(site_get("RJ122", SOUTHWARK))
    when = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)
    incidents_create(
        submission,
        [_row(SOUTHWARK, when=when, description=f"outside number {i}") for i in range(5)],
    )
    target = Incident.objects.order_by("id").values_list("id", flat=True)[2]
    with connection.cursor() as cursor:  # every row's parts to be made by the refresh
        cursor.execute("UPDATE incidents_incident SET export_digest = NULL")

    changed = threading.Event()
    params = connection.get_connection_params()

    def redact() -> None:
        with psycopg.connect(**params) as other:
            other.execute(
                "UPDATE incidents_incident SET location_description = 'redacted' WHERE id = %s",
                [target],
            )
            changed.set()
            time.sleep(1.5)  # the refresh reads its snapshot, then waits for this row
            other.commit()

    thread = threading.Thread(target=redact)
    thread.start()
    assert changed.wait(10)
    refresh_export_lines()
    thread.join()

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, export_digest, export_free_text FROM incidents_incident")
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    assert rows[target] == (current_digest(), "redacted")
    assert all(digest == current_digest() for digest, _ in rows.values())
    access = ACCESSES["exact pan-London"]
    assert Masker.for_access(access).shows_free_text
    data = copy_csv(Incident.objects.all(), access)
    assert data == python_csv(Incident.objects.all(), access)
    assert b",redacted\n" in data and b"outside number 2" not in data


def _digests() -> list[int | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT export_digest FROM incidents_incident")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.worker
def test_publishing_has_the_worker_make_the_new_rows_parts(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wired in: publishing queues the refresh after the commit, once however many
    publishes commit together, and the worker makes every new row's parts."""
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    worker: WorkerHandle = request.getfixturevalue("celery_worker_proc")
    monkeypatch.setattr(csv_lines, "REFRESH_DELAY_SECONDS", 2)
    cache.delete(csv_lines.PENDING_KEY)
    reset_geography_cache()
    geography_create()
    submission = submission_create(site_get("RJ122", SOUTHWARK))
    when = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)
    incidents_create(submission, [_row(SOUTHWARK, when=when) for _ in range(30)])
    assert set(_digests()) == {None}
    with transaction.atomic():
        for _ in range(2):
            publish.publish_version(
                submission, actor=None, request=None, automatic=True, cut_release=False
            )
    digest = current_digest()
    assert wait_until(lambda: set(_digests()) == {digest}, timeout=60), worker.log()[-3000:]
    assert worker.executed().get(csv_lines.REFRESH_TASK) == 1
