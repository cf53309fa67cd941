"""The decided-phrase cache: a geocoder answer shared by every process, so a location
phrase decided for one file (normalised text, hospital, location type) is not worked out
again for the next file or month, whichever worker takes it.

An answer depends on the geocoder's code, the gazetteer it was built from and the learned
aliases (a reviewer's remembered corrections). All three are part of every key, as
fingerprints of what this process actually holds, so a gazetteer load, a changed hospital
point, a new or changed alias, or new geocoder code makes earlier answers unreachable:
they are never served, and expire on their own.

Only a Redis cache backend is used. The database cache that stands in without Redis
culls entries at random when full, and must keep the sign-in guards' entries; without
Redis each process keeps its own in-memory answers only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from incidents.geocoding.gazetteer import Gazetteer
from incidents.geocoding.geocoder import AliasTarget, Alternative, GeocodeResult

logger = logging.getLogger(__name__)

# Answers outlive a month's files: the next month's files reuse them.
TIMEOUT_SECONDS = 90 * 24 * 3600
_PREFIX = "geocode:phrase:"
# The modules whose code decides an answer: any change to them is a new key space.
_CODE_FILES = ("geocoder.py", "classify.py", "normalise.py", "postcodes.py", "gazetteer.py")
PhraseKey = tuple[str, str, str]  # (normalised text, hospital, location type)


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CODE_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_fingerprint()


def _update(digest: Any, *parts: object) -> None:
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x1f")


def gazetteer_fingerprint(gz: Gazetteer) -> str:
    """A digest of the indexes the geocoder answers from (contents, not just the loaded
    version: hospital points and test gazetteers change without a new load)."""
    digest = hashlib.sha256()
    for name, index in (
        ("units", gz.units),
        ("sectors", gz.sectors),
        ("districts", gz.districts),
        ("places", gz.places),
        ("streets", gz.streets),
        ("localities", gz.localities),
        ("junctions", gz.junctions),
        ("hospital_short", gz.hospital_short),
        ("borough_names", gz.borough_names),
        ("hospitals", gz.hospitals),
    ):
        _update(digest, name, len(index), sorted(index.items()))
    for key in sorted(gz.street_points):
        _update(digest, key)
        digest.update(gz.street_points[key].tobytes())
    for kind in sorted(gz.area_trees):
        _update(digest, kind, gz.area_trees[kind][1])
    return digest.hexdigest()[:16]


def aliases_fingerprint(aliases: Mapping[tuple[str, str], AliasTarget]) -> str:
    """A digest of the learned aliases: any decision, change or removal changes it."""
    digest = hashlib.sha256()
    for key in sorted(aliases):
        _update(digest, key, aliases[key])
    return digest.hexdigest()[:16]


def _encode(result: GeocodeResult) -> dict[str, Any]:
    """The answer without the caller's wording (``text`` is set per use)."""
    return {
        "result_class": result.result_class,
        "normalised": result.normalised,
        "lat": result.lat,
        "lon": result.lon,
        "easting": result.easting,
        "northing": result.northing,
        "precision": result.precision,
        "confidence": result.confidence,
        "method": result.method,
        "matched": result.matched,
        "alternatives": [a.to_dict() for a in result.alternatives],
        "lsoa": result.lsoa,
        "ward": result.ward,
        "borough": result.borough,
        "explanation": result.explanation,
    }


def _decode(value: Mapping[str, Any], text: str) -> GeocodeResult:
    data = dict(value)
    alternatives = tuple(Alternative(**a) for a in data.pop("alternatives"))
    return GeocodeResult(text=text, alternatives=alternatives, **data)


class SharedPhraseCache:
    """Answers under one (code, gazetteer, aliases) version: one Redis hash per version,
    read with one HMGET and written with one HSET per batch of phrases."""

    def __init__(self, gazetteer_version: str, alias_version: str) -> None:
        self.gazetteer_version = gazetteer_version
        self.version = f"{CODE_VERSION}:{gazetteer_version}:{alias_version}"
        self.name = f"{_PREFIX}{self.version}"

    @staticmethod
    def _field(key: PhraseKey) -> str:
        # Hashed: phrases are long free text; the digest also keeps them out of key names.
        return hashlib.sha256("\x1f".join(key).encode()).hexdigest()

    def get_many(self, keys: Sequence[PhraseKey]) -> dict[PhraseKey, GeocodeResult]:
        """Answers already decided for these keys (missing ones left out); an unreachable
        cache answers nothing, and the caller works the phrases out itself."""
        if not keys:
            return {}
        fields = [self._field(k) for k in keys]
        try:
            found = _redis().hmget(self.name, fields)
        except Exception:
            logger.warning("decided-phrase cache unavailable", exc_info=True)
            return {}
        return {
            key: _decode(json.loads(raw), "")
            for key, raw in zip(keys, found, strict=True)
            if raw is not None
        }

    def set_many(self, answers: Iterable[tuple[PhraseKey, GeocodeResult]]) -> None:
        values = {self._field(k): json.dumps(_encode(r)) for k, r in answers}
        if not values:
            return
        try:
            pipe = _redis().pipeline(transaction=False)
            pipe.hset(self.name, mapping=values)
            pipe.expire(self.name, TIMEOUT_SECONDS)
            pipe.execute()
        except Exception:
            logger.warning("decided-phrase cache unavailable", exc_info=True)


def _redis() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def shared_cache_available() -> bool:
    """Only a Redis cache is shared safely (see the module docstring)."""
    backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    return backend.endswith("RedisCache")


def clear_shared_answers() -> int:
    """Remove every cached answer (all versions); returns how many versions were removed
    (benchmarks start from a cold cache with it). Does nothing without Redis."""
    if not shared_cache_available():
        return 0
    client = _redis()
    names = list(client.scan_iter(match=f"{_PREFIX}*", count=1000))
    return int(client.delete(*names)) if names else 0
