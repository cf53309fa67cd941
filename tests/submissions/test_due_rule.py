"""One rule for when a month's file is due: the tracker, the liaison's "months due" list,
the scorecard's timeliness and the overdue reminders give the same answer on every day,
including the due day itself (the day a liaison used to be told "overdue" by e-mail while
the tracker still said "not yet due")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import User
from hospitals import selectors
from hospitals.models import HospitalSite
from ingest import services
from ingest.scorecard import timeliness
from ingest.selectors import months_due
from istv_portal.periods import Period, due_date, is_overdue

MAY = Period(2025, 5)


@pytest.mark.parametrize("due_day", [15, 1, 27])
def test_every_surface_agrees_on_each_day_around_the_due_date(
    due_day: int, liaison_b: User, data_manager: User, site_b: HospitalSite
) -> None:
    with override_settings(SUBMISSION_DUE_DAY=due_day):
        due = due_date(MAY)
        assert due == date(2025, 6, due_day)
        days = [due - timedelta(days=1), due, due + timedelta(days=1)]
        for today in [d for d in days if d > MAY.end]:  # May's file is owed once May ends
            overdue = is_overdue(MAY, today)
            mail.outbox.clear()
            sent = services.overdue_reminders_send(today=today)
            grid = selectors.tracker_grid(data_manager, months=1, today=today)
            cell = next(r for r in grid if r.site == site_b).cells[0]
            owed = [
                m for m in months_due(liaison_b, [site_b], today=today) if m.period == MAY.start
            ]
            assert cell.period == MAY.start
            assert ("R1H12" in sent) is overdue, today
            assert (cell.state == "missing") is overdue, today
            assert cell.state in {"missing", "not_due"}
            assert len(owed) == 1 and owed[0].overdue is overdue and owed[0].due == due
            assert timeliness(MAY, today).on_time is not overdue
        assert overdue and not is_overdue(MAY, due)


def test_the_reminder_job_runs_the_day_after_the_due_day() -> None:
    from django.conf import settings

    schedule = settings.CELERY_BEAT_SCHEDULE["ingest-overdue-reminders"]["schedule"]
    assert schedule.day_of_month == {settings.SUBMISSION_DUE_DAY + 1}
