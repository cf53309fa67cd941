"""Shared fixtures. Personas and the permission matrix live here (see tests/accounts)."""

from tests.worker import celery_worker_proc  # noqa: F401  (a real Celery worker)

# Named personas (liaison_a, southwark_analyst, access_admin, outsider, ...): tests/personas.py
pytest_plugins = ["tests.personas"]
