"""Fixtures for the submission pages and API: storage in tmp_path, a private cache,
submissions in any state made directly (so pages are testable without the pipeline),
and small CSV files in the ISTV layout."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from istv_portal import private_storage as storage
from tests.submissions.helpers import (
    PROFILE_COLUMNS,
    CsvSpec,
    confirm_test_layout,
    upload,
    use_private_storage,
)
from tests.submissions.helpers import csv_bytes as submission_csv

PERIOD = date(2025, 5, 1)
REPORT: dict[str, Any] = {
    "rows_read": 3,
    "accepted": 2,
    "set_aside": 1,
    "warnings": 1,
    "errors_by_code": {"V002_BAD_DATE": 1},
    "warnings_by_code": {"W001_TIME_NOT_KNOWN": 1},
    "pii_findings_by_kind": {},
    "redactions_by_kind": {},
    "file_errors": [],
    "issues": [
        {
            "code": "V002_BAD_DATE",
            "message": "Assault date is not a UK date (dd/mm/yyyy).",
            "severity": "error",
            "row": 4,
            "column": "Assault Date",
            "value": "=HYPERLINK(1)",
        },
        {
            "code": "W001_TIME_NOT_KNOWN",
            "message": "Assault time not known.",
            "severity": "warning",
            "row": 3,
            "column": "Assault Time",
            "value": None,
        },
    ],
    "issues_truncated": False,
    "pii_findings": [],
    "mapping_status": "confirmed",
    "mapping": None,
    "proposal": None,
    "drift": {"added": ["Ward"], "removed": [], "renamed": [], "reordered": False},
    "columns": list(PROFILE_COLUMNS),
}
QUARANTINE_REPORT: dict[str, Any] = {
    **REPORT,
    "accepted": 0,
    "set_aside": 0,
    "errors_by_code": {},
    "warnings_by_code": {},
    "issues": [],
    "drift": None,
    "pii_findings_by_kind": {"nhs_number": 2},
    "file_errors": [
        {
            "code": "F040_PERSONAL_DATA",
            "message": "The file contains personal data.",
            "severity": "error",
            "row": None,
            "column": None,
            "value": None,
        }
    ],
    "pii_findings": [
        {
            "kind": "nhs_number",
            "column": "NHS Number",
            "rows": [2, 3],
            "count": 2,
            "reason": "column header",
        }
    ],
}
MAPPING_REPORT: dict[str, Any] = {
    **REPORT,
    "issues": [],
    "errors_by_code": {},
    "warnings_by_code": {},
    "mapping_status": "mapping_needed",
    "columns": ["When", "Attack date", "Weapon", "Place", "Where"],
    "proposal": {
        "mapping": {
            "columns": {
                "arrival_at": "When",
                "assault_date": "Attack date",
                "method": "Weapon",
                "location_type": "Place",
            },
            "values": {},
        },
        "confidence": {
            "arrival_at": 0.9,
            "assault_date": 0.85,
            "method": 0.6,
            "location_type": 0.4,
        },
        "missing_fields": ["location_description"],
        "unmapped_columns": ["Where"],
    },
}
SCORECARD: dict[str, Any] = {
    "rows_read": 3,
    "accepted": 2,
    "set_aside": 1,
    "set_aside_share": 0.3333,
    "completeness": {"arrival_date": 1.0, "assault_time": 0.5, "location_description": 1.0},
    "geocoded_by_precision": {"street": 1, "postcode_unit": 1},
    "geocoded_share": 1.0,
    "unknown_code_share": 0.0,
    "timeliness": {"due": "2025-06-30", "uploaded": "2025-07-04", "days_late": 4, "on_time": False},
    "volume": {
        "count": 2,
        "median_12m": 40.0,
        "same_month_last_year": 38,
        "ratio_to_median": 0.05,
        "ratio_to_last_year": 0.053,
        "flag": "drop",
    },
    "london": {"share_this_month": 0.001, "share_12m": 0.02, "flag": "low"},
    "passes": False,
    "failed_checks": ["set_aside_share", "volume"],
}


@pytest.fixture(autouse=True)
def private_storage(settings: Any, tmp_path: Path) -> Path:
    return use_private_storage(settings, tmp_path)


@pytest.fixture(autouse=True)
def private_cache(settings: Any) -> None:
    """Throttle counters in a cache of this test's own (no shared Redis database)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"submissions-ui-{uuid.uuid4().hex}",
        }
    }


def csv_bytes(rows: int = 2, *, bad_dates: int = 0, seed: int = 0) -> bytes:
    """A CSV in the ISTV layout for May 2025 (``bad_dates`` rows with an unreadable date)."""
    return submission_csv(CsvSpec(rows=rows + bad_dates, bad_rows=bad_dates, seed=seed))


def csv_upload(data: bytes | None = None, name: str = "may.csv") -> SimpleUploadedFile:
    return upload(data if data is not None else csv_bytes(), name)


@pytest.fixture
def mapped_site(site_a: HospitalSite) -> HospitalSite:
    return confirm_test_layout(site_a)


@pytest.fixture
def make_submission() -> Callable[..., Submission]:
    """A submission row in any state, with a stored original file of ``content``."""

    def _make(
        site: HospitalSite,
        status: str = Submission.Status.RECEIVED,
        *,
        uploaded_by: User | None = None,
        content: bytes = b"Assault Date\r\n03/05/2025\r\n",
        version: int | None = None,
        **fields: Any,
    ) -> Submission:
        stored = storage.store_stream([content], max_bytes=10_000_000)
        if status == Submission.Status.QUARANTINED:
            storage.move_to_quarantine(stored.name)
        if version is None:
            version = Submission.objects.filter(site=site, period=PERIOD).count() + 1
        return Submission.objects.create(
            site=site,
            period=fields.pop("period", PERIOD),
            version=version,
            status=status,
            stored_name=stored.name,
            original_name=fields.pop("original_name", "../../may report.csv"),
            sha256=hashlib.sha256(content + uuid.uuid4().bytes).hexdigest(),
            size_bytes=len(content),
            detected_format="csv",
            uploaded_by=uploaded_by,
            **fields,
        )

    return _make


@pytest.fixture
def ready_a(
    make_submission: Callable[..., Submission], site_a: HospitalSite, liaison_a: User
) -> Submission:
    return make_submission(
        site_a,
        Submission.Status.READY_FOR_REVIEW,
        uploaded_by=liaison_a,
        report=REPORT,
        scorecard=SCORECARD,
        rows_read=3,
        rows_accepted=2,
        rows_set_aside=1,
        progress=100,
        step="Done",
    )


@pytest.fixture
def submission_b(
    make_submission: Callable[..., Submission], site_b: HospitalSite, liaison_b: User
) -> Submission:
    return make_submission(
        site_b,
        Submission.Status.READY_FOR_REVIEW,
        uploaded_by=liaison_b,
        report=REPORT,
        scorecard=SCORECARD,
    )
