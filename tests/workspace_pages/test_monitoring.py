"""The monthly monitoring report: protected tables, archived files, the nightly task."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from incidents import monitoring
from incidents.tasks import generate_monitoring_report, monitoring_reports_catch_up
from tests.factories import login_verified
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import TOWER_HAMLETS

pytestmark = pytest.mark.django_db


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_report_tables_are_protected_and_archived(
    seeded: dict[str, Any], private_storage: Path
) -> None:
    entry = monitoring.monitoring_report_generate(release=seeded["release"])
    folder = private_storage / "monitoring" / "release-1"
    assert set(entry.files) == {"report.html", *(f"{t.slug}.csv" for t in monitoring.TABLES)}
    by_borough = {r["borough"]: r["count"] for r in _rows(folder / "incidents_by_borough.csv")}
    # 12 + 9 + 3 in the last 12 months, over the full grid of London: 3 and every empty
    # borough look alike ("*"); 12 and 9 are perturbed by up to 4 and rounded.
    assert by_borough[TOWER_HAMLETS] == "*"
    assert by_borough[SOUTHWARK] in ("10", "15") and by_borough[LAMBETH] in ("10", "15")
    assert set(by_borough) == {*LONDON_BOROUGHS, "not_located"}
    assert list(by_borough.values()).count("*") == len(by_borough) - 2
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Disclosure control" in html and "release 1" in html
    index = json.loads((private_storage / "monitoring" / "index.json").read_text())
    assert index[0]["release"] == 1 and index[0]["files"] == entry.files


def test_nightly_task_writes_missing_reports_once(
    seeded: dict[str, Any], private_storage: Path, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from istv_portal.celery import app

    app.conf.task_always_eager = True
    try:
        assert monitoring_reports_catch_up() == 1
        assert monitoring_reports_catch_up() == 0
    finally:
        app.conf.task_always_eager = False
    assert generate_monitoring_report(seeded["release"].pk) == 1
    assert generate_monitoring_report(999_999) is None


def test_the_catch_up_is_on_the_beat_schedule_once_a_night() -> None:
    """Beat is the only caller of the catch-up: without its entry no report is ever written.
    Read from the Celery app (what beat runs), not only from the settings."""
    from istv_portal.celery import app

    name = "incidents.tasks.monitoring_reports_catch_up"
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == name]
    assert len(entries) == 1
    assert monitoring_reports_catch_up.name == name and name in app.tasks
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.month_of_year == set(range(1, 13))
    assert schedule.day_of_month == set(range(1, 32))
    assert schedule.day_of_week == set(range(7))
    assert len(schedule.hour) == 1 and len(schedule.minute) == 1  # once a day


def test_reader_lists_and_downloads_a_report_audited(
    client: Client, aggregate_user: User, seeded: dict[str, Any], private_storage: Path
) -> None:
    monitoring.monitoring_report_generate(release=seeded["release"])
    login_verified(client, aggregate_user)
    listing = client.get(reverse("incidents:monitoring_list"))
    assert "incidents_by_borough.csv" in listing.content.decode()
    response = client.get(
        reverse("incidents:monitoring_file", args=[1, "incidents_by_borough.csv"])
    )
    assert response.status_code == 200
    assert b"borough" in b"".join(response.streaming_content).splitlines()[0]
    assert AuditEvent.objects.filter(actor=aggregate_user, action="data.downloaded").count() == 1
    # Only files listed in the index can be fetched.
    assert (
        client.get(reverse("incidents:monitoring_file", args=[1, "index.json"])).status_code == 404
    )
