"""Demo submissions for ``seed_demo``: a year of synthetic files, ingested and published.

Files come from the synthetic generator (incidents/pipeline/synthetic.py), go through
the same services as a real upload (processed synchronously, as ``manage.py ingest``
does) and are published by the system. Idempotent: a site and month that already has a
published submission is skipped.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.utils import timezone

from hospitals import services
from hospitals.models import HospitalSite, Submission
from incidents.pipeline import Period
from incidents.pipeline.synthetic import GeneratorOptions, generate


def _first_month(months: int, today: date) -> Period:
    first = today.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first.year, first.month)


def seed_demo_submissions(
    months: int = 12, *, geo_dir: Path | None = None, today: date | None = None, seed: int = 0
) -> dict[str, int]:
    """Generate, ingest and publish ``months`` complete months for every demo site.

    Returns counts by final status (``skipped`` for months already published).
    """
    today = today or timezone.localdate()
    sites = {s.site_code: s for s in HospitalSite.objects.all()}
    geo_dir = geo_dir or Path(settings.BASE_DIR).parent / "shared" / "data" / "geo"
    options = GeneratorOptions(
        months=months,
        start=_first_month(months, today),
        seed=seed,
        fault_rate=0.01,
        geo_dir=geo_dir if geo_dir.is_dir() else None,
        sites=tuple(sorted(sites)),
    )
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="istv-demo-") as folder:
        for generated in generate(Path(folder), options):
            site = sites[generated.site_code]
            published = Submission.objects.filter(
                site=site, period=generated.period.start, status=Submission.Status.PUBLISHED
            )
            if published.exists():
                counts["skipped"] = counts.get("skipped", 0) + 1
                continue
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
            submission = services.submission_process(submission_id=submission.pk)
            if submission.status == Submission.Status.READY_FOR_REVIEW:
                submission = services.submission_publish(
                    actor=None, submission=submission, system=True, cut_release=False
                )
            counts[submission.status] = counts.get(submission.status, 0) + 1
    if counts.get(Submission.Status.PUBLISHED):
        services.release_create(actor=None, label=f"{today:%Y-%m}")
    return counts
