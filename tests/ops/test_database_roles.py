"""The compose stack connects the application as a runtime role, never as the superuser.

docker-compose.yml, .env.example and deploy/postgres/init-roles.sh are parsed (no container
engine runs in CI): web, worker and scheduler connect with the runtime role, the
``migrate`` step with the owner role, and the init script creates the runtime role
without any power over the schema or the audit log (docs/operations.md, "Database roles").
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml
from django.db import connection

from tests.ops.test_compose import APP_SERVICES, command_of, env_example
from tests.ops.test_settings import production_env

ROOT = Path(__file__).resolve().parent.parent.parent
INIT_SCRIPT = ROOT / "deploy" / "postgres" / "init-roles.sh"
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?[?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return env_example()


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}`` / ``${VAR:?message}`` substitution, from .env.example."""
    return INTERPOLATION.sub(lambda match: env[match.group(1)], value)


def container_environment(service: dict, env: dict[str, str]) -> dict[str, str]:
    """What a service's container sees: its env_file (.env), then its ``environment``."""
    assert service.get("env_file") in (".env", [".env"])
    seen = dict(env)
    for key, value in (service.get("environment") or {}).items():
        seen[key] = interpolate(str(value), env)
    return seen


def url_user_and_password(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    assert parts.scheme in ("postgres", "postgresql"), url
    return unquote(parts.username or ""), unquote(parts.password or "")


def sql_of(script: str) -> str:
    """The SQL the script feeds psql (its here-document), without comments."""
    match = re.search(r"<<'SQL'\n(.*?)\nSQL\n", script, re.DOTALL)
    assert match, "the init script feeds psql no here-document"
    return re.sub(r"--[^\n]*", "", match.group(1))


def statements(sql: str) -> list[str]:
    return [" ".join(part.split()) for part in sql.split(";") if part.strip()]


def test_the_three_roles_are_different_people(env):
    users = [env["POSTGRES_USER"], env["DATABASE_OWNER_USER"], env["DATABASE_APP_USER"]]
    passwords = [
        env["POSTGRES_PASSWORD"],
        env["DATABASE_OWNER_PASSWORD"],
        env["DATABASE_APP_PASSWORD"],
    ]

    assert all(users) and len(set(users)) == 3
    assert all("CHANGE-ME" in p for p in passwords) and len(set(passwords)) == 3


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_connect_as_the_runtime_role(compose, env, name):
    seen = container_environment(compose["services"][name], env)
    user, password = url_user_and_password(seen["DATABASE_URL"])

    assert user != env["POSTGRES_USER"], "the application connects as the superuser"
    assert user != env["DATABASE_OWNER_USER"], "the application connects as the owner"
    assert (user, password) == (env["DATABASE_APP_USER"], env["DATABASE_APP_PASSWORD"])


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_never_see_the_superuser_or_owner_secrets(compose, env, name):
    seen = container_environment(compose["services"][name], env)
    secrets = {env["POSTGRES_PASSWORD"], env["DATABASE_OWNER_PASSWORD"]}

    assert seen["DATABASE_MIGRATE_URL"] == ""
    leaked = {key for key, value in seen.items() if any(s in value for s in secrets)}
    assert leaked == set()


def test_migrate_runs_as_the_owner_role(compose, env):
    migrate = compose["services"]["migrate"]
    seen = container_environment(migrate, env)
    user, password = url_user_and_password(seen["DATABASE_URL"])

    command = command_of(migrate)
    assert command[command.index("manage.py") + 1] == "migrate"
    assert (user, password) == (env["DATABASE_OWNER_USER"], env["DATABASE_OWNER_PASSWORD"])
    assert user != env["POSTGRES_USER"]
    assert url_user_and_password(env["DATABASE_MIGRATE_URL"]) == (user, password)
    # A one-off step: `docker compose up` never starts it.
    assert migrate.get("profiles")
    assert seen["DJANGO_SETTINGS_MODULE"] == "istv_portal.settings.production"


def test_nothing_else_runs_migrate(compose):
    """Migrations run in the ``migrate`` service only: not on start, not in the image."""
    for name, service in compose["services"].items():
        if name != "migrate" and "command" in service:
            assert "migrate" not in command_of(service), name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "manage.py migrate" not in dockerfile
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "docker compose run --rm migrate" in operations
    assert "run --rm web python manage.py migrate" not in operations


def test_db_service_runs_the_init_script_with_the_role_settings(compose):
    db = compose["services"]["db"]
    targets = {}
    for mount in db.get("configs", []):
        source = compose["configs"][mount["source"]]["file"]
        targets[mount["target"]] = (ROOT / source).resolve()

    assert INIT_SCRIPT.resolve() in targets.values()
    target = next(t for t, path in targets.items() if path == INIT_SCRIPT.resolve())
    assert target.startswith("/docker-entrypoint-initdb.d/") and target.endswith(".sh")
    for name in (
        "DATABASE_OWNER_USER",
        "DATABASE_OWNER_PASSWORD",
        "DATABASE_APP_USER",
        "DATABASE_APP_PASSWORD",
    ):
        assert db["environment"][name] == f"${{{name}:?set {name} in .env}}"


def test_init_script_creates_a_powerless_runtime_role():
    script = INIT_SCRIPT.read_text()
    sql = statements(sql_of(script))
    creates_app = [s for s in sql if s.startswith('CREATE ROLE :"app"')]

    # psql variables: :"app" is the runtime role, :"owner" the owner, both from .env.
    assert '--set=app="$DATABASE_APP_USER"' in script
    assert '--set=owner="$DATABASE_OWNER_USER"' in script
    assert len(creates_app) == 1
    attributes = set(creates_app[0].split())
    assert {"LOGIN", "NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE"} <= attributes
    assert not attributes & {"SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"}
    # Never an owner, nor a member of a role (the owner's rights would come with it).
    assert not [s for s in sql if re.search(r'OWNER TO :"app"', s)]
    assert not [s for s in sql if re.fullmatch(r'GRANT :"\w+" TO :"app"', s)]
    assert 'ALTER SCHEMA public OWNER TO :"owner"' in sql
    # Its grants: connect, use the schema; rows and sequences through the owner's defaults.
    grants = [s for s in sql if s.startswith("GRANT") and s.endswith('TO :"app"')]
    assert sorted(grants) == [
        'GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app"',
        'GRANT USAGE ON SCHEMA public TO :"app"',
    ]
    defaults = [s for s in sql if s.startswith("ALTER DEFAULT PRIVILEGES")]
    assert sorted(defaults) == [
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public'
        ' GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app"',
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public'
        ' GRANT USAGE, SELECT ON SEQUENCES TO :"app"',
    ]


def _check_deploy(settings_module: str) -> subprocess.CompletedProcess[str]:
    """``manage.py check --deploy`` against the test database, as its superuser."""
    db = connection.settings_dict
    url = (
        f"postgres://{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(DJANGO_SETTINGS_MODULE=settings_module, DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_check_deploy_flags_a_superuser_connection_and_the_gate_silences_only_that():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("the test database is not reached as a superuser")

    production = _check_deploy("istv_portal.settings.production")
    gate = _check_deploy("istv_portal.settings.deploy_check")

    assert production.returncode != 0
    assert "istv.W001" in production.stdout + production.stderr
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "System check identified no issues (1 silenced)" in gate.stdout


def test_the_quality_gate_runs_the_deploy_check_with_the_gate_settings(monkeypatch):
    spec = importlib.util.spec_from_file_location("devstack", ROOT / "scripts" / "devstack.py")
    assert spec and spec.loader
    devstack = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "devstack", devstack)
    spec.loader.exec_module(devstack)
    steps: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(devstack, "run_step", lambda *step: steps.append(step) or True)

    assert devstack.quality_gates("postgres://postgres@127.0.0.1/istv")

    deploy = [(command, env) for _name, command, env in steps if "--deploy" in command]
    assert len(deploy) == 1
    assert deploy[0][1]["DJANGO_SETTINGS_MODULE"] == "istv_portal.settings.deploy_check"
