"""Demo submissions for ``seed_demo``: 25 months of synthetic files, ingested and published.

The demo covers the ``DEMO_MONTHS`` complete months up to last month (by today's date),
so a year-on-year comparison always has a real month a year earlier. Files come from the
synthetic generator (ingest/synthetic.py), with place names drawn from the
gazetteer folder, go through the same services as a real upload (processed
synchronously, as ``manage.py ingest`` does, so each row is geocoded as it is loaded) and
are published by the system. Idempotent: a site and month that already has a published
submission is skipped.
"""

from __future__ import annotations

import tempfile
import zlib
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files import File
from django.utils import timezone

from hospitals.models import HospitalSite, Submission
from incidents.csv_lines import refresh_export_lines
from ingest import services
from ingest.synthetic import GeneratedFile, GeneratorOptions, generate
from istv_portal.periods import Period, due_date

# The last complete month and the 24 before it: the latest 12 months and the 12 months a
# year earlier are both complete, with one month more for the first month-on-month change.
DEMO_MONTHS = 25


def _first_month(months: int, today: date) -> Period:
    first = today.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first.year, first.month)


def seed_demo_submissions(
    months: int = DEMO_MONTHS,
    *,
    geo_dir: Path | None = None,
    today: date | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Generate, ingest and publish ``months`` complete months for every demo site.

    ``geo_dir`` (default: the GAZETTEER_DIR setting) supplies the place names the
    generator writes; a missing folder falls back to a small built-in list. Returns
    counts by final status (``skipped`` for months already published).
    """
    today = today or timezone.localdate()
    sites = {s.site_code: s for s in HospitalSite.objects.all()}
    geo_dir = geo_dir or Path(settings.GAZETTEER_DIR)
    first = _first_month(months, today)
    periods = [first]
    while len(periods) < months:
        last = periods[-1]
        periods.append(last.shifted(1))
    published = set(
        Submission.objects.filter(
            status=Submission.Status.PUBLISHED, period__gte=first.start, site__in=sites.values()
        ).values_list("site__site_code", "period")
    )
    options = GeneratorOptions(
        seed=seed, fault_rate=0.01, geo_dir=geo_dir if geo_dir.is_dir() else None
    )
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="istv-demo-") as folder:
        for period in periods:
            # Only the files still to load are generated (each file has its own seeded
            # stream, so a file is the same whichever others are generated with it).
            missing = tuple(code for code in sorted(sites) if (code, period.start) not in published)
            if len(missing) < len(sites):
                counts["skipped"] = counts.get("skipped", 0) + len(sites) - len(missing)
            if not missing:
                continue
            month = replace(options, months=1, start=period, sites=missing)
            for generated in generate(Path(folder) / str(period), month):
                status = _load(sites[generated.site_code], generated)
                counts[status] = counts.get(status, 0) + 1
    if counts.get(Submission.Status.PUBLISHED):
        services.release_create(actor=None, label=f"{today:%Y-%m}")
    # The record-level CSV line parts of the new rows now, not a little later in the
    # background, so the first download is already the fast one.
    refresh_export_lines()
    return counts


def _uploaded_at(period: Period, site_code: str) -> datetime:
    """When a demo file is taken to have arrived: 1 to 10 days before it was due (fixed
    for each site and month), never in the future. The demo is loaded all at once; without
    this every scorecard would call its file months late."""
    days_early = 1 + zlib.crc32(f"{site_code}:{period}".encode()) % 10
    day = due_date(period) - timedelta(days=days_early)
    arrived = datetime.combine(day, time(10), tzinfo=ZoneInfo(settings.TIME_ZONE))
    return min(arrived, timezone.now())


def _load(site: HospitalSite, generated: GeneratedFile) -> str:
    """Receive, process (geocoding every row) and publish one generated file."""
    with generated.path.open("rb") as handle:
        submission = services.submission_receive(
            actor=None,
            site=site,
            period=generated.period,
            upload=File(handle, name=generated.path.name),
            set_aside_invalid=True,
            dry_run=False,
            accept_suggested_mapping=True,
            system=True,
            enqueue=False,
        )
    generated.path.unlink()
    Submission.objects.filter(pk=submission.pk).update(
        created_at=_uploaded_at(generated.period, site.site_code)
    )
    submission = services.submission_process(submission_id=submission.pk)
    if submission.status == Submission.Status.READY_FOR_REVIEW:
        submission = services.submission_publish(
            actor=None, submission=submission, system=True, cut_release=False
        )
    return str(submission.status)
