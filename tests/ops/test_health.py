"""/healthz: database, broker and worker heartbeat; 200 only when all are healthy."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from istv_portal import health


@pytest.fixture
def fresh_heartbeat() -> None:
    health.heartbeat_record()


@pytest.fixture(autouse=True)
def _forget_heartbeat():
    # The cache may be Redis, shared across tests: start and end without a heartbeat.
    cache.delete(health.HEARTBEAT_CACHE_KEY)
    yield
    cache.delete(health.HEARTBEAT_CACHE_KEY)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_healthy_when_database_broker_and_fresh_heartbeat(client, fresh_heartbeat):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}
    assert 0 <= body["worker_heartbeat_age_seconds"] < 5
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_stale_heartbeat_is_degraded(client):
    stale = time.time() - health.HEARTBEAT_STALE_AFTER.total_seconds() - 5
    health.heartbeat_record(now=stale)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["worker"] == "stale"
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_heartbeat_just_inside_the_limit_is_fresh(client):
    health.heartbeat_record(now=time.time() - health.HEARTBEAT_STALE_AFTER.total_seconds() + 10)

    assert client.get(reverse("healthz")).status_code == 200


@pytest.mark.django_db
def test_missing_heartbeat_is_degraded(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "missing"


@pytest.mark.django_db
def test_unreachable_broker_is_degraded_without_traceback(client, fresh_heartbeat):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    started = time.monotonic()
    with override_settings(CELERY_BROKER_URL=url):
        response = client.get(reverse("healthz"))
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["checks"]["broker"] == "down"
    assert body["checks"]["database"] == "ok"
    assert b"Traceback" not in response.content
    assert elapsed < 10, "the broker probe must time out quickly"


@pytest.mark.django_db
def test_filesystem_broker_needs_a_usable_folder(client, fresh_heartbeat, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "out").write_text("a file where the queue folder should be")

    with override_settings(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_DATA_DIR=tmp_path):
        usable = client.get(reverse("healthz"))
    with override_settings(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_DATA_DIR=broken):
        unusable = client.get(reverse("healthz"))

    assert usable.status_code == 200
    assert (tmp_path / "out").is_dir()
    assert unusable.status_code == 503
    assert unusable.json()["checks"]["broker"] == "down"


@pytest.mark.django_db
def test_database_down_is_degraded_without_traceback(client, fresh_heartbeat, monkeypatch):
    from django.db import connection
    from django.db.utils import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    # The database is outside this check's control: simulate it refusing connections.
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"
    assert b"connection refused" not in response.content


@pytest.mark.django_db
def test_healthz_needs_no_sign_in_and_reveals_nothing_else(client, fresh_heartbeat):
    body = client.get(reverse("healthz")).json()

    assert set(body) == {"status", "checks", "worker_heartbeat_age_seconds"}
