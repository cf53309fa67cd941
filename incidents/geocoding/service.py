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

from incidents.geocoding.gazetteer import build_gazetteer
from incidents.geocoding.geocoder import AliasTarget, Geocoder, GeocodeResult
from incidents.geocoding.models import LearnedAlias

_lock = threading.Lock()
_geocoder: Geocoder | None = None


def load_aliases() -> dict[tuple[str, str], AliasTarget]:
    return {
        (a.phrase, a.hospital): AliasTarget(a.result_class, a.lat, a.lon, a.label)
        for a in LearnedAlias.objects.order_by("id")
    }


def get_geocoder() -> Geocoder:
    """The process-wide geocoder, built on first use."""
    global _geocoder
    with _lock:
        if _geocoder is None:
            _geocoder = Geocoder(build_gazetteer(), load_aliases())
        return _geocoder


def reset_geocoder() -> None:
    global _geocoder
    with _lock:
        _geocoder = None


def refresh_aliases() -> None:
    """Reload learned aliases into the live geocoder (and drop its result cache)."""
    with _lock:
        if _geocoder is not None:
            _geocoder.aliases = load_aliases()
            _geocoder.clear_cache()


def geocode(
    text: str, hospital: str | None = None, location_type: str | None = None
) -> GeocodeResult:
    return get_geocoder().geocode(text, hospital, location_type)
