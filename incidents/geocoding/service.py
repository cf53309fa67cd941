"""The Python API the upload pipeline calls.

    from incidents.geocoding.service import get_geocoder
    geocoder = get_geocoder()
    result = geocoder.geocode("o/s Brixton stn", hospital="RJZ01")
    results = geocoder.geocode_many([{"text": t, "hospital": h} for t, h in rows])

The geocoder is built once per process (gazetteer indexes + learned aliases) and kept;
``reset_geocoder()`` drops it after a gazetteer load, ``refresh_aliases()`` after a
reviewer's decision.
"""

from __future__ import annotations

import threading
import time

from django.db import connection

from incidents.geocoding.gazetteer import build_gazetteer
from incidents.geocoding.geocoder import AliasTarget, Geocoder, GeocodeResult
from incidents.geocoding.models import LearnedAlias
from incidents.geocoding.phrase_cache import (
    SharedPhraseCache,
    aliases_fingerprint,
    gazetteer_fingerprint,
    shared_cache_available,
)

ALIAS_RECHECK_SECONDS = 30.0
_lock = threading.Lock()
_geocoder: Geocoder | None = None
_alias_seen: tuple[int, object] = (0, None)
_alias_checked_at = 0.0


def load_aliases() -> dict[tuple[str, str], AliasTarget]:
    return {
        (a.phrase, a.hospital): AliasTarget(a.result_class, a.lat, a.lon, a.label)
        for a in LearnedAlias.objects.order_by("id")
    }


def _share_answers(geocoder: Geocoder) -> None:
    """Attach the decided-phrase cache for this geocoder's gazetteer and aliases (a new
    alias set means a new key space: earlier answers are never served against it). The
    gazetteer's fingerprint is taken once per build and kept while only aliases change."""
    if not shared_cache_available() or geocoder.gz.is_empty:
        geocoder.shared = None
        return
    current = geocoder.shared
    gazetteer_version = (
        current.gazetteer_version
        if isinstance(current, SharedPhraseCache)
        else gazetteer_fingerprint(geocoder.gz)
    )
    geocoder.shared = SharedPhraseCache(gazetteer_version, aliases_fingerprint(geocoder.aliases))


# The learned aliases' version: their count and newest creation time, one row. A caller
# may read it in one statement with its own reads and pass it to get_geocoder().
ALIAS_VERSION_SQL = f"SELECT COUNT(id), MAX(created_at) FROM {LearnedAlias._meta.db_table}"  # noqa: S608


def _alias_version() -> tuple[int, object]:
    with connection.cursor() as cursor:
        cursor.execute(ALIAS_VERSION_SQL)
        n, latest = cursor.fetchone()
    return int(n), latest


def get_geocoder(
    *, fresh_aliases: bool = False, alias_version: tuple[int, object] | None = None
) -> Geocoder:
    """The process-wide geocoder, built on first use.

    Other processes (the web process where a reviewer decides, a worker) learn about new
    aliases here: at most every ``ALIAS_RECHECK_SECONDS`` one cheap query compares the
    alias table's version and reloads the aliases when it changed; ``fresh_aliases``
    makes that check now (a worker starting a file, so a decision made a moment ago
    applies to it). ``alias_version`` is that version read a moment ago by the caller
    (``(count, newest time)``, as :data:`ALIAS_VERSION_SQL` reads it): the check is made
    against it, with no query of its own.
    """
    global _geocoder, _alias_seen, _alias_checked_at
    with _lock:
        now = time.monotonic()
        if _geocoder is None:
            _alias_seen, _alias_checked_at = alias_version or _alias_version(), now
            _geocoder = Geocoder(build_gazetteer(), load_aliases())
            _share_answers(_geocoder)
        elif (
            alias_version is not None
            or fresh_aliases
            or now - _alias_checked_at > ALIAS_RECHECK_SECONDS
        ):
            _alias_checked_at = now
            version = alias_version or _alias_version()
            if version != _alias_seen:
                _alias_seen = version
                _geocoder.aliases = load_aliases()
                _geocoder.clear_cache()
                _share_answers(_geocoder)
        return _geocoder


def reset_geocoder() -> None:
    global _geocoder
    with _lock:
        _geocoder = None


def refresh_aliases() -> None:
    """Reload learned aliases into this process's geocoder now (and drop its result cache)."""
    global _alias_seen
    with _lock:
        if _geocoder is not None:
            _alias_seen = _alias_version()
            _geocoder.aliases = load_aliases()
            _geocoder.clear_cache()
            _share_answers(_geocoder)


def geocode(
    text: str, hospital: str | None = None, location_type: str | None = None
) -> GeocodeResult:
    return get_geocoder().geocode(text, hospital, location_type)
