"""Give each pytest-xdist process its own Redis database.

Loaded as a plugin (``-p tests.xdist_isolation``, as ``make test`` does) so it runs
before pytest-django reads the settings. Parallel processes then never share a Celery
queue or cache keys: a real worker started by one process cannot take a task sent by the
other, which would run it against the wrong test database. The PostgreSQL side is
already separate (pytest-django gives each process its own test database).
"""

from __future__ import annotations

import os
import re

REDIS_DATABASES = 16  # Redis' default `databases` setting
_WORKER_ID = re.compile(r"^gw(\d+)$")
_DB_PATH = re.compile(r"^(?P<base>rediss?://[^/]*)(?:/(?P<db>\d*))?(?P<rest>[?#].*)?$")


def redis_url_for_worker(url: str, worker_id: str) -> str:
    """``redis://h:6379/3`` for ``gw1`` → ``redis://h:6379/4`` (wrapping at 16)."""
    worker = _WORKER_ID.match(worker_id)
    parts = _DB_PATH.match(url)
    if not worker or not parts:
        return url
    db = (int(parts["db"] or 0) + int(worker[1])) % REDIS_DATABASES
    return f"{parts['base']}/{db}{parts['rest'] or ''}"


def _isolate() -> None:
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if worker_id and url and not os.environ.get("ISTV_XDIST_ISOLATED"):
        os.environ["REDIS_URL"] = redis_url_for_worker(url, worker_id)
        # A broker URL set on its own would otherwise still be shared.
        os.environ.pop("CELERY_BROKER_URL", None)
        os.environ["ISTV_XDIST_ISOLATED"] = "1"


_isolate()
