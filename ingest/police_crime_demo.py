"""A SYNTHETIC police-recorded crime sample for the demo (never real police data).

The demo's incidents are synthetic, so the police side beside them must be too: this
module makes street-level rows in data.police.uk's format for London's LSOAs and the
months given, with a made-up force name that says what it is, so the Police gap page and
the import report label the sample wherever it appears. Deterministic for a seed.

Each borough gets its own made-up recording rate (some boroughs "record" much less than
others), so the demo's gap page shows areas flagged both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import numpy as np

from incidents.geocoding.models import Area
from ingest.police_crime import street_level_csv

SYNTHETIC_FORCE = "SYNTHETIC demo force (not real police data)"
MEAN_VIOLENCE, MEAN_ROBBERY = 1.2, 0.3  # per LSOA and month, before the borough's rate


def synthetic_rows(
    lsoas: Sequence[tuple[str, str]], months: Sequence[dt.date], *, seed: int = 0
) -> Iterator[dict[str, str]]:
    """Street-level rows for ``(LSOA code, borough code)`` pairs over ``months``."""
    rng = np.random.default_rng(seed)
    boroughs = sorted({borough for _, borough in lsoas})
    rate = dict(zip(boroughs, rng.uniform(0.3, 1.7, len(boroughs)), strict=True))
    for month in months:
        for lsoa, borough in lsoas:
            for crime_type, mean in (
                ("Violence and sexual offences", MEAN_VIOLENCE),
                ("Robbery", MEAN_ROBBERY),
            ):
                for _ in range(int(rng.poisson(mean * rate[borough]))):
                    yield {
                        "Month": f"{month:%Y-%m}",
                        "Reported by": SYNTHETIC_FORCE,
                        "Falls within": SYNTHETIC_FORCE,
                        "LSOA code": lsoa,
                        "Crime type": crime_type,
                        "Context": "Synthetic demo row",
                    }


def synthetic_csv(months: Sequence[dt.date], *, seed: int = 0) -> str:
    """The sample for every London LSOA in the gazetteer, as one street-level file."""
    lsoas = list(
        Area.objects.filter(kind=Area.Kind.LSOA).order_by("code").values_list("code", "parent_code")
    )
    return street_level_csv(synthetic_rows(lsoas, months, seed=seed))
