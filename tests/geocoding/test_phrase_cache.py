"""The decided-phrase cache: an answer worked out once is served to every process, and
never across a change of gazetteer, remembered corrections or geocoder code."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from incidents.geocoding import service
from incidents.geocoding.geocoder import Geocoder, GeocodeResult
from incidents.geocoding.loaders import gazetteer_load
from incidents.geocoding.models import LearnedAlias
from incidents.geocoding.normalise import normalise_query
from incidents.geocoding.phrase_cache import (
    SharedPhraseCache,
    aliases_fingerprint,
    gazetteer_fingerprint,
    shared_cache_available,
)

pytestmark = pytest.mark.skipif(
    not shared_cache_available(), reason="the decided-phrase cache is shared through Redis"
)
PHRASE = "o/s Brixton stn"


def _key(text: str, hospital: str = "RJZ01", location_type: str = "street") -> tuple[str, str, str]:
    return normalise_query(text), hospital, location_type


def _own_space(geocoder: Geocoder) -> SharedPhraseCache:
    """A version nobody else writes to, so a planted answer is this test's alone."""
    return SharedPhraseCache(f"{gazetteer_fingerprint(geocoder.gz)}-{uuid.uuid4().hex}", "a")


def test_an_answer_worked_out_once_is_shared(mini_geocoder: Geocoder) -> None:
    cache = _own_space(mini_geocoder)
    mini_geocoder.shared = cache
    item = {"text": PHRASE, "hospital": "RJZ01", "location_type": "street"}
    [first] = mini_geocoder.geocode_many([item])
    assert first.placed and first.text == PHRASE
    stored = cache.get_many([_key(PHRASE)])
    assert stored[_key(PHRASE)] == dataclasses.replace(first, text="")

    # Another process (a new geocoder) with the same version is served that answer: a
    # planted one proves it is read from the cache rather than worked out again.
    planted = dataclasses.replace(first, explanation="decided in an earlier month")
    cache.set_many([(_key(PHRASE), planted)])
    other = Geocoder(mini_geocoder.gz, mini_geocoder.aliases)
    other.shared = cache
    [again] = other.geocode_many([{**item, "text": "O/S  BRIXTON STN"}])
    assert again.explanation == "decided in an earlier month"
    assert again.text == "O/S  BRIXTON STN"  # the caller's own wording


def test_answers_never_cross_versions(mini_geocoder: Geocoder) -> None:
    cache = _own_space(mini_geocoder)
    wrong = GeocodeResult(text="", result_class="vague", normalised=normalise_query(PHRASE))
    cache.set_many([(_key(PHRASE), wrong)])
    newer_aliases = SharedPhraseCache(cache.gazetteer_version, "b")
    mini_geocoder.shared = newer_aliases
    [result] = mini_geocoder.geocode_many([(PHRASE, "RJZ01", "street")])
    assert result.placed and result.result_class == "place"


def test_a_remembered_correction_starts_a_new_key_space(db: None, mini_dir: Path) -> None:
    gazetteer_load(directory=mini_dir)
    service.reset_geocoder()
    try:
        geocoder = service.get_geocoder()
        before = geocoder.shared
        assert isinstance(before, SharedPhraseCache)
        [first] = geocoder.geocode_many([("albert rd", "RJZ01", "street")])
        assert first.method != "learned_alias"

        LearnedAlias.objects.create(
            phrase=normalise_query("albert rd"),
            hospital="RJZ01",
            result_class="place",
            lat=51.45,
            lon=-0.12,
            label="Albert Road, Lambeth",
        )
        geocoder = service.get_geocoder(fresh_aliases=True)
        after = geocoder.shared
        assert isinstance(after, SharedPhraseCache)
        assert after.version != before.version
        assert after.gazetteer_version == before.gazetteer_version
        [second] = geocoder.geocode_many([("albert rd", "RJZ01", "street")])
        assert second.method == "learned_alias" and second.lat == 51.45
    finally:
        service.reset_geocoder()


def test_the_gazetteer_version_follows_its_contents(mini_geocoder: Geocoder) -> None:
    before = gazetteer_fingerprint(mini_geocoder.gz)
    assert gazetteer_fingerprint(mini_geocoder.gz) == before  # stable for the same data
    lat, lon = mini_geocoder.gz.hospitals["RJZ01"]
    mini_geocoder.gz.hospitals["RJZ01"] = (lat + 0.01, lon)  # a hospital point moved
    assert gazetteer_fingerprint(mini_geocoder.gz) != before


def test_the_alias_version_follows_every_correction(mini_geocoder: Geocoder) -> None:
    from incidents.geocoding.geocoder import AliasTarget

    empty = aliases_fingerprint({})
    one = aliases_fingerprint({("albert rd", "RJZ01"): AliasTarget("place", 51.45, -0.12, "A")})
    moved = aliases_fingerprint({("albert rd", "RJZ01"): AliasTarget("place", 51.46, -0.12, "A")})
    assert len({empty, one, moved}) == 3
    mini_geocoder.set_alias("albert rd", "RJZ01", AliasTarget("home", None, None, "home"))
    assert mini_geocoder.shared is None  # its aliases no longer match any shared version
