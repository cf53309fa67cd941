"""Limits and thresholds of the pipeline: the defaults here, the upload cap from Django.

The pipeline stays importable without Django settings (benchmarks, scripts): every value
has a default here, and ``Limits.from_settings()`` takes the one limit the project
configures, ``UPLOAD_MAX_BYTES``, from Django's settings when they are configured.
``Options(limits=Limits(...))`` overrides any of them per call (tests).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024  # the UPLOAD_MAX_BYTES setting when Django is set up
    xlsx_max_uncompressed: int = 200 * 1024 * 1024  # declared size of all XLSX members
    xlsx_max_members: int = 500  # members in one XLSX archive
    xlsx_max_ratio: float = 100.0  # compression ratio of one XLSX member
    # Members smaller than this are not ratio-checked: a few KB of repeated XML can
    # compress >100x and is harmless; bombs need size to do damage.
    xlsx_ratio_floor: int = 256 * 1024
    max_rows: int = 250_000  # rows in one sheet or file
    max_columns: int = 200  # columns in one sheet or file
    max_text: int = 255  # characters of cleaned free text
    max_days_before_arrival: int = 28  # assault this many days before arrival at most
    period_grace_days: int = 3  # dates this many days outside the month are accepted
    header_scan_rows: int = 30  # rows searched for the header
    max_report_issues: int = 2000  # issues listed in a report (the counts are complete)

    @classmethod
    def from_settings(cls) -> Limits:
        """The defaults, with ``max_bytes`` from ``UPLOAD_MAX_BYTES`` if Django is configured."""
        try:
            from django.conf import settings

            configured = settings.configured
        except ImportError:  # pragma: no cover - Django is always installed here
            return cls()
        if not configured:
            return cls()
        return replace(cls(), max_bytes=settings.UPLOAD_MAX_BYTES)
