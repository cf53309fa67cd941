"""What the geocoder makes of redacted text: a redacted home address is still a home
(never placed), and a redacted name leaves the place of assault to be placed."""

from __future__ import annotations

import pytest

from incidents.geocoding.geocoder import Geocoder
from ingest.pipeline.harmonise import clean_text
from ingest.pipeline.pii import redact
from tests.geocoding.conftest import (  # noqa: F401  (the mini London gazetteer)
    LAMBETH,
    SOUTHWARK,
    mini_dir,
    mini_geocoder,
)


def _redacted(text: str) -> str:
    out, kinds = redact(clean_text(text)[0])
    assert kinds
    return out


@pytest.mark.parametrize(
    "text",
    [
        "pt home address 12 Rye Lane SE15 4ST",
        "at home SE15 4ST",
        "pt lives at 7 Rye Lane",
        "resides 14 Albert Road, Brixton",
        "HOME ADDRESS 22 RYE LANE SE15 4SU",
        "12 Rye Lane SE15 4ST (pt's home)",
    ],
)
def test_redacted_home_addresses_are_homes(mini_geocoder: Geocoder, text: str) -> None:  # noqa: F811
    result = mini_geocoder.geocode(_redacted(text), "RJZ01")
    assert result.result_class == "home" and not result.placed


@pytest.mark.parametrize(
    ("text", "borough"),
    [
        ("assaulted by her partner John Smith o/s Brixton stn", LAMBETH),
        ("Mr Okafor punched pt outside shop SE15 4ST", SOUTHWARK),
        ("d.o.b. 3/3/87 o/s 123 Rye Lane", SOUTHWARK),
    ],
)
def test_place_of_assault_still_placed(
    mini_geocoder: Geocoder,  # noqa: F811
    text: str,
    borough: str,
) -> None:
    result = mini_geocoder.geocode(_redacted(text), "RJZ01")
    assert result.placed and result.borough == borough, result


@pytest.mark.parametrize(
    "text", ["[redacted]", "pt's mum [redacted] called 999", "[redacted] house", "[home address]"]
)
def test_placeholders_are_never_placed(mini_geocoder: Geocoder, text: str) -> None:  # noqa: F811
    assert not mini_geocoder.geocode(text, "RJZ01").placed
