"""London's 28 Type 1 EDs (Type 1: consultant-led, 24-hour), for the generator and benchmarks.

Coordinates are from the open ODS urgent-and-emergency-care site list. ``weight`` is a
relative share of ISTV volume (an estimate: major trauma centres and inner-London sites
see more assaults); it only shapes synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Site:
    code: str
    name: str
    lat: float
    lon: float
    weight: float
    acronym: str


TYPE1_SITES: tuple[Site, ...] = (
    Site("RJ122", "St Thomas' Hospital", 51.497959, -0.118905, 1.4, "STH"),
    Site("RJZ01", "King's College Hospital", 51.468077, -0.093916, 1.8, "KCH"),
    Site("RJZ30", "Princess Royal University Hospital", 51.366243, 0.059146, 0.7, "PRUH"),
    Site("RJ224", "University Hospital Lewisham", 51.453023, -0.017942, 1.0, "UHL"),
    Site("RJ231", "Queen Elizabeth Hospital", 51.478193, 0.050043, 0.9, "QEH"),
    Site("R1H12", "The Royal London Hospital", 51.519018, -0.058133, 2.0, "RLH"),
    Site("R1HKH", "Whipps Cross University Hospital", 51.578831, 0.002638, 0.9, "WXH"),
    Site("R1HNH", "Newham General Hospital", 51.522776, 0.034717, 1.0, "NUH"),
    Site("RQXM1", "Homerton University Hospital", 51.550634, -0.046099, 1.1, "HUH"),
    Site("RF4DG", "King George Hospital", 51.580545, 0.112107, 0.7, "KGH"),
    Site("RF4QH", "Queen's Hospital", 51.568647, 0.179031, 0.9, "QH"),
    Site("RAL01", "Royal Free Hospital", 51.553224, -0.165324, 0.8, "RFH"),
    Site("RAL26", "Barnet Hospital", 51.650643, -0.214647, 0.6, "BH"),
    Site("RAL27", "North Middlesex Hospital", 51.613094, -0.073750, 1.1, "NMUH"),
    Site("RKEQ4", "The Whittington Hospital", 51.566480, -0.139092, 0.7, "WH"),
    Site("RRV03", "University College Hospital", 51.524891, -0.136911, 1.2, "UCLH"),
    Site("R1K01", "Northwick Park Hospital", 51.575407, -0.322037, 0.9, "NPH"),
    Site("R1K04", "Ealing Hospital", 51.507606, -0.345495, 0.7, "EH"),
    Site("RAS01", "Hillingdon Hospital", 51.526077, -0.461175, 0.6, "THH"),
    Site("RQM01", "Chelsea and Westminster Hospital", 51.484308, -0.181644, 0.8, "CWH"),
    Site("RQM91", "West Middlesex University Hospital", 51.473648, -0.324434, 0.7, "WMUH"),
    Site("RYJ01", "St Mary's Hospital", 51.516969, -0.173569, 1.5, "SMH"),
    Site("RYJ02", "Charing Cross Hospital", 51.487045, -0.219935, 0.7, "CXH"),
    Site("RAX01", "Kingston Hospital", 51.414826, -0.282624, 0.5, "KH"),
    Site("RJ611", "Croydon University Hospital", 51.389129, -0.108783, 1.1, "CUH"),
    Site("RJ701", "St George's Hospital", 51.426682, -0.175719, 1.5, "STG"),
    Site("RVR05", "St Helier Hospital", 51.380189, -0.183733, 0.6, "SHH"),
    Site("RVR50", "Epsom Hospital", 51.325518, -0.273231, 0.3, "EGH"),
)
