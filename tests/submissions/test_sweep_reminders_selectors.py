"""The sweeper, overdue reminders, scoped selectors, the tracker and reference seeding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from hospitals import selectors
from hospitals.models import HospitalSite, Submission
from incidents.models import HarmonisedCode, ValueSynonym
from incidents.reference import reference_codes_seed
from ingest import services
from ingest.services import locks
from tests.locks import advisory_lock_held_elsewhere
from tests.submissions.helpers import CsvSpec

pytestmark = pytest.mark.django_db
Status = Submission.Status


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record what the sweeper hands to the broker (the broker itself is tested with a
    real worker in test_worker_faults.py)."""
    calls: list[int] = []

    def enqueue(*, submission_id: int) -> bool:
        calls.append(submission_id)
        return True

    monkeypatch.setattr("ingest.services.housekeeping.submission_enqueue", enqueue)
    return calls


def test_sweeper_picks_never_sent_lost_and_stale_but_not_live_ones(
    receive: Callable[..., Submission], sent: list[int]
) -> None:
    now = timezone.now()
    never_sent = receive(CsvSpec(seed=1), period="2025-01")
    lost = receive(CsvSpec(seed=2), period="2025-02")
    fresh = receive(CsvSpec(seed=3), period="2025-03")
    stale = receive(CsvSpec(seed=4), period="2025-04")
    live = receive(CsvSpec(seed=5), period="2025-06")
    done = receive(CsvSpec(seed=6), period="2025-07")
    Submission.objects.filter(pk=lost.pk).update(enqueued_at=now - timedelta(hours=1))
    Submission.objects.filter(pk=fresh.pk).update(enqueued_at=now)
    old = now - timedelta(hours=1)
    Submission.objects.filter(pk__in=[stale.pk, live.pk]).update(
        status=Status.PROCESSING, heartbeat_at=old, enqueued_at=old
    )
    Submission.objects.filter(pk=done.pk).update(status=Status.READY_FOR_REVIEW, enqueued_at=old)
    key = locks.lock_key(live.site_id, live.period)
    with advisory_lock_held_elsewhere(locks.LOCK_PROCESS, key):
        swept = services.submissions_sweep(now=now + timedelta(minutes=1))
    assert sorted(swept) == sorted([never_sent.pk, lost.pk, stale.pk])
    assert sorted(sent) == sorted(swept)


def test_overdue_reminders_go_to_liaisons_of_sites_without_last_months_file(
    receive: Callable[..., Submission], liaison_a: User, liaison_b: User, site_b: HospitalSite
) -> None:
    receive(CsvSpec(), period="2025-05")  # site A sent May
    assert services.overdue_reminders_send(today=date(2025, 6, 10)) == {}  # before the due day
    sent = services.overdue_reminders_send(today=date(2025, 6, 16))
    assert sent == {"R1H12": 1}
    assert [m.to for m in mail.outbox] == [[liaison_b.email]]
    assert "May 2025" in mail.outbox[0].subject


def test_submissions_visible_to_is_scoped(
    receive: Callable[..., Submission],
    liaison_a: User,
    liaison_b: User,
    data_manager: User,
    mps_analyst: User,
) -> None:
    mine = receive()
    assert list(selectors.submissions_visible_to(liaison_a)) == [mine]
    assert not selectors.submissions_visible_to(liaison_b).exists()
    assert not selectors.submissions_visible_to(mps_analyst).exists()
    assert list(selectors.submissions_visible_to(data_manager)) == [mine]
    assert [s.site_code for s in selectors.sites_uploadable_by(liaison_a)] == ["RJ122"]
    assert not selectors.sites_uploadable_by(data_manager).exists()


def test_tracker_grid_shows_received_late_and_missing(
    receive: Callable[..., Submission], liaison_a: User, data_manager: User, site_b: HospitalSite
) -> None:
    may = receive(CsvSpec(), period="2025-05")
    june = receive(CsvSpec(seed=1), period="2025-06")
    Submission.objects.filter(pk=june.pk).update(created_at=timezone.now() - timedelta(days=1))
    grid = selectors.tracker_grid(liaison_a, months=3, today=date(2025, 8, 5))
    assert [row.site.site_code for row in grid] == ["RJ122"]
    cells = {c.period: c for c in grid[0].cells}
    assert cells[date(2025, 5, 1)].state == "late"  # created today, due 15 June 2025
    assert cells[date(2025, 5, 1)].submission_id == may.pk
    assert cells[date(2025, 7, 1)].state == "not_due"
    manager_grid = selectors.tracker_grid(data_manager, months=3, today=date(2025, 8, 5))
    assert {row.site.site_code for row in manager_grid} == {"RJ122", "R1H12"}
    r1h = next(row for row in manager_grid if row.site.site_code == "R1H12")
    assert r1h.cells[0].state == "missing"


def test_reference_codes_are_seeded_once() -> None:
    assert HarmonisedCode.objects.filter(kind="method", code="knife_sharp").exists()
    assert ValueSynonym.objects.get(kind="method", source="", value="03").code == "knife_sharp"
    assert reference_codes_seed() == (0, 0)  # the migration already seeded everything
