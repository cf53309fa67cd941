"""docker-compose.yml, the Dockerfile and .env.example agree with the code.

No container engine runs in CI, so the files are parsed and every module, settings
module and environment variable they name is checked against the project.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.urls import reverse

from istv_portal import health

ROOT = Path(__file__).resolve().parent.parent.parent
APP_PACKAGES = ["accounts", "hospitals", "incidents", "istv_portal"]
REQUIRED_SERVICES = {"web", "worker", "scheduler", "db", "redis"}
APP_SERVICES = {"web", "worker", "scheduler"}
ENV_READER = re.compile(r"\benv_(?:str|bool|int|float|list)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for package in APP_PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            if "migrations" not in source.parts:
                names |= set(ENV_READER.findall(source.read_text()))
    return names


def env_example() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, separator, value = stripped.partition("=")
        assert separator, f"not KEY=VALUE: {line!r}"
        assert key not in entries, f"{key} is listed twice"
        entries[key] = value
    return entries


def command_of(service: dict) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else command.split()


def option(command: list[str], name: str) -> str:
    """The value of ``--name=value`` or ``--name value`` / ``-A value`` in a command."""
    for index, arg in enumerate(command):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name:
            return command[index + 1]
    raise AssertionError(f"{name} not in {command}")


def test_the_five_services_exist(services):
    assert set(services) >= REQUIRED_SERVICES


def test_every_service_has_a_health_check(services):
    for name in REQUIRED_SERVICES:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"


def test_web_runs_gunicorn_on_the_wsgi_application(services):
    command = command_of(services["web"])
    assert command[0] == "gunicorn"
    target = next(arg for arg in command[1:] if not arg.startswith("-"))
    module_name, _, attribute = target.partition(":")

    module = importlib.import_module(module_name)

    assert module_name == "istv_portal.wsgi"
    assert callable(getattr(module, attribute or "application"))


def test_the_image_compose_and_the_load_benchmark_share_the_gunicorn_settings(services):
    """One gunicorn.conf.py: the capacity the load benchmark measures is production's."""
    assert option(command_of(services["web"]), "--config") == "gunicorn.conf.py"
    cmd = re.search(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert cmd is not None
    assert "--config=gunicorn.conf.py" in cmd.group(1)
    load = (ROOT / "benchmarks" / "load.py").read_text()
    assert 'GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"' in load
    assert '"--config",' in load and "str(GUNICORN_CONFIG)" in load
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["timeout"] >= 60 and settings["workers"] >= 1


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("scheduler", "beat")])
def test_celery_services_name_the_project_app(services, service, subcommand):
    command = command_of(services[service])
    assert command[0] == "celery"
    assert subcommand in command
    app_name = option(command, "--app") if any("--app" in a for a in command) else command[2]

    app = find_app(app_name)

    assert isinstance(app, Celery)
    assert app.main == "istv_portal"
    # The scheduler must actually have the heartbeat to send.
    if subcommand == "beat":
        tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
        assert "istv_portal.worker_heartbeat" in tasks


def test_settings_modules_named_by_the_services_exist(services):
    named = set()
    for name in APP_SERVICES:
        environment = services[name].get("environment", {})
        assert "DJANGO_SETTINGS_MODULE" in environment, f"{name} sets no settings module"
        named.add(environment["DJANGO_SETTINGS_MODULE"])

    assert named == {"istv_portal.settings.production"}
    for module in named:
        assert importlib.util.find_spec(module) is not None


def test_app_services_read_the_env_file_and_wait_for_their_dependencies(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service.get("env_file") in (".env", [".env"])
        depends = service["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_data_services_keep_their_data_in_named_volumes(compose, services):
    declared = set(compose["volumes"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            assert source in declared, f"{name} mounts undeclared volume {source}"
    assert any(m.startswith("pgdata:") for m in services["db"]["volumes"])
    assert any(m.startswith("redisdata:") for m in services["redis"]["volumes"])


def test_env_example_lists_exactly_the_variables_the_code_and_compose_read():
    listed = set(env_example())
    read_by_code = variables_read_by_the_code()
    interpolated = set(COMPOSE_VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))

    assert read_by_code, "the settings read no variables? the pattern is broken"
    assert read_by_code - listed == set(), "read by the settings but missing from .env.example"
    assert listed - (read_by_code | interpolated) == set(), "listed but read by nothing"


def test_env_example_holds_no_usable_secret():
    entries = env_example()

    # Empty or a visible placeholder: production refuses to start until they are set.
    assert entries["DJANGO_SECRET_KEY"] == ""
    assert entries["MFA_ENCRYPTION_KEY"] == ""
    assert "CHANGE-ME" in entries["POSTGRES_PASSWORD"]
    assert "CHANGE-ME" in entries["DATABASE_URL"]
    assert entries["DJANGO_ALLOWED_HOSTS"] and "*" not in entries["DJANGO_ALLOWED_HOSTS"]


def test_dockerfile_builds_from_the_pinned_requirements_and_collects_assets():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install -r requirements/base.txt" in dockerfile
    assert "npm ci" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE), "runs as root"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "node_modules", ".data", ".git"} <= set(ignored)


def test_image_keeps_the_shipped_gazetteer():
    """load_gazetteer in a container defaults to data/gazetteer: the build context keeps it."""
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    shipped = sorted((ROOT / "data" / "gazetteer").iterdir())
    assert any(p.name == "SHA256SUMS" for p in shipped)
    for path in shipped:
        relative = path.relative_to(ROOT).as_posix()
        for prefix in ("data", "data/gazetteer", relative):
            excluded = [p for p in patterns if fnmatch.fnmatch(prefix, p.replace("**/", "*"))]
            assert not excluded, f"{prefix} is excluded by .dockerignore {excluded}"


def test_web_health_check_probes_healthz(services):
    test = services["web"]["healthcheck"]["test"]
    assert "scripts/healthcheck.py" in test
    assert (ROOT / "scripts" / "healthcheck.py").exists()
    assert reverse("healthz") == "/healthz"


def _run_healthcheck(base_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "healthcheck.py")],
        env={"HEALTHCHECK_URL": base_url, "DJANGO_ALLOWED_HOSTS": "localhost"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_healthcheck_script_follows_healthz(live_server):
    from django.core.cache import cache

    health.heartbeat_record()
    healthy = _run_healthcheck(live_server.url)
    cache.delete(health.HEARTBEAT_CACHE_KEY)
    degraded = _run_healthcheck(live_server.url)

    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert degraded.returncode == 1
    assert '"worker": "missing"' in degraded.stdout


def test_healthcheck_script_fails_when_nothing_listens():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _run_healthcheck(f"http://127.0.0.1:{port}")

    assert result.returncode == 1
    assert "unreachable" in result.stdout
