"""The scorecard and the tracker tell the truth.

The share of London is worked out when the page is shown, from the published files: while
other hospitals' files for the month are not in, it is provisional and raises no high or
low flag (one early file is not "100% of London"). The tracker notes "Quality to check"
only for a file whose checks failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from istv_portal.periods import add_months, last_complete_month
from tests.factories import login_verified
from tests.submissions_ui.conftest import PERIOD, SCORECARD

pytestmark = pytest.mark.django_db
Status = Submission.Status
CLEAN_CARD: dict[str, Any] = {**SCORECARD, "passes": True, "failed_checks": []}
# A stored figure from processing time that must not be shown: the file was first in.
FROZEN_CARD: dict[str, Any] = {
    **CLEAN_CARD,
    "london": {"share_this_month": 1.0, "share_12m": 0.1, "flag": "high"},
}


def _published(
    make: Callable[..., Submission], site: HospitalSite, period: date, rows: int
) -> Submission:
    return make(
        site, Status.PUBLISHED, period=period, version=1, rows_accepted=rows, scorecard=CLEAN_CARD
    )


@pytest.fixture
def history(
    make_submission: Callable[..., Submission], site_a: HospitalSite, site_b: HospitalSite
) -> None:
    """Twelve published months before May 2025: site A usually 10% of London."""
    for back in range(1, 13):
        period = add_months(PERIOD, -back)
        _published(make_submission, site_a, period, 10)
        _published(make_submission, site_b, period, 90)


@pytest.fixture
def may_a(make_submission: Callable[..., Submission], site_a: HospitalSite) -> Submission:
    """Site A's May file, ready for review: 30 rows, three times its usual share."""
    return make_submission(
        site_a, Status.READY_FOR_REVIEW, version=1, rows_accepted=30, scorecard=FROZEN_CARD
    )


def _scorecard(client: Client, user: User, submission: Submission) -> str:
    login_verified(client, user)
    url = reverse("ingest:submission_scorecard", kwargs={"pk": submission.pk})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _london(body: str) -> str:
    """The text of the scorecard's share-of-London row."""
    start = body.index("Share of London's records")
    return body[start : body.index("</div>", start)]


@pytest.fixture
def may_row(client: Client, liaison_a: User, history: None, may_a: Submission) -> Callable[[], str]:
    """Reads the share-of-London row of site A's May scorecard, as its liaison sees it now."""
    return lambda: _london(_scorecard(client, liaison_a, may_a))


def test_a_month_with_only_one_hospital_in_is_provisional_with_no_flag(
    may_row: Callable[[], str],
) -> None:
    row = may_row()
    assert "Provisional: 1 of 2 hospitals have sent this month." in row
    assert "Files are due by" in row or "were due by" in row
    assert ">High<" not in row and ">Low<" not in row
    assert "100.0% this month so far" in row  # said as what it is, not as London's total


def test_a_complete_month_shows_the_share_and_its_flag(
    may_row: Callable[[], str], make_submission: Callable[..., Submission], site_b: HospitalSite
) -> None:
    _published(make_submission, site_b, PERIOD, 70)
    row = may_row()
    assert "Provisional" not in row
    assert "30.0% this month; usually 10.0%" in row
    assert ">High<" in row  # 30% against a usual 10%: now a fair comparison


def test_the_share_follows_the_published_files_not_the_stored_figure(
    may_row: Callable[[], str], make_submission: Callable[..., Submission], site_b: HospitalSite
) -> None:
    before = may_row()
    assert "100.0%" in before
    later = make_submission(site_b, Status.READY_FOR_REVIEW, version=1, rows_accepted=30)
    # Not yet published: not counted.
    assert may_row() == before
    later.status = Status.PUBLISHED
    later.save(update_fields=["status"])
    after = may_row()
    assert "50.0% this month" in after and "Provisional" not in after


def test_tracker_notes_quality_only_where_a_check_failed(
    client: Client,
    data_manager: User,
    make_submission: Callable[..., Submission],
    site_a: HospitalSite,
    site_b: HospitalSite,
) -> None:
    month = last_complete_month()
    clean = make_submission(site_a, Status.PUBLISHED, period=month, version=1, scorecard=CLEAN_CARD)
    flagged = make_submission(
        site_b, Status.READY_FOR_REVIEW, period=month, version=1, scorecard=SCORECARD
    )
    login_verified(client, data_manager)
    body = client.get(reverse("ingest:tracker")).content.decode()

    def cell(submission: Submission) -> str:
        link = reverse("ingest:submission_detail", kwargs={"pk": submission.pk})
        start = body.index(f'href="{link}"')
        return body[start : body.index("</td>", start)]

    assert "Published" in cell(clean) and "Quality to check" not in cell(clean)
    assert "Quality to check" in cell(flagged)
    grid = body[body.index("<tbody") : body.index("</tbody>")]
    assert grid.count("Quality to check") == 1
