"""Normalisation, postcode extraction and classification: pure functions, no database."""

from __future__ import annotations

import pytest

from incidents.geocoding import classify
from incidents.geocoding.normalise import name_key, normalise_query
from incidents.geocoding.postcodes import find_postcodes, normalise_postcode

UNITS = {"E1 6AN", "SE15 4ST", "SW9 8HE"}
SECTORS = {"E1 6", "SE15 4", "SW9 8"}
DISTRICTS = {"E1", "SE15", "SW9", "N1"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("o/s Brixton stn", "outside brixton stn"),
        ("O/S BRIXTON STATION", "outside brixton stn"),
        ("Rye Lane", "rye ln"),
        ("rye ln", "rye ln"),
        ("Mare Street", "mare st"),
        ("St Thomas' Hospital", "st thomas hosp"),
        ("pt's home", "patients home"),
        ("n/k", "unknown"),
        ("u/k", "unknown"),
        ("nr RLH", "near royal london hosp"),
        ("o/s PRUH A&E", "outside princess royal university hosp a and e"),
        ("Café Nero, Peckham", "cafe nero peckham"),
        ("brixton station brixton station", "brixton stn"),
        ("Mare St/Well St", "mare st / well st"),
    ],
)
def test_normalise_query(raw: str, expected: str) -> None:
    assert normalise_query(raw) == expected


def test_name_key_matches_query_side() -> None:
    assert name_key("Queen's Road") == normalise_query("queens rd")
    assert name_key("Highbury & Islington") == "highbury and islington"


def _pcs(text: str) -> list[tuple[str, str]]:
    return [
        (h.level, h.code)
        for h in find_postcodes(text, units=UNITS, sectors=SECTORS, districts=DISTRICTS)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E1 6AN", [("unit", "E1 6AN")]),
        ("e16an", [("unit", "E1 6AN")]),
        ("outside shop se15 4st late", [("unit", "SE15 4ST")]),
        ("SE15 4ZZ", [("sector", "SE15 4")]),  # not a live unit: degrades to its sector
        ("Rye Lane SE15", [("district", "SE15")]),
        ("10 past 5", []),
        ("M25 junction 2", []),
        ("A406 north circular", []),
        ("hit at 5 past 10 on N1", [("district", "N1")]),
        ("W1 2AB", []),  # the pattern fits, the gazetteer does not know it
    ],
)
def test_find_postcodes_validates_against_gazetteer(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert _pcs(text) == expected


def test_normalise_postcode() -> None:
    assert normalise_postcode("sw98he") == "SW9 8HE"
    assert normalise_postcode(" E1  6AN ") == "E1 6AN"


@pytest.mark.parametrize(
    "text",
    [
        "pt's home",
        "home address",
        "at home",
        "friend's flat",
        "his flat",
        "at his mums house",
        "in the flat",
        "DV at home",
        "partner's house",
        "house party",
        "pts own address",
        "pt's own adrdess",
    ],
)
def test_home_is_recognised(text: str) -> None:
    assert classify.is_home(normalise_query(text))


@pytest.mark.parametrize(
    "text",
    [
        "walking home from Brixton stn",
        "Home Office",
        "care home car park",
        "Mare St",
        "in the Horse and Groom",
    ],
)
def test_not_home(text: str) -> None:
    assert not classify.is_home(normalise_query(text))


def test_unknown_abroad_chain_vague() -> None:
    assert classify.is_unknown(normalise_query("n/k"))
    assert classify.is_unknown(normalise_query("- -"))
    assert not classify.is_unknown(normalise_query("Brixton"))
    assert classify.is_abroad(normalise_query("on holiday in Spain"))
    assert not classify.is_abroad(normalise_query("in Turkey Street overground"))
    assert classify.chain_name(normalise_query("Sainsbury's")) == "sainsburys"
    assert classify.chain_name(normalise_query("outside McDonalds")) == "mcdonalds"
    assert classify.is_vague(normalise_query("outside shop").split())
    assert classify.is_vague(normalise_query("in the street").split())
    assert not classify.is_vague(normalise_query("Rye Lane").split())
