"""Fixtures for the personal-data tests: private storage in tmp_path, a mapped site."""

from __future__ import annotations

from pathlib import Path

import pytest

from hospitals.models import HospitalSite
from tests.submissions.helpers import confirm_test_layout, use_private_storage


@pytest.fixture
def private_storage(settings: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return use_private_storage(settings, tmp_path)


@pytest.fixture
def mapped_site(site_a: HospitalSite, private_storage: Path) -> HospitalSite:
    """Site A with a confirmed mapping for the test CSV layout."""
    return confirm_test_layout(site_a)
