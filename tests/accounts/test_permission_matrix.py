"""Every endpoint x persona → expected status (cases in tests/permission_matrix.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import QueryPatternFlag
from accounts.models import Membership
from accounts.services import api_token_create
from tests.permission_matrix import CASES, Case, run_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def mps_analyst_token(mps_analyst):
    return api_token_create(actor=mps_analyst, name="matrix", days=5).token


@pytest.fixture
def southwark_membership(southwark_analyst):
    return Membership.objects.get(user=southwark_analyst, role=Membership.Role.ANALYST)


@pytest.fixture
def aggregate_pattern_flag(aggregate_user):
    now = timezone.now()
    return QueryPatternFlag.objects.create(
        user=aggregate_user,
        raised_at=now,
        first_query_at=now,
        last_query_at=now,
        window_minutes=15,
        queries=30,
        narrow_overlapping=20,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_permission_matrix(case: Case, client, request) -> None:
    run_case(case, client, request)


def test_matrix_covers_every_management_url() -> None:
    """A page added to accounts/urls.py without matrix rows fails here."""
    from accounts.urls import urlpatterns

    named = {f"accounts:{p.name}" for p in urlpatterns} - {
        # Public by design: the invitee is not signed in yet (tests/accounts/test_views*.py).
        "accounts:invitation_open",
        "accounts:invitation_accept",
    }
    covered = set()
    for case in CASES:
        covered.add(case.url if isinstance(case.url, str) else getattr(case.url, "label", ""))
    assert named <= covered, sorted(named - covered)


def test_matrix_covers_every_upload_right_url() -> None:
    """The upload-rights screen (hospitals, mounted under /manage/) is in the matrix too."""
    from hospitals.upload_right_urls import app_name, urlpatterns

    named = {f"{app_name}:{p.name}" for p in urlpatterns}
    covered = {c.url if isinstance(c.url, str) else getattr(c.url, "label", "") for c in CASES}
    assert named <= covered, sorted(named - covered)
    assert all(reverse(name, kwargs=_sample(name)).startswith("/manage/") for name in named)


def _sample(name: str) -> dict[str, int]:
    return {"site_pk": 1, "user_pk": 1} if name.endswith(":revoke") else {}
