"""Every endpoint x persona → expected status (cases in tests/permission_matrix.py)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Membership
from accounts.services import api_token_create
from tests.factories import login_verified
from tests.permission_matrix import ANONYMOUS, CASES, Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def mps_analyst_token(mps_analyst):
    return api_token_create(actor=mps_analyst, name="matrix", days=5).token


@pytest.fixture
def southwark_membership(southwark_analyst):
    return Membership.objects.get(user=southwark_analyst, role=Membership.Role.ANALYST)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_permission_matrix(case: Case, client, request) -> None:
    def fx(name: str) -> Any:
        return request.getfixturevalue(name)

    if case.persona != ANONYMOUS:
        login_verified(client, fx(case.persona))
    target = case.resolve_url(fx)
    response = getattr(client, case.method.lower())(target, data=case.resolve_data(fx))
    assert response.status_code == case.status, (
        f"{case.method} {target} as {case.persona}: {response.status_code}"
    )
    if case.persona == ANONYMOUS and case.status == 302:
        assert "/accounts/login/" in response["Location"]


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
