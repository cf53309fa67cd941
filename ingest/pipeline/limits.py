"""Limits and thresholds, read from Django settings when configured (defaults otherwise).

The pipeline stays importable without Django settings (benchmarks, scripts): every value
has a default here, and ``Limits.from_settings()`` overlays whatever the project sets.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024  # UPLOAD_MAX_BYTES
    xlsx_max_uncompressed: int = 200 * 1024 * 1024  # PIPELINE_XLSX_MAX_UNCOMPRESSED
    xlsx_max_members: int = 500  # PIPELINE_XLSX_MAX_MEMBERS
    xlsx_max_ratio: float = 100.0  # PIPELINE_XLSX_MAX_RATIO
    # Members smaller than this are not ratio-checked: a few KB of repeated XML can
    # compress >100x and is harmless; bombs need size to do damage.
    xlsx_ratio_floor: int = 256 * 1024  # PIPELINE_XLSX_RATIO_FLOOR
    max_rows: int = 250_000  # PIPELINE_MAX_ROWS
    max_columns: int = 200  # PIPELINE_MAX_COLUMNS
    max_text: int = 255  # PIPELINE_MAX_TEXT
    max_days_before_arrival: int = 28  # PIPELINE_MAX_DAYS_BEFORE_ARRIVAL
    period_grace_days: int = 3  # PIPELINE_PERIOD_GRACE_DAYS
    header_scan_rows: int = 30  # PIPELINE_HEADER_SCAN_ROWS
    max_report_issues: int = 2000  # PIPELINE_MAX_REPORT_ISSUES

    @classmethod
    def from_settings(cls) -> Limits:
        """Defaults overlaid with Django settings, if Django is configured."""
        try:
            from django.conf import settings

            configured = settings.configured
        except ImportError:  # pragma: no cover - Django is always installed here
            return cls()
        if not configured:
            return cls()
        names = {
            "max_bytes": "UPLOAD_MAX_BYTES",
            **{f.name: f"PIPELINE_{f.name.upper()}" for f in fields(cls) if f.name != "max_bytes"},
        }
        overrides: dict[str, Any] = {}
        for attr, setting in names.items():
            value = getattr(settings, setting, None)
            if value is not None:
                overrides[attr] = value
        return replace(cls(), **overrides)
