"""A query's history for the alert tests: one hospital's published file for each of the
40 months up to November 2025 (so every month is complete), ten Southwark incidents a
month, and a spike (or not) in November 2025, all in one release."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from hospitals.models import Submission
from incidents.alert_digests import HISTORY_MONTHS, alert_subscribe
from incidents.models import AlertSubscription, Release, SavedQuery
from incidents.services import saved_query_create
from istv_portal.periods import add_months
from tests.factories import login_verified
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    SOUTHWARK,
    incident_row,
    incidents_create,
    release_create,
    site_get,
    submission_create,
)

TARGET = dt.date(2025, 11, 1)
BASE_COUNT = 10
SPIKE_COUNT = 40
PORTAL = "https://istv.example.org"
QUERY_NAME = "Knife assaults in Southwark"


def history(target_count: int, *, number: int = 1) -> Release:
    """Files for the 40 months ending ``TARGET`` (ten incidents each, ``target_count`` in
    ``TARGET``), published and cut into release ``number``."""
    site = site_get("RYJ01", LAMBETH)
    files: list[Submission] = []
    for back in range(HISTORY_MONTHS, -1, -1):
        month = add_months(TARGET, -back)
        submission = submission_create(site, period=month)
        count = target_count if month == TARGET else BASE_COUNT
        incidents_create(
            submission,
            [
                incident_row(
                    SOUTHWARK,
                    when=dt.datetime(month.year, month.month, 3 + i % 20, 22, 30, tzinfo=LONDON),
                )
                for i in range(count)
            ],
        )
        files.append(submission)
    return release_create(number, files)


@pytest.fixture(autouse=True)
def _portal_address(settings: Any) -> None:
    settings.PORTAL_BASE_URL = PORTAL


@pytest.fixture
def spike(db: None) -> Release:
    return history(SPIKE_COUNT)


@pytest.fixture
def steady(db: None) -> Release:
    return history(BASE_COUNT + 1)


def saved_for(user: User, *, name: str = QUERY_NAME, shared: bool = False) -> SavedQuery:
    return saved_query_create(
        actor=user,
        name=name,
        params={"borough": [SOUTHWARK], "method": ["knife"]},
        release=None,
        shared_with_organisation=shared,
    )


@pytest.fixture
def southwark_alert(southwark_analyst: User) -> AlertSubscription:
    return alert_subscribe(actor=southwark_analyst, saved_query=saved_for(southwark_analyst))


@pytest.fixture
def signed_in() -> Callable[[User], Client]:
    def _client(user: User) -> Client:
        client = Client()
        login_verified(client, user)
        return client

    return _client
