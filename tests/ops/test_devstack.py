"""The local launcher's pieces that do not need a process tree: URLs and the local secret."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path
from types import ModuleType

import dj_database_url
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def devstack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("devstack", ROOT / "scripts" / "devstack.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["devstack"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_socket_url_keeps_the_socket_folder_exactly(devstack):
    # Upper case and spaces survive (a host in the URL authority would be lower-cased).
    socket_dir = Path("/Users/Some One/Projects/ISTV/.data/postgres")

    url = devstack.socket_database_url(socket_dir, 5432, "istv")
    config = dj_database_url.parse(url)

    assert config["NAME"] == "istv"
    assert config["USER"] == "postgres"
    assert config["HOST"] == ""
    assert config["OPTIONS"] == {"host": str(socket_dir), "port": 5432}


def test_socket_url_reaches_a_real_server(devstack, django_db_blocker):
    """The URL form works end to end with psycopg (here against the test server's socket)."""
    import psycopg
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SHOW unix_socket_directories")
        socket_dirs = cursor.fetchone()[0]
        cursor.execute("SHOW port")
        port = int(cursor.fetchone()[0])
        name = connection.settings_dict["NAME"]
    socket_dir = Path(socket_dirs.split(",")[0].strip())
    if not (socket_dir / f".s.PGSQL.{port}").exists():
        pytest.skip("the test server is not reachable on a local unix socket")
    config = dj_database_url.parse(devstack.socket_database_url(socket_dir, port, name))

    with psycopg.connect(dbname=config["NAME"], user=config["USER"], **config["OPTIONS"]) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)


def test_local_secret_key_is_kept_private_and_stable(devstack, tmp_path, monkeypatch):
    monkeypatch.setattr(devstack, "DATA", tmp_path / ".data")

    first = devstack.local_secret_key()
    second = devstack.local_secret_key()

    assert first == second
    assert len(first) >= 50
    mode = stat.S_IMODE((tmp_path / ".data" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_child_env_prefers_an_explicit_secret(devstack, monkeypatch, tmp_path):
    monkeypatch.setattr(devstack, "DATA", tmp_path / ".data")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "from-the-environment")

    env = devstack.child_env("postgres://postgres@localhost/istv", "istv_portal.settings.local")

    assert env["DJANGO_SECRET_KEY"] == "from-the-environment"
    assert env["DATABASE_URL"] == "postgres://postgres@localhost/istv"
    assert env["DJANGO_SETTINGS_MODULE"] == "istv_portal.settings.local"
    assert not (tmp_path / ".data" / "secret_key").exists()


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "gw0", "redis://127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/0", "gw1", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379/3", "gw2", "redis://127.0.0.1:6379/5"),
        ("redis://127.0.0.1:6379", "gw1", "redis://127.0.0.1:6379/1"),
        ("redis://:pw@cache:6379/15", "gw1", "redis://:pw@cache:6379/0"),
        (
            "rediss://cache:6380/2?ssl_cert_reqs=none",
            "gw1",
            "rediss://cache:6380/3?ssl_cert_reqs=none",
        ),
        ("redis://127.0.0.1:6379/0", "master", "redis://127.0.0.1:6379/0"),
    ],
)
def test_parallel_test_processes_get_their_own_redis_database(url, worker, expected):
    from tests.xdist_isolation import redis_url_for_worker

    assert redis_url_for_worker(url, worker) == expected


def test_make_run_loads_the_gazetteer_before_the_demo_data(devstack):
    steps = devstack.setup_steps({})
    commands = [step.args[0] for step in steps]
    assert commands[0] == "migrate"
    assert commands[-2:] == ["load_gazetteer", "seed_demo"]
    gazetteer = steps[commands.index("load_gazetteer")]
    # No --dir: the command reads GAZETTEER_DIR, else the shipped folder.
    assert gazetteer.args == ("load_gazetteer",) and "(data/gazetteer)" in gazetteer.name
    assert devstack.SHIPPED_GAZETTEER == ROOT / "data" / "gazetteer"
    assert (devstack.SHIPPED_GAZETTEER / "SHA256SUMS").is_file()
    # Only seed_demo's output is kept: it holds the demo sign-in details.
    assert [step.args[0] for step in steps if step.keep_output] == ["seed_demo"]

    elsewhere = devstack.setup_steps({"GAZETTEER_DIR": "/srv/gazetteer"})
    assert any(step.name.endswith("(/srv/gazetteer)") for step in elsewhere)
