"""Fixtures for submission tests: private storage in tmp_path, a mapped site, files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from ingest import services
from tests.submissions.helpers import (
    DEFAULT_SPEC,
    CsvSpec,
    confirm_test_layout,
    csv_bytes,
    upload,
    use_private_storage,
)


@pytest.fixture(autouse=True)
def private_storage(settings: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return use_private_storage(settings, tmp_path)


@pytest.fixture
def mapped_site(site_a: HospitalSite) -> HospitalSite:
    """Site A with a confirmed mapping for the test CSV layout."""
    return confirm_test_layout(site_a)


@pytest.fixture
def receive(liaison_a: User, mapped_site: HospitalSite) -> Callable[..., Submission]:
    """Upload a generated CSV for site A as liaison A (no processing)."""

    def _receive(
        spec: CsvSpec = DEFAULT_SPEC,
        *,
        set_aside: bool = False,
        dry_run: bool = False,
        period: str = "2025-05",
        data: bytes | None = None,
        name: str = "may.csv",
    ) -> Submission:
        return services.submission_receive(
            actor=liaison_a,
            site=mapped_site,
            period=period,
            upload=upload(data if data is not None else csv_bytes(spec), name),
            set_aside_invalid=set_aside,
            dry_run=dry_run,
        )

    return _receive
