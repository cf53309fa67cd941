"""The workspace API in the permission matrix: method x URL x persona -> status.

Same shape as tests/accounts/test_permission_matrix.py (``Case`` / ``everyone`` from
tests/permission_matrix.py), signed in with an MFA-verified session; token access is
covered per endpoint in the other files. No data access -> 403; out of scope -> 404;
aggregate-only on record endpoints -> 403 (pointing to aggregates/).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from incidents.models import SavedQuery
from tests.factories import login_verified
from tests.permission_matrix import ANONYMOUS, Case, Fixture, everyone
from tests.workspace_api.factories import SOUTHWARK, release_create

pytestmark = pytest.mark.django_db

DATA = ("southwark_analyst", "lambeth_analyst", "mps_analyst", "aggregate_user",
        "mopac_analyst", "data_manager", "org_lead")  # fmt: skip
RECORD = ("southwark_analyst", "lambeth_analyst", "mps_analyst", "mopac_analyst",
          "data_manager", "org_lead")  # fmt: skip
DOWNLOAD_RECORD = (
    "southwark_analyst",
    "lambeth_analyst",
    "mps_analyst",
    "data_manager",
    "org_lead",
)


def _ok(personas: tuple[str, ...], status: int = 200) -> dict[str, int]:
    return dict.fromkeys(personas, status)


def _target(name: str, query: str = "", **fixtures: str):
    def build(fx: Fixture) -> str:
        kwargs = {
            key: getattr(fx(value), "number", None) or fx(value).pk
            for key, value in fixtures.items()
        }
        return reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")

    build.label = name  # type: ignore[attr-defined]
    return build


CASES: list[Case] = []
CASES += everyone(
    "GET", _target("api:incident-list"), allowed=_ok(RECORD), others=403, anonymous=401
)
CASES += everyone(
    "GET",
    _target("api:incident-detail", pk="matrix_incident"),
    allowed={**_ok(RECORD), "lambeth_analyst": 404},
    others=403,
    anonymous=401,
)
CASES += everyone(
    "GET",
    # One group (Southwark), so no grid is refused as too sparse for the small world.
    _target("api:aggregates", "group_by=borough&borough=E09000028"),
    allowed=_ok(DATA),
    others=403,
    anonymous=401,
)
CASES += everyone("GET", _target("api:top-locations"), allowed=_ok(DATA), others=403, anonymous=401)
CASES += everyone("GET", _target("api:hotspots"), allowed=_ok(DATA), others=403, anonymous=401)
CASES += everyone(
    "GET",
    _target("api:police-gap", "group_by=borough&borough=E09000028"),
    allowed=_ok(DATA),
    others=403,
    anonymous=401,
)
for name in ("api:hospital-list", "api:release-list", "api:saved-query-list"):
    CASES += everyone("GET", _target(name), allowed=_ok(DATA), others=403, anonymous=401)
CASES += everyone(
    "GET",
    _target("api:release-detail", number="matrix_release"),
    allowed=_ok(DATA),
    others=403,
    anonymous=401,
)
CASES += everyone(
    "POST",
    _target("api:saved-query-list"),
    allowed=_ok(DATA, 201),
    others=403,
    anonymous=401,
    data={"name": "Matrix"},
)
# Shared with the MPS only: everyone else with data access gets 404.
CASES += everyone(
    "GET",
    _target("api:saved-query-detail", pk="matrix_saved_query"),
    allowed={**_ok(DATA, 404), "mps_analyst": 200},
    others=403,
    anonymous=401,
)
CASES += everyone(
    "DELETE",
    _target("api:saved-query-detail", pk="matrix_saved_query"),
    allowed={**_ok(DATA, 404), "mps_analyst": 204},
    others=403,
    anonymous=401,
)
CASES += everyone(
    "GET",
    _target("api:export-incidents", "purpose=matrix", fmt="matrix_csv"),
    allowed=_ok(DOWNLOAD_RECORD),
    others=403,
    anonymous=401,
)
CASES += everyone(
    "GET",
    _target("api:export-aggregates", "group_by=borough&borough=E09000028", fmt="matrix_csv"),
    allowed={**_ok(DATA), "mopac_analyst": 403},
    others=403,
    anonymous=401,
)


class _Format:
    pk = "csv"
    number = None


@pytest.fixture
def matrix_csv() -> _Format:
    return _Format()


@pytest.fixture
def matrix_incident(world):
    return next(i for i in world.incidents if i.borough_code == SOUTHWARK)


@pytest.fixture
def matrix_release(world):
    return release_create(1, [world.published])


@pytest.fixture
def matrix_saved_query(mps_analyst, org_mps):
    return SavedQuery.objects.create(
        name="Shared", owner=mps_analyst, organisation=org_mps, shared_with_organisation=True
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_api_permission_matrix(case: Case, client, request, world) -> None:
    def fx(name: str) -> Any:
        return request.getfixturevalue(name)

    if case.persona != ANONYMOUS:
        login_verified(client, fx(case.persona))
    target = case.resolve_url(fx)
    response = getattr(client, case.method.lower())(target, data=case.resolve_data(fx))
    assert response.status_code == case.status, (
        f"{case.method} {target} as {case.persona}: {response.status_code}"
    )
    assert response["Cache-Control"] == "no-store" or response.status_code in (301, 302)


def test_matrix_covers_every_api_url() -> None:
    from incidents.api.urls import urlpatterns

    named = {f"api:{p.name}" for p in urlpatterns}
    covered = {getattr(case.url, "label", case.url) for case in CASES}
    assert named <= covered, sorted(named - covered)
