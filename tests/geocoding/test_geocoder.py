"""Each matcher and the cascade, over a tiny synthetic gazetteer loaded by the real loader."""

from __future__ import annotations

import pytest

from incidents.geocoding.gazetteer import Gazetteer, metres
from incidents.geocoding.geocoder import AliasTarget, Geocoder
from tests.geocoding.conftest import HACKNEY, LAMBETH, RESULT_KEYS, SOUTHWARK

pytestmark = pytest.mark.django_db


def near(result: object, lat: float, lon: float, within: float = 50.0) -> bool:
    return result.lat is not None and metres(result.lat, result.lon, lat, lon) <= within  # type: ignore[attr-defined]


def test_no_gazetteer_places_nothing_and_says_why() -> None:
    result = Geocoder(Gazetteer()).geocode("o/s Brixton stn", "RJZ01")
    assert result.result_class == "unknown"
    assert result.lat is None and result.lon is None
    assert result.explanation == "no gazetteer loaded"


def test_station_with_abbreviations(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("o/s Brixton stn", "RJZ01")
    assert r.result_class == "place" and r.precision == "venue"
    assert near(r, 51.462618, -0.114888)
    assert r.borough == LAMBETH and r.lsoa == "E01000000" and r.ward == "E05000000"
    assert r.easting is not None and 530_000 < r.easting < 532_000  # British National Grid
    assert "Brixton" in r.matched and r.explanation


def test_station_typo_is_corrected(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("outside brixtn station")
    assert near(r, 51.462618, -0.114888)
    assert "typo" in r.explanation
    assert r.confidence < mini_geocoder.geocode("outside brixton station").confidence


def test_full_postcode(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("outside shop se15 4st")
    assert r.precision == "postcode_unit" and r.confidence >= 0.9
    assert r.borough == SOUTHWARK and near(r, 51.4690, -0.0680, 1)


def test_postcode_sector_and_district_are_coarse(mini_geocoder: Geocoder) -> None:
    assert mini_geocoder.geocode("SE15 4ZZ").precision == "postcode_sector"
    district = mini_geocoder.geocode("somewhere in SE15")
    assert district.precision == "postcode_district" and district.confidence < 0.5


def test_postcode_lookalikes_are_not_postcodes(mini_geocoder: Geocoder) -> None:
    for text in ("10 past 5", "M25", "A406"):
        assert not mini_geocoder.geocode(text).placed


def test_home_is_never_placed_even_with_a_postcode(mini_geocoder: Geocoder) -> None:
    for text in ("pt's home", "pts home SE15 4ST", "friend's flat on Rye Lane"):
        r = mini_geocoder.geocode(text, "RJZ01")
        assert r.result_class == "home" and not r.placed and r.lsoa == ""
    assert mini_geocoder.geocode("Rye Lane", location_type="home").result_class == "home"


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("n/k", "unknown"),
        ("- -", "unknown"),
        ("street", "vague"),
        ("outside shop", "vague"),
        ("park", "vague"),
        ("Sainsbury's", "chain_without_place"),
        ("on holiday in Spain", "abroad"),
        ("Watford", "outside_london"),
        ("zxqv blorp", "unknown"),
    ],
)
def test_non_places_are_classified_not_placed(mini_geocoder: Geocoder, text: str, cls: str) -> None:
    r = mini_geocoder.geocode(text)
    assert r.result_class == cls and not r.placed


def test_street_with_locality_and_chain(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("outside Tesco Rye Lane SE15", "RJZ01")
    assert r.precision == "street" and near(r, 51.470191, -0.068478)
    assert "SE15" in r.explanation


def test_junction_named_by_a_bus_stop(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("junction of Mare St and Well St", "RQXM1")
    assert r.precision == "junction" and near(r, 51.53955, -0.056077)
    assert r.borough == HACKNEY
    assert mini_geocoder.geocode("Well St/Mare St").lat == r.lat  # order and wording do not matter


def test_junction_from_street_points(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("corner of Amhurst Rd and Dalston Lane")
    assert r.precision == "junction" and near(r, 51.5481, -0.0602, 60)


def test_same_name_resolved_by_treating_hospital(mini_geocoder: Geocoder) -> None:
    hackney = mini_geocoder.geocode("Albert Road", "RQXM1")
    lambeth = mini_geocoder.geocode("Albert Road", "RJZ01")
    assert hackney.borough == HACKNEY and lambeth.borough == LAMBETH
    assert len(hackney.alternatives) == 1  # the other Albert Road is kept as an alternative


def test_same_name_resolved_by_locality_word(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("Albert Rd Hackney", "RJZ01")  # locality beats hospital distance
    assert r.borough == HACKNEY
    assert r.confidence > mini_geocoder.geocode("Albert Road", "RJZ01").confidence


def test_tie_lowers_confidence_and_keeps_alternatives(mini_geocoder: Geocoder) -> None:
    # Two Station Roads in Lambeth and no hospital: a coin toss is not a point.
    r = mini_geocoder.geocode("Station Road")
    assert not r.placed and r.result_class == "unknown"
    assert len(r.alternatives) == 2 and "ambiguous" in r.explanation


def test_pub_disambiguated_by_borough(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("Black Lion pub, Hackney", "RJZ01")
    assert r.borough == HACKNEY and near(r, 51.55, -0.04)


def test_bus_stop_landmark(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("bus stop Peckham Rye Common")
    assert near(r, 51.46, -0.065) and r.borough == SOUTHWARK


def test_hospital_acronym(mini_geocoder: Geocoder) -> None:
    r = mini_geocoder.geocode("o/s KCH")
    assert "King's College" in r.matched and near(r, 51.4683, -0.0924)


def test_learned_alias_takes_precedence_per_hospital(mini_geocoder: Geocoder) -> None:
    phrase = mini_geocoder.geocode("the chicken shop by the lights").normalised
    mini_geocoder.set_alias(phrase, "RJZ01", AliasTarget("place", 51.47, -0.07, "reviewed"))
    r = mini_geocoder.geocode("The chicken shop by the lights", "RJZ01")
    assert r.method == "learned_alias" and near(r, 51.47, -0.07, 1) and r.borough == SOUTHWARK
    assert (
        mini_geocoder.geocode("the chicken shop by the lights", "RQXM1").method != "learned_alias"
    )


def test_deterministic_and_cached(mini_geocoder: Geocoder) -> None:
    first = mini_geocoder.geocode("Albert Road", "RQXM1")
    mini_geocoder.clear_cache()
    assert mini_geocoder.geocode("Albert Road", "RQXM1") == first
    again = mini_geocoder.geocode("ALBERT ROAD", "RQXM1")  # same normalised text: cache hit
    assert again.text == "ALBERT ROAD" and again.lat == first.lat


def test_geocode_many_keeps_order_and_shapes(mini_geocoder: Geocoder) -> None:
    results = mini_geocoder.geocode_many(
        ["E8 1AA", ("o/s Brixton stn", "RJZ01"), {"text": "pt's home", "hospital": "RJZ01"}]
    )
    assert [r.result_class for r in results] == ["place", "place", "home"]
    assert results[0].to_dict().keys() >= RESULT_KEYS


def test_generic_street_name_needs_a_locality(mini_geocoder: Geocoder) -> None:
    assert mini_geocoder.geocode("Station Rd").placed is False
    r = mini_geocoder.geocode("Station Road SW9", "RQXM1")
    assert r.placed and r.borough == LAMBETH and near(r, 51.4640, -0.1130)
