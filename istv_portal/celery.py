"""The Celery application. Workers and the scheduler load Django settings from here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "istv_portal.settings.local")

app = Celery("istv_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _configure_filesystem_broker(sender: Celery, **kwargs: object) -> None:
    """With no Redis the broker is kombu's filesystem transport: folders, no server."""
    from django.conf import settings

    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        folder = settings.CELERY_BROKER_DATA_DIR
        for sub in ("out", "processed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        sender.conf.broker_transport_options = {
            "data_folder_in": str(folder / "out"),
            "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
        }
