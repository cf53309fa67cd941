"""Fixtures for the programme tools: agreements, releases, submissions and incidents."""

from __future__ import annotations

import datetime as dt
from itertools import count

import pytest
from django.utils import timezone

from accounts.models import DataSharingAgreement, Organisation, User
from hospitals.models import HospitalSite, Submission
from incidents.models import Incident, Release
from programme import services

# The headless-browser fixtures, for test_browser.py in this folder.
from tests.browser.conftest import (  # noqa: F401
    browser,
    driver,
    live_server_closes_connections,
)

_serial = count(1)


def make_submission(
    site: HospitalSite, period: dt.date, *, version: int = 1, status: str = "published"
) -> Submission:
    n = next(_serial)
    return Submission.objects.create(
        site=site,
        period=period,
        version=version,
        status=status,
        stored_name=f"{n:032x}",
        original_name="extract.csv",
        sha256=f"{n:064x}",
        size_bytes=1,
        rows_accepted=10,
    )


def make_incidents(
    submission: Submission,
    month: dt.date,
    *,
    geo_class: str = "place",
    geo_method: str = "venue",
    placed: bool = True,
    method: str = "knife",
    n: int = 1,
    text: str = "SECRET-FREE-TEXT outside the station",
) -> list[Incident]:
    start = Incident.objects.filter(submission=submission).count() + 1
    at = timezone.make_aware(dt.datetime.combine(month.replace(day=10), dt.time(21, 0)))
    return Incident.objects.bulk_create(
        Incident(
            submission=submission,
            site=submission.site,
            source_row=start + i,
            assault_at=at,
            assault_date=month.replace(day=10),
            assault_month=month,
            assault_weekday=at.isoweekday(),
            assault_hour=21,
            method_code=method,
            location_type_code="street",
            location_description=text,
            geocode_status="done",
            geo_class=geo_class,
            geo_method=geo_method,
            lat=51.5 if placed else None,
            lon=-0.1 if placed else None,
            borough_code="E09000028",
        )
        for i in range(n)
    )


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def last_month() -> dt.date:
    return add_months(timezone.localdate().replace(day=1), -1)


@pytest.fixture
def make_agreement(access_admin: User):
    def _make(
        reference: str,
        *,
        providers: list[Organisation] = (),  # type: ignore[assignment]
        recipients: list[Organisation] = (),  # type: ignore[assignment]
        ends_on: dt.date | None = None,
        activate: bool = True,
        **values: object,
    ) -> DataSharingAgreement:
        today = timezone.localdate()
        return services.agreement_create(
            actor=access_admin,
            providers=list(providers),
            recipients=list(recipients),
            activate=activate,
            reference=reference,
            title=f"Agreement {reference}",
            legal_basis="UK GDPR Article 6(1)(e)",
            purpose="Violence reduction",
            signed_on=values.pop("signed_on", today - dt.timedelta(days=400)),
            ends_on=ends_on or today + dt.timedelta(days=500),
            **values,
        )

    return _make


@pytest.fixture
def release_pair(site_a: HospitalSite, site_b: HospitalSite, last_month: dt.date):
    """Release 1 with two months of site A; release 2 adds site B and a resubmission."""
    prev = add_months(last_month, -1)
    a_prev = make_submission(site_a, prev)
    a_last_v1 = make_submission(site_a, last_month, status="superseded")
    r1 = Release.objects.create(number=1, label=f"{prev:%Y-%m}")
    r1.submissions.set([a_prev, a_last_v1])
    a_last_v2 = make_submission(site_a, last_month, version=2)
    b_last = make_submission(site_b, last_month)
    r2 = Release.objects.create(number=2, label=f"{last_month:%Y-%m}")
    r2.submissions.set([a_prev, a_last_v2, b_last])
    return r1, r2
