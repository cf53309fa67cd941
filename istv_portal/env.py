"""Strict readers for configuration taken from the environment.

Every setting that can vary between deployments is read here, and a malformed value
stops the process at start-up with a message naming the variable, rather than being
silently replaced by a default.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit


class ImproperlyConfiguredEnv(Exception):
    """An environment variable is missing or malformed."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_MISSING = object()


def env_str(name: str, default: str | object = _MISSING) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is _MISSING:
            raise ImproperlyConfiguredEnv(f"Set the environment variable {name}.")
        return str(default)
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name} must be one of {sorted(_TRUE | _FALSE)}, not {value!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name} must be at least {minimum}, not {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name} must be at most {maximum}, not {number}.")
    return number


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name} must be a number, not {value!r}.") from None
    if number != number:  # NaN compares with nothing
        raise ImproperlyConfiguredEnv(f"{name} must be a number, not {value!r}.")
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name} must be at least {minimum}, not {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name} must be at most {maximum}, not {number}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def tile_image_source(url: str) -> list[str]:
    """The CSP ``img-src`` source for a Leaflet tile URL template ("" → none).

    ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` → ``["https://*.tile.example.org"]``:
    the origin only, with a ``{s}`` sub-domain placeholder as a wildcard. Anything that is
    not an http(s) URL with a host is refused, so a typo cannot open the policy.
    """
    if not url:
        return []
    parts = urlsplit(url.replace("{s}", "s-placeholder"))
    if parts.scheme not in ("https", "http") or not parts.hostname or "{" in parts.netloc:
        raise ImproperlyConfiguredEnv(
            "MAP_TILE_URL must be an http(s) URL template, e.g. https://{s}.tile.example/{z}/{x}/{y}.png"
        )
    host = parts.netloc.replace("s-placeholder", "*")
    return [f"{parts.scheme}://{host}"]
