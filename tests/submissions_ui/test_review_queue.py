"""The review queue says how many files wait and pages through all of them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from tests.factories import login_verified
from tests.submissions_ui.conftest import SCORECARD

pytestmark = pytest.mark.django_db
WAITING = 53


@pytest.fixture
def waiting(make_submission: Callable[..., Submission], site_a: HospitalSite) -> list[Submission]:
    return [
        make_submission(site_a, Submission.Status.READY_FOR_REVIEW, scorecard=SCORECARD)
        for _ in range(WAITING)
    ]


def _listed(body: str, submissions: list[Submission]) -> set[int]:
    return {
        s.pk
        for s in submissions
        if f'href="{reverse("ingest:submission_detail", kwargs={"pk": s.pk})}"' in body
    }


def test_review_queue_shows_the_total_and_pages(
    client: Client, data_manager: User, waiting: list[Submission]
) -> None:
    login_verified(client, data_manager)
    url = reverse("ingest:review_queue")
    first = client.get(url).content.decode()
    assert f"1\N{EN DASH}50 of {WAITING}" in first
    assert "Page 1 of 2" in first and "?page=2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert f"51\N{EN DASH}{WAITING} of {WAITING}" in second
    on_first, on_second = _listed(first, waiting), _listed(second, waiting)
    assert len(on_first) == 50 and len(on_second) == WAITING - 50
    assert on_first | on_second == {s.pk for s in waiting}  # every one, none twice
    # Oldest first, as before: the first page starts with the first file to arrive.
    assert waiting[0].pk in on_first and waiting[-1].pk in on_second


def test_an_empty_queue_says_so(client: Client, data_manager: User) -> None:
    login_verified(client, data_manager)
    body = client.get(reverse("ingest:review_queue")).content.decode()
    assert "No submissions are waiting for review." in body
