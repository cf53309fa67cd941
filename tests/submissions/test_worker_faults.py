"""Worker faults with a real worker and real Redis: a killed worker, a lost message, a
database that goes away, duplicate deliveries.

Each test starts a real Celery worker (tests/worker.py) against the test database.
``ISTV_TEST_SUBMISSION_DELAY`` makes the worker pause after COPY, before the load
commits, so a test can look at (or kill) a worker with rows staged but not committed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.utils import timezone

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.models import Incident
from ingest import services
from istv_portal.celery import app as celery_app
from tests.submissions.helpers import (
    DEFAULT_SPEC,
    XXE_XML,
    CsvSpec,
    csv_bytes,
    upload,
    zip_bomb_xlsx,
)
from tests.worker import WorkerHandle, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = Submission.Status
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def _start_worker(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, root: Path, delay: float
) -> WorkerHandle:
    # The worker reads storage roots and the test delay from its environment.
    monkeypatch.setenv("PRIVATE_STORAGE_ROOT", str(root / "private"))
    monkeypatch.setenv("QUARANTINE_STORAGE_ROOT", str(root / "quarantine"))
    monkeypatch.setenv("ISTV_TEST_SUBMISSION_DELAY", str(delay))
    # System checks run in CI on their own; skipping them here shortens worker start-up.
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    handle: WorkerHandle = request.getfixturevalue("celery_worker_proc")
    return handle


@pytest.fixture
def worker(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, private_storage: Path
) -> WorkerHandle:
    return _start_worker(request, monkeypatch, private_storage, 0)


@pytest.fixture
def slow_worker(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, private_storage: Path
) -> WorkerHandle:
    return _start_worker(request, monkeypatch, private_storage, 1.5)


def _pool_children(parent: int) -> list[int]:
    """Pids of the worker's pool processes (children of the main process)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(entry.name))
    return children


def _kill_pool_child(handle: WorkerHandle) -> None:
    children = _pool_children(handle.pid)
    assert children, "no pool process to kill"
    for pid in children:
        os.kill(pid, signal.SIGKILL)


def _get(pk: int) -> Submission:
    return Submission.objects.get(pk=pk)


def _loading(pk: int, attempts: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        s = _get(pk)
        return s.step == "Loading" and s.attempts == attempts

    return check


@contextlib.contextmanager
def _broker(url: str) -> Iterator[None]:
    """Point this process's Celery producer at another broker URL (a closed port)."""
    old = celery_app.conf.broker_url

    def reset() -> None:
        celery_app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            celery_app.__dict__["amqp"]._producer_pool = None

    celery_app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        celery_app.conf.broker_url = old
        reset()


def _receive(
    user: User, site: HospitalSite, spec: CsvSpec = DEFAULT_SPEC, **kw: object
) -> Submission:
    return services.submission_receive(
        actor=user,
        site=site,
        period="2025-05",
        upload=upload(kw.pop("data", None) or csv_bytes(spec), str(kw.pop("name", "may.csv"))),
        set_aside_invalid=bool(kw.pop("set_aside", False)),
        dry_run=False,
    )


def test_worker_killed_mid_load_is_redelivered_without_partial_rows(
    slow_worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite
) -> None:
    """A worker killed mid-load: the task is redelivered and no partial rows remain."""
    submission = _receive(liaison_a, mapped_site, CsvSpec(rows=30))
    assert wait_until(_loading(submission.pk), timeout=20)
    time.sleep(0.5)  # COPY done, the load transaction is open and sleeping
    assert not Incident.objects.filter(submission_id=submission.pk).exists()  # not visible
    _kill_pool_child(slow_worker)
    assert wait_until(lambda: _get(submission.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    done = _get(submission.pk)
    assert done.attempts == 2
    assert Incident.objects.filter(submission=done).count() == 30  # as a clean run


def test_poison_file_fails_after_max_attempts(
    slow_worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite
) -> None:
    """A file that kills its worker every time ends failed, with an audit entry."""
    submission = _receive(liaison_a, mapped_site, CsvSpec(rows=10))
    for attempt in range(1, settings.SUBMISSION_MAX_ATTEMPTS + 1):
        assert wait_until(_loading(submission.pk, attempt), timeout=30), attempt
        _kill_pool_child(slow_worker)
    assert wait_until(lambda: _get(submission.pk).status == Status.FAILED, timeout=30)
    assert not Incident.objects.filter(submission_id=submission.pk).exists()
    event = AuditEvent.objects.get(action="submission.processed", object_id=str(submission.pk))
    assert event.details["outcome"] == "failed"
    assert slow_worker.is_alive()


def test_redis_down_at_upload_is_queued_and_swept_later(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    private_storage: Path,
    liaison_a: User,
    mapped_site: HospitalSite,
) -> None:
    """The broker is down at upload: the upload is accepted as queued; the sweeper sends it."""
    with _broker(CLOSED_PORT_BROKER):
        submission = _receive(liaison_a, mapped_site, CsvSpec(rows=12))
    queued = _get(submission.pk)
    assert queued.status == Status.RECEIVED and queued.enqueued_at is None
    _start_worker(request, monkeypatch, private_storage, 0)
    assert services.submissions_sweep(now=timezone.now() + timedelta(minutes=1)) == [submission.pk]
    assert wait_until(lambda: _get(submission.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    assert Incident.objects.filter(submission_id=submission.pk).count() == 12


def test_redis_flushed_while_queued_is_recovered_once(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    private_storage: Path,
    liaison_a: User,
    mapped_site: HospitalSite,
) -> None:
    """The queued message is lost; the sweeper recovers it; one version loads."""
    submission = _receive(liaison_a, mapped_site, CsvSpec(rows=9))
    assert _get(submission.pk).enqueued_at is not None
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    _start_worker(request, monkeypatch, private_storage, 0)
    time.sleep(1.0)
    assert _get(submission.pk).status == Status.RECEIVED  # the message is gone
    stale = timezone.now() + timedelta(seconds=settings.SUBMISSION_QUEUED_STALE_SECONDS + 1)
    assert services.submissions_sweep(now=stale) == [submission.pk]
    assert wait_until(lambda: _get(submission.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    assert Submission.objects.count() == 1
    assert Incident.objects.count() == 9


def test_duplicate_uploads_including_concurrent_give_one_submission(
    worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite
) -> None:
    """The same file uploaded several times, some at once, gives one submission."""
    data = csv_bytes(CsvSpec(rows=7))
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        try:
            barrier.wait()
            s = _receive(liaison_a, mapped_site, data=data)
            results.append((s.pk, bool(getattr(s, "duplicate", False))))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({pk for pk, _ in results}) == 1
    assert sorted(dup for _, dup in results) == [False, True, True, True]
    pk = results[0][0]
    assert wait_until(lambda: _get(pk).status == Status.READY_FOR_REVIEW, timeout=30)
    again = _receive(liaison_a, mapped_site, data=data)
    assert again.pk == pk and again.duplicate is True  # type: ignore[attr-defined]
    time.sleep(0.5)
    assert Submission.objects.count() == 1
    assert Incident.objects.count() == 7


def test_malicious_or_wrong_files_are_rejected_without_crashing_the_worker(
    worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite
) -> None:
    """Zip bomb refused at intake; XXE rejected by the worker; a changed schema stopped
    at mapping needed (with the reason), not loaded."""
    with pytest.raises(services.UploadRefused):
        _receive(liaison_a, mapped_site, data=zip_bomb_xlsx(), name="bomb.xlsx")
    xxe = _receive(liaison_a, mapped_site, data=XXE_XML, name="may.xml")
    wrong = csv_bytes(CsvSpec(rows=5, seed=9)).decode().replace("Location Type", "Venue")
    schema = _receive(liaison_a, mapped_site, data=wrong.encode(), name="wrong.csv")
    for pk, status in ((xxe.pk, Status.REJECTED), (schema.pk, Status.MAPPING_NEEDED)):
        assert wait_until(lambda pk=pk, status=status: _get(pk).status == status, timeout=30)
        assert _get(pk).error
    assert not Incident.objects.exists()
    assert worker.is_alive() and worker.ping()


def test_same_task_twice_concurrently_does_not_double_rows(
    slow_worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite
) -> None:
    """While the worker holds the site+month lock, a second run exits at once;
    a duplicate message delivered afterwards finds the work done."""
    from ingest.tasks import process_submission

    submission = _receive(liaison_a, mapped_site, CsvSpec(rows=11))
    process_submission.delay(submission.pk)  # the same id enqueued twice
    assert wait_until(_loading(submission.pk), timeout=20)
    concurrent = services.submission_process(submission_id=submission.pk)
    assert concurrent.attempts == 1  # did not start a second run
    assert wait_until(lambda: _get(submission.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    assert wait_until(
        lambda: slow_worker.executed().get("ingest.tasks.process_submission", 0) >= 2,
        timeout=15,
    )
    done = _get(submission.pk)
    assert done.attempts == 1
    assert Incident.objects.filter(submission=done).count() == 11


def test_redelivery_after_completion_is_harmless(
    worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite
) -> None:
    """Double execution (as a too-short visibility timeout would cause):
    the lock and the status check make the second execution a no-op."""
    from ingest.tasks import process_submission

    submission = _receive(liaison_a, mapped_site, CsvSpec(rows=6))
    assert wait_until(lambda: _get(submission.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    process_submission.delay(submission.pk)
    assert wait_until(
        lambda: worker.executed().get("ingest.tasks.process_submission", 0) >= 2, timeout=15
    )
    done = _get(submission.pk)
    assert (done.status, done.attempts) == (Status.READY_FOR_REVIEW, 1)
    assert Incident.objects.filter(submission=done).count() == 6


def test_partial_bad_rows_then_corrected_version_through_the_worker(
    worker: WorkerHandle, liaison_a: User, mapped_site: HospitalSite, data_manager: User
) -> None:
    """3 % invalid rows are set aside with reasons and 97 % load; a
    corrected v2 replaces v1 for analysts once published; the audit log shows both."""
    v1 = _receive(liaison_a, mapped_site, CsvSpec(rows=100, bad_rows=3), set_aside=True)
    assert wait_until(lambda: _get(v1.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    v1 = _get(v1.pk)
    assert (v1.rows_accepted, v1.rows_set_aside) == (97, 3)
    assert v1.set_aside_rows.count() == 3  # type: ignore[attr-defined]
    assert {r.reasons[0]["code"] for r in v1.set_aside_rows.all()} == {"V002_BAD_DATE"}  # type: ignore[attr-defined]
    services.submission_publish(actor=data_manager, submission=v1)
    v2 = _receive(liaison_a, mapped_site, CsvSpec(rows=100, seed=1))
    assert wait_until(lambda: _get(v2.pk).status == Status.READY_FOR_REVIEW, timeout=30)
    services.submission_publish(actor=data_manager, submission=_get(v2.pk))
    assert _get(v1.pk).status == Status.SUPERSEDED
    published = Incident.objects.filter(submission__status="published")
    assert set(published.values_list("submission_id", flat=True)) == {v2.pk}
    assert published.count() == 100
    uploads = AuditEvent.objects.filter(action="submission.uploaded")
    assert set(uploads.values_list("object_id", flat=True)) == {str(v1.pk), str(v2.pk)}
