"""Named places on the seeded rows, for the top locations tests (pages and browser)."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import TOWER_HAMLETS


def _name(rows: Any, count: int, name: str, *, licensed: bool = False, precision: str = "street"):
    ids = list(rows.order_by("id").values_list("id", flat=True)[:count])
    Incident.objects.filter(id__in=ids).update(
        geo_matched=name,
        geo_precision=precision,
        location_type_code="licensed_premises" if licensed else "street",
    )


@pytest.fixture
def places(seeded: dict[str, Any]) -> dict[str, Any]:
    """Named places on the seeded rows (published only). Last month: Southwark 8 on
    Borough High Street and 4 at The Ship (a pub), Lambeth 9 on Brixton Road, Tower Hamlets
    3 on Whitechapel Road; a year before, Southwark 6 on Borough High Street and 4 at The
    Ship."""
    published = Incident.objects.filter(submission__status="published")
    month, year_before = seeded["month"], seeded["year_before"]
    now = published.filter(assault_month=month)
    then = published.filter(assault_month=year_before)
    _name(now.filter(borough_code=SOUTHWARK), 8, "Borough High Street")
    _name(
        now.filter(borough_code=SOUTHWARK, geo_matched=""),
        4,
        "The Ship",
        licensed=True,
        precision="venue",
    )
    _name(now.filter(borough_code=LAMBETH), 9, "Brixton Road")
    _name(now.filter(borough_code=TOWER_HAMLETS), 3, "Whitechapel Road")
    _name(then.filter(borough_code=SOUTHWARK), 6, "Borough High Street")
    _name(
        then.filter(borough_code=SOUTHWARK, geo_matched=""),
        4,
        "The Ship",
        licensed=True,
        precision="venue",
    )
    return seeded
