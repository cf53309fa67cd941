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


def test_filesystem_broker_keeps_every_folder_under_its_data_dir(tmp_path, monkeypatch):
    """The serverless broker must not write queue or exchange files into the checkout."""
    from celery import Celery
    from django.test import override_settings

    from istv_portal.celery import _configure_filesystem_broker

    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "broker"
    probe = Celery("probe", broker="filesystem://")
    with override_settings(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_DATA_DIR=data_dir):
        _configure_filesystem_broker(probe)
    options = probe.conf.broker_transport_options
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert options[key].startswith(str(data_dir)), key

    with probe.connection_for_write() as conn:
        channel = conn.default_channel
        # A fanout binding (what worker broadcasts use) is what writes an exchange table.
        channel.exchange_declare("probe", "fanout")
        channel.queue_declare("probe-queue")
        channel.queue_bind("probe-queue", "probe", "")
    assert not (tmp_path / "control").exists()
    assert list((data_dir / "control").glob("*.exchange"))
