"""Container health probe for the web service: exit 0 only when /healthz answers 200.

Used by docker-compose.yml. It asks gunicorn directly (no proxy in between), so it sends
what the proxy would: a Host the settings allow and ``X-Forwarded-Proto: https`` (the
production settings redirect plain HTTP). Standard library only; it does not load Django.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

HEALTH_PATH = "/healthz"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 5


def probe_host(allowed_hosts: str) -> str:
    """A Host header that DJANGO_ALLOWED_HOSTS accepts ('.example.org' allows subdomains)."""
    for entry in (item.strip() for item in allowed_hosts.split(",")):
        if not entry or entry == "*":
            continue
        return f"health{entry}" if entry.startswith(".") else entry
    return "localhost"


def main() -> int:
    base_url = os.environ.get("HEALTHCHECK_URL", DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        print(f"HEALTHCHECK_URL must be an http(s) URL, not {base_url!r}", file=sys.stderr)
        return 2
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        base_url + HEALTH_PATH,
        headers={
            "Host": probe_host(os.environ.get("DJANGO_ALLOWED_HOSTS", "")),
            "X-Forwarded-Proto": "https",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(2048).decode(errors="replace")
            healthy = response.status == 200
    except urllib.error.HTTPError as exc:
        body = exc.read(2048).decode(errors="replace")
        healthy = False
    except (urllib.error.URLError, OSError) as exc:
        body = f"unreachable: {exc}"
        healthy = False
    print(body)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
