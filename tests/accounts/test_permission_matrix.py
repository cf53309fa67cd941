"""Every endpoint x persona → expected status (cases in tests/permission_matrix.py)."""

from __future__ import annotations

import pytest

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
