"""Child process of tests/ops/test_no_redis.py: requests against a deployment without Redis.

Run as ``python -m tests.ops.no_redis_probe`` with the production settings, a database
set up by ``migrate`` alone and a STATIC_ROOT nobody ran ``collectstatic`` into. Sends a
few requests through Django's test client (the whole middleware stack, as gunicorn
would) and writes what came back as JSON to the file named by ``ISTV_PROBE_OUT``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import django

PROBE_KEY = "no-redis-probe"


def main() -> None:
    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client, override_settings

    client = Client(raise_request_exception=False, HTTP_HOST="portal.example")
    results: dict[str, Any] = {}

    def record(name: str, response: Any) -> None:
        results[name] = {"status": response.status_code, "body": response.content.decode()}

    record("login", client.get("/accounts/login/", secure=True))
    # A failed sign-in goes through allauth's rate limit, which counts in the cache.
    record(
        "login_post",
        client.post(
            "/accounts/login/",
            {"login": "nobody@example.org", "password": "not-the-password"},
            secure=True,
        ),
    )
    record("missing", client.get("/no-such-page/", secure=True))
    with override_settings(ROOT_URLCONF="tests.ops.outage_urls"):
        record("bug", client.get("/bug/", secure=True))
    cache.set(PROBE_KEY, "shared", 300)
    results["cache_backend"] = settings.CACHES["default"]["BACKEND"]
    Path(os.environ["ISTV_PROBE_OUT"]).write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main()
