"""A deployment without Redis, set up with `migrate` alone and no `collectstatic`.

With no REDIS_URL the settings use the database cache; its table used to come only from
``createcachetable``, which a plain ``migrate`` deployment never ran, so every request
that touched the cache failed. And with no static files manifest, every ``{% static %}``
raised, including the 500 page's own, so the visitor got the server's bare error. Now
``migrate`` creates the table (accounts 0004) and static URLs fall back to plain names
until a manifest exists (``istv_portal.static_storage``).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import dj_database_url
import psycopg
import pytest
from django.db import connection
from psycopg import sql

from istv_portal import errors
from istv_portal.static_storage import PortalStaticFilesStorage
from tests.ops.no_redis_probe import PROBE_KEY
from tests.ops.outage_urls import SECRET_DETAIL
from tests.ops.test_settings import production_env

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE_MIGRATION = importlib.import_module("accounts.migrations.0004_database_cache_table")


def _server_params(url: str) -> dict[str, Any]:
    config = dj_database_url.parse(url)
    return {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """An empty database of its own on the test server, dropped afterwards."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured:
        pytest.skip("needs DATABASE_URL (make test sets it)")
    name = f"istv_no_redis_{os.getpid()}"
    params = _server_params(configured)

    def drop() -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    drop()
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlunsplit(urlsplit(configured)._replace(path="/" + quote(name, safe="")))
    drop()


@pytest.mark.slow
def test_without_redis_or_collectstatic_pages_and_the_500_page_render(
    fresh_database_url: str, tmp_path: Path
) -> None:
    static_root = tmp_path / "static"  # collectstatic never ran: no files, no manifest
    out = tmp_path / "probe.json"
    env = production_env(
        DATABASE_URL=fresh_database_url,
        REDIS_URL=None,
        CELERY_BROKER_URL=None,
        CELERY_BROKER_DIR=str(tmp_path / "broker"),
        STATIC_ROOT=str(static_root),
        PRIVATE_STORAGE_ROOT=str(tmp_path / "private"),
        QUARANTINE_STORAGE_ROOT=str(tmp_path / "quarantine"),
        ISTV_PROBE_OUT=str(out),
        LOG_LEVEL="ERROR",
        AUDIT_LOG_LEVEL="WARNING",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result

    run("manage.py", "migrate", "--noinput")
    probe = run("-m", "tests.ops.no_redis_probe")
    shown = json.loads(out.read_text(encoding="utf-8"))

    assert shown["cache_backend"] == "django.core.cache.backends.db.DatabaseCache"
    # Pages render, with plain static URLs while there is no manifest.
    assert shown["login"]["status"] == 200
    assert 'href="/static/css/portal.css"' in shown["login"]["body"]
    # A failed sign-in is counted by the rate limit in the cache: an answer, not a 500.
    assert shown["login_post"]["status"] == 200
    assert "Sorry, there is a problem" not in shown["login_post"]["body"]
    assert shown["missing"]["status"] == 404
    assert "Page not found" in shown["missing"]["body"]
    # A forced error gets the portal's own 500 page, not the server's bare error.
    assert shown["bug"]["status"] == 500
    assert "Sorry, there is a problem with the service" in shown["bug"]["body"]
    assert 'href="/static/govuk/govuk-frontend.min.css"' in shown["bug"]["body"]
    assert SECRET_DETAIL not in shown["bug"]["body"]
    # The missing manifest is said once, in the log, naming the fix.
    assert (probe.stdout + probe.stderr).count("run `manage.py collectstatic`") == 1

    name = urlsplit(fresh_database_url).path.lstrip("/")
    with psycopg.connect(dbname=name, **_server_params(fresh_database_url)) as conn:
        # The table came from migrate, and the probe's entry is in it for every process.
        keys = [row[0] for row in conn.execute("SELECT cache_key FROM istv_cache")]
        assert any(key.endswith(PROBE_KEY) for key in keys)
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'istv_cache'"
        ).fetchall()
        assert any("(expires)" in row[0] for row in indexes)


@pytest.mark.django_db
def test_the_cache_table_migration_creates_the_table_and_leaves_an_existing_one() -> None:
    def exists() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('istv_cache') IS NOT NULL")
            return bool(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS istv_cache")
    assert not exists()
    with connection.schema_editor() as editor:
        CACHE_MIGRATION.create_cache_tables(None, editor)
    assert exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO istv_cache (cache_key, value, expires) VALUES ('kept', 'v', now())"
        )
    with connection.schema_editor() as editor:  # again: a no-op on an existing table
        CACHE_MIGRATION.create_cache_tables(None, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM istv_cache WHERE cache_key = 'kept'")
        assert cursor.fetchone()[0] == 1


def test_static_urls_fall_back_to_plain_names_only_without_a_manifest(tmp_path: Path) -> None:
    storage = PortalStaticFilesStorage(location=str(tmp_path), base_url="/static/")
    assert storage.url("css/portal.css") == "/static/css/portal.css"

    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"css/portal.css": "css/portal.0123456789ab.css"}}),
        encoding="utf-8",
    )
    with_manifest = PortalStaticFilesStorage(location=str(tmp_path), base_url="/static/")
    assert with_manifest.url("css/portal.css") == "/static/css/portal.0123456789ab.css"
    # With a manifest, a file missing from it is still an error (a bug to fix).
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        with_manifest.url("css/typo.css")


def test_an_error_page_that_cannot_render_is_replaced_by_a_plain_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str) -> Any:
        raise ValueError(f"cannot render {name}")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    try:
        raise RuntimeError(SECRET_DETAIL)
    except RuntimeError:
        response = errors.server_error(None)  # type: ignore[arg-type]
    body = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body
    assert SECRET_DETAIL not in body and "cannot render" not in body
