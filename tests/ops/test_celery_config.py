"""Every task can actually be sent: its soft time limit is within its hard one.

Celery refuses to send a task whose effective soft limit (its own, else the global
CELERY_TASK_SOFT_TIME_LIMIT) exceeds its effective hard limit, and beat then fails the
schedule entry on every tick, so a task that sets only ``time_limit`` below the global
soft limit is never run.
"""

import pytest

from istv_portal.celery import app


def _project_task_names() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


# Parametrised by name only: ids must be identical in every pytest-xdist process.
@pytest.mark.parametrize("name", _project_task_names())
def test_soft_time_limit_within_hard_limit(name):
    task = app.tasks[name]
    hard = task.time_limit or app.conf.task_time_limit
    soft = task.soft_time_limit or app.conf.task_soft_time_limit
    if hard and soft:
        assert soft < hard, f"{name}: soft {soft}s is not below hard {hard}s"


def test_every_scheduled_task_is_registered():
    names = set(_project_task_names())
    for entry, schedule in app.conf.beat_schedule.items():
        assert schedule["task"] in names, f"beat entry {entry} names an unknown task"


# A process that only sends tasks (the web server) never finalises the Celery app, so the
# broker's folders must come from the settings alone. Run in a fresh interpreter with no
# Redis, the way ``make run`` runs the portal.
_SEND_FROM_A_WEB_PROCESS = """
import django
django.setup()
from celery import current_app
import istv_portal  # loads the Celery app, as the WSGI entry point does
assert not current_app.finalized
with current_app.connection_for_write() as conn:
    channel = conn.default_channel
    # A fanout binding (what worker broadcasts use) is what writes an exchange table.
    channel.exchange_declare("probe", "fanout")
    channel.queue_declare("probe-queue")
    channel.queue_bind("probe-queue", "probe", "")
current_app.send_task("ingest.tasks.process_submission", args=[1])
"""


def test_a_web_process_sends_tasks_through_the_filesystem_broker(tmp_path):
    """Without Redis the broker is a folder: a process that never finalised the Celery
    app (gunicorn) can still queue a task, and every broker file stays under its data dir,
    none in the working directory."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    data_dir = tmp_path / "broker"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "istv_portal.settings.local",
        "DJANGO_SECRET_KEY": "probe",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_DIR": str(data_dir),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    done = subprocess.run(
        [sys.executable, "-c", _SEND_FROM_A_WEB_PROCESS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((data_dir / "out").glob("*.msg")), "the task was not queued"
    assert list((data_dir / "control").glob("*.exchange"))
    assert not (tmp_path / "control").exists() and not (tmp_path / "data_in").exists()
