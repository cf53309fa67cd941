"""The geocoder is unavailable while a file is loaded.

The fault is injected at the geocoder boundary only (its batch call raises a timeout, as
a remote geocoder's 5xx or timeout would) while a real submission goes through
``ingest.services``. Rows must be stored pending with no point, stay off the map and
the API (with a note on the map saying so), and be completed by the retry job once the
geocoder is back: directly, and through a real Celery worker.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.audit.models import AuditEvent
from accounts.models import User
from accounts.services import api_token_create
from hospitals.models import HospitalSite, Submission
from incidents.geocoding.geocoder import Geocoder
from incidents.geocoding.loaders import gazetteer_load
from incidents.geocoding.service import reset_geocoder
from incidents.models import Incident
from ingest import geocode_retry, services
from ingest.scorecard import NOT_PLACED, NOT_PLACED_BY_DESIGN
from ingest.tasks import retry_pending_geocodes
from istv_portal.celery import app as celery_app
from tests.factories import login_verified
from tests.geocoding.conftest import HACKNEY, LAMBETH, SOUTHWARK, write_mini_gazetteer
from tests.locks import advisory_lock_held_elsewhere
from tests.submissions.helpers import HEADER, confirm_test_layout, upload, use_private_storage
from tests.worker import WorkerHandle, wait_until

Status = Submission.Status
# Descriptions the mini gazetteer places (Lambeth, Southwark, Southwark, Hackney) and one
# it must never place (a home).
DESCRIPTIONS = (
    "o/s Brixton stn",
    "outside shop se15 4st",
    "Rye Lane",
    "junction of Mare St and Well St",
    "pt's home",
)
ROWS = 20  # four of each description
PLACED_BOROUGHS = {LAMBETH: 4, SOUTHWARK: 8, HACKNEY: 4}


class GeocoderTimeout(Exception):
    """What a remote geocoder's timeout or 5xx would surface as."""


def _geocoder_down(self: Geocoder, items: object) -> list[object]:
    raise GeocoderTimeout("geocoder timed out (HTTP 504)")


def _csv(rows: int = ROWS) -> bytes:
    lines = [",".join(HEADER)]
    for i in range(rows):
        day = f"{1 + i % 27:02d}/05/2025"
        text = DESCRIPTIONS[i % len(DESCRIPTIONS)]
        lines.append(",".join([day, "21:10", day, "21:00", "Fist", "", "Street", text]))
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def storage_root(settings: object, tmp_path: Path) -> Path:
    return use_private_storage(settings, tmp_path)


@pytest.fixture
def mapped_site(site_a: HospitalSite) -> HospitalSite:
    return confirm_test_layout(site_a)


@pytest.fixture
def gazetteer(tmp_path: Path) -> Iterator[None]:
    """The mini London gazetteer loaded through the real loader (the geocoder works)."""
    directory = tmp_path / "geo"
    directory.mkdir()
    gazetteer_load(directory=write_mini_gazetteer(directory))
    reset_geocoder()
    yield
    reset_geocoder()


@pytest.fixture
def loaded_while_down(
    monkeypatch: pytest.MonkeyPatch,
    gazetteer: None,
    storage_root: Path,
    mapped_site: HospitalSite,
    liaison_a: User,
    data_manager: User,
) -> Submission:
    """A file received, processed and published while the geocoder times out."""
    with monkeypatch.context() as patch:
        patch.setattr(Geocoder, "geocode_many", _geocoder_down)
        submission = services.submission_receive(
            actor=liaison_a,
            site=mapped_site,
            period="2025-05",
            upload=upload(_csv()),
            set_aside_invalid=False,
            dry_run=False,
            enqueue=False,
        )
        done = services.submission_process(submission_id=submission.pk)
    assert done.status == Status.READY_FOR_REVIEW
    return services.submission_publish(actor=data_manager, submission=done)


def _map(client: Client, user: User, **params: str) -> tuple[dict[str, Any], str]:
    login_verified(client, user)
    data = client.get(reverse("incidents:map_data"), params).json()
    page = client.get(reverse("incidents:map"), params).content.decode()
    return data, page


def _api_incidents(user: User) -> list[dict[str, Any]]:
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(actor=user, name='t', days=1).key}"
    )
    response = api.get(reverse("api:incident-list"), {"page_size": 100})
    assert response.status_code == 200
    return list(response.json()["results"])


def _assert_all_pending(submission: Submission) -> None:
    rows = Incident.objects.filter(submission=submission)
    assert rows.count() == ROWS
    assert set(rows.values_list("geocode_status", flat=True)) == {"pending"}
    # Never a default point or area: nothing to place them on a map.
    assert not rows.filter(lat__isnull=False).exists()
    assert set(rows.values_list("borough_code", flat=True)) == {""}


pytestmark = pytest.mark.django_db


def test_rows_load_pending_and_the_map_flags_them(
    client: Client,
    loaded_while_down: Submission,
    mps_analyst: User,
    aggregate_user: User,
    southwark_analyst: User,
) -> None:
    submission = loaded_while_down
    assert submission.status == Status.PUBLISHED
    _assert_all_pending(submission)
    assert submission.scorecard["geocoded_by_precision"] == {"pending": ROWS}
    assert "geocoded_share" in submission.scorecard["failed_checks"]

    # Pan-London, record level: absent from the map and the API, and counted exactly.
    data, page = _map(client, mps_analyst)
    assert data["areas"] == {} and data["total"] == 0 and data["grid"] == []
    assert data["awaitingGeocode"]["count"] == ROWS
    assert f"{ROWS} incidents matching your filters (apart from area) are awaiting" in page
    assert 'id="awaiting-geocode" class="govuk-inset-text"' in page
    assert _api_incidents(mps_analyst) == []
    # A filter period without them: no note.
    data, page = _map(client, mps_analyst, assault_date_from="2025-06-01")
    assert data["awaitingGeocode"] is None and "awaiting-geocode" not in page
    # Other filters that say nothing about place still apply.
    data, _ = _map(client, mps_analyst, method="knife")
    assert data["awaitingGeocode"] is None

    # Pan-London, aggregate only: the disclosure rule (20, perturbed by up to 4 and
    # rounded to 5).
    data, page = _map(client, aggregate_user)
    shown = data["awaitingGeocode"]["count"]
    assert shown in (15, 20, 25) and f"About {shown} incidents" in page
    data, page = _map(client, aggregate_user, assault_date_to="2025-05-04")  # 4 rows
    assert data["awaitingGeocode"]["count"] == "*"
    assert "Between 1 and 7 incidents" in page

    # One borough only: told that the period has some, never how many.
    data, page = _map(client, southwark_analyst)
    assert data["areas"] == {}
    assert data["awaitingGeocode"] == {"count": None, "note": data["awaitingGeocode"]["note"]}
    assert "Some incidents in this period are awaiting geocoding" in page
    assert str(ROWS) not in data["awaitingGeocode"]["note"]
    data, _ = _map(client, southwark_analyst, assault_date_from="2025-06-01")
    assert data["awaitingGeocode"] is None


def test_retry_completes_them_once_the_geocoder_is_back(
    client: Client, loaded_while_down: Submission, mps_analyst: User
) -> None:
    submission = loaded_while_down
    outcome = geocode_retry.pending_geocodes_retry(batch_rows=7)  # three batches

    assert outcome.status == "completed"
    assert (outcome.rows_updated, outcome.submissions, outcome.still_pending) == (ROWS, 1, 0)
    rows = Incident.objects.filter(submission=submission)
    assert set(rows.values_list("geocode_status", flat=True)) == {"done"}
    placed = rows.filter(lat__isnull=False)
    assert placed.count() == sum(PLACED_BOROUGHS.values())
    assert not rows.filter(geo_class="home", lat__isnull=False).exists()

    data, page = _map(client, mps_analyst)
    assert data["areas"] == PLACED_BOROUGHS
    assert data["awaitingGeocode"] is None and "awaiting-geocode" not in page
    # Once classed, the rows without a place (home here) count too, for a pan-London
    # analyst: in the list with no borough, and in the map's "not located" note.
    unplaced = ROWS - placed.count()
    assert data["notLocated"]["count"] == unplaced
    boroughs = Counter(row["borough"] for row in _api_incidents(mps_analyst))
    assert dict(boroughs) == {**PLACED_BOROUGHS, None: unplaced}

    # The submission's scorecard and report now tell the truth about its locations.
    submission.refresh_from_db()
    by_precision = submission.scorecard["geocoded_by_precision"]
    assert "pending" not in by_precision and sum(by_precision.values()) == ROWS
    # Rows not placed are counted as unplaced or by their class when never placed (home).
    not_placed = {k: n for k, n in by_precision.items() if k in NOT_PLACED}
    assert sum(not_placed.values()) == ROWS - placed.count()
    by_design = sum(n for k, n in by_precision.items() if k in NOT_PLACED_BY_DESIGN)
    assert by_design == rows.filter(lat__isnull=True, geo_class__in=NOT_PLACED_BY_DESIGN).count()
    assert submission.scorecard["geocoded_share"] == round(placed.count() / (ROWS - by_design), 4)
    assert "geocoded_share" not in submission.scorecard["failed_checks"]
    assert submission.report["geocoded_by_precision"] == by_precision

    # One audit event, counts only.
    event = AuditEvent.objects.get(action="geocode.retried")
    assert event.actor is None
    assert event.details == {
        "status": "completed",
        "rows_updated": ROWS,
        "descriptions": 15,  # batches of 7, 7 and 6 rows: 5 distinct descriptions each
        "submissions": 1,
        "still_pending": 0,
    }
    assert not any(text in str(event.details) for text in DESCRIPTIONS)

    # Idempotent: nothing left to do, nothing written.
    assert geocode_retry.pending_geocodes_retry().status == "nothing_pending"
    assert AuditEvent.objects.filter(action="geocode.retried").count() == 1


def test_a_retry_that_changed_rows_invalidates_cached_pages(
    loaded_while_down: Submission, django_capture_on_commit_callbacks: Any
) -> None:
    """Cached dashboards and charts are keyed by the data version; rows completed by a
    retry change what they show, so the version must change too."""
    from incidents.workspace.cache import data_version

    before = data_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert geocode_retry.pending_geocodes_retry().status == "completed"
    after = data_version()
    assert after != before
    with django_capture_on_commit_callbacks(execute=True):
        assert geocode_retry.pending_geocodes_retry().status == "nothing_pending"
    assert data_version() == after


def test_retry_while_still_down_leaves_them_pending_quietly(
    loaded_while_down: Submission,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(Geocoder, "geocode_many", _geocoder_down)
    with caplog.at_level(logging.WARNING, logger="ingest.geocode_retry"):
        outcome = geocode_retry.pending_geocodes_retry()
    assert outcome.status == "unavailable" and outcome.still_pending == ROWS
    _assert_all_pending(loaded_while_down)
    assert not AuditEvent.objects.filter(action="geocode.retried").exists()
    warnings = [r for r in caplog.records if r.name == "ingest.geocode_retry"]
    assert len(warnings) == 1 and "GeocoderTimeout" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # one line, no traceback every 15 minutes


def test_retry_without_a_gazetteer_leaves_them_pending(
    loaded_while_down: Submission, caplog: pytest.LogCaptureFixture
) -> None:
    from incidents.geocoding.models import Area, Place, Postcode

    Place.objects.all().delete()
    Postcode.objects.all().delete()
    Area.objects.all().delete()
    reset_geocoder()
    with caplog.at_level(logging.WARNING, logger="ingest.geocode_retry"):
        assert geocode_retry.pending_geocodes_retry().status == "unavailable"
    _assert_all_pending(loaded_while_down)
    assert "no gazetteer loaded" in caplog.text


def test_a_second_run_while_one_holds_the_lock_does_nothing(
    loaded_while_down: Submission,
) -> None:
    with advisory_lock_held_elsewhere(geocode_retry._LOCK_NAMESPACE, geocode_retry._LOCK_KEY):
        assert geocode_retry.pending_geocodes_retry().status == "locked"
        _assert_all_pending(loaded_while_down)
    assert geocode_retry.pending_geocodes_retry().status == "completed"


def test_a_row_decided_meanwhile_is_not_overwritten(loaded_while_down: Submission) -> None:
    """A review decision can update a row between the retry reading its batch and
    writing it: the write keeps only rows that are still pending."""
    from incidents.geocoding.service import get_geocoder

    row = Incident.objects.filter(submission=loaded_while_down).order_by("pk").first()
    assert row is not None
    key = (loaded_while_down.site.site_code, row.location_description, row.location_type_code)
    columns = {key: geocode_retry.geocode_columns(get_geocoder().geocode("Rye Lane"))}
    Incident.objects.filter(pk=row.pk).update(geocode_status="done", geo_class="vague")

    batch = [(row.pk, loaded_while_down.pk, *key)]
    assert geocode_retry._write_batch(batch, columns) == (0, set())
    row.refresh_from_db()
    assert row.geo_class == "vague" and row.lat is None


def test_the_retry_task_is_scheduled_and_fits_the_visibility_timeout() -> None:
    name = "ingest.tasks.retry_pending_geocodes"
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == name]
    assert len(entries) == 1
    assert entries[0]["schedule"].total_seconds() == 15 * 60
    task = celery_app.tasks[name]
    assert task.acks_late is True
    assert task.soft_time_limit < task.time_limit < settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    assert task.soft_time_limit > geocode_retry.MAX_SECONDS


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_completes_pending_rows(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    loaded_while_down: Submission,
) -> None:
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")  # checks run in CI on their own
    worker: WorkerHandle = request.getfixturevalue("celery_worker_proc")
    _assert_all_pending(loaded_while_down)

    retry_pending_geocodes.delay()

    pending = Incident.objects.filter(submission=loaded_while_down, geocode_status="pending")
    assert wait_until(lambda: not pending.exists(), timeout=30), worker.log()[-3000:]
    placed = Incident.objects.filter(submission=loaded_while_down, lat__isnull=False)
    assert placed.count() == sum(PLACED_BOROUGHS.values())
    assert wait_until(lambda: AuditEvent.objects.filter(action="geocode.retried").exists())
    assert worker.executed().get(retry_pending_geocodes.name) == 1


def test_a_geocoder_built_before_the_gazetteer_was_loaded_is_rebuilt(
    loaded_while_down: Submission,
) -> None:
    """A worker that started before the gazetteer was loaded holds an empty geocoder;
    the retry must notice the load rather than report "no gazetteer" for ever."""
    from incidents.geocoding import service
    from incidents.geocoding.gazetteer import Gazetteer

    # Not monkeypatch: restoring the old geocoder after the gazetteer fixture's reset
    # would leave a stale one in this process for later tests.
    service._geocoder = Geocoder(Gazetteer(), {})
    try:
        assert service.get_geocoder().gz.is_empty
        assert geocode_retry.pending_geocodes_retry().status == "completed"
        assert not service.get_geocoder().gz.is_empty
    finally:
        reset_geocoder()
