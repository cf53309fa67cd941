"""Reference-data pages x persona → expected status (tests/permission_matrix.py rows)."""

from __future__ import annotations

import pytest

from tests.permission_matrix import Case, run_case
from tests.reference.permission_cases import REFERENCE_CASES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=[case.id for case in REFERENCE_CASES])
def test_reference_permission_matrix(case: Case, client, request) -> None:
    run_case(case, client, request)
