"""ECDS-shaped extracts: the ISTV items as captured in ECDS v4, SNOMED CT coded.

An ECDS extract arrives as CSV/TSV/XLSX with one row per attendance and ECDS data item
names as headers. It is parsed by the tabular parsers; this module recognises the shape
and supplies the column mapping. SNOMED concepts are mapped to harmonised codes in
``codes.SNOMED_*`` (all unverified), and rows whose injury intent is not assault are set
aside with a reason rather than dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from ..types import ColumnMapping, Field

# Normalised header → field. Several spellings are seen in ECDS extracts.
ECDS_COLUMNS: dict[str, Field] = {
    "arrival_date": Field.ARRIVAL_DATE,
    "ec_arrival_date": Field.ARRIVAL_DATE,
    "arrival_time": Field.ARRIVAL_TIME,
    "ec_arrival_time": Field.ARRIVAL_TIME,
    "injury_date": Field.ASSAULT_DATE,
    "ec_injury_date": Field.ASSAULT_DATE,
    "injury_time": Field.ASSAULT_TIME,
    "ec_injury_time": Field.ASSAULT_TIME,
    "injury_intent_snomed_ct": Field.INJURY_INTENT,
    "ec_injury_intent_snomed_ct": Field.INJURY_INTENT,
    "injury_intent": Field.INJURY_INTENT,
    "injury_mechanism_snomed_ct": Field.METHOD,
    "ec_injury_mechanism_snomed_ct": Field.METHOD,
    "injury_mechanism": Field.METHOD,
    "place_of_injury_snomed_ct": Field.LOCATION_TYPE,
    "ec_place_of_injury_snomed_ct": Field.LOCATION_TYPE,
    "place_of_injury": Field.LOCATION_TYPE,
    "assault_location_description": Field.LOCATION_DESCRIPTION,
    "ec_assault_location_description": Field.LOCATION_DESCRIPTION,
}
_SIGNATURE = {Field.INJURY_INTENT, Field.METHOD, Field.LOCATION_TYPE, Field.ASSAULT_DATE}


@lru_cache(maxsize=4096)  # every file's header is checked; headers repeat month on month
def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def ecds_mapping(columns: Sequence[str]) -> ColumnMapping | None:
    """The mapping for an ECDS-shaped header, or None if the columns are not ECDS."""
    found: dict[Field, str] = {}
    for col in columns:
        f = ECDS_COLUMNS.get(_norm(col))
        if f is not None and f not in found:
            found[f] = col
    if not found.keys() >= _SIGNATURE:
        return None
    return ColumnMapping(columns=found)
