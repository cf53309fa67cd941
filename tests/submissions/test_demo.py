"""seed_demo's submissions: generated files through the real services, published."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from hospitals.models import HospitalSite, Submission
from incidents.models import Incident, Release
from ingest.demo import seed_demo_submissions
from istv_portal.periods import Period, due_date

pytestmark = pytest.mark.django_db


def test_demo_submissions_are_published_once(
    site_a: HospitalSite, site_b: HospitalSite, tmp_path: Path
) -> None:
    counts = seed_demo_submissions(months=1, geo_dir=tmp_path / "none", today=date(2025, 6, 3))
    assert counts == {"published": 2}
    assert set(Submission.objects.values_list("period", flat=True)) == {date(2025, 5, 1)}
    assert Incident.objects.filter(submission__status="published").count() > 0
    assert Release.objects.count() == 1
    again = seed_demo_submissions(months=1, geo_dir=tmp_path / "none", today=date(2025, 6, 3))
    assert again == {"skipped": 2}
    assert Submission.objects.count() == 2


def test_demo_files_arrive_on_time_and_their_scorecards_say_so(
    site_a: HospitalSite, site_b: HospitalSite, tmp_path: Path
) -> None:
    """The demo is loaded in one go, long after most of its months were due; each file is
    dated as arriving before its due date, so no scorecard calls it months late."""
    seed_demo_submissions(months=3, geo_dir=tmp_path / "none", today=date(2025, 6, 3))
    submissions = Submission.objects.filter(period__lt=date(2025, 5, 1))
    assert submissions.count() == 4
    for submission in submissions:
        timeliness = submission.scorecard["timeliness"]
        assert timeliness["on_time"], timeliness
        assert timezone.localdate(submission.created_at) < due_date(Period.of(submission.period))
