"""Harmonised code lists and source-value synonyms of the ISTV data standard.

This module is the seed for the editable reference tables: the portal's own categories,
the national two-character codes, trust labels, free-text keywords and SNOMED CT
concepts that map onto them. Everything is plain data so a data migration can copy it
into the database and data managers can then edit it there.

The national code lists and every SNOMED concept below are marked ``verified=False``:
they were not confirmed against the primary source (NHS TRUD / the ECDS ETOS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    """Harmonised assault method."""

    BODY_PART = "body_part"
    BLUNT_OBJECT = "blunt_object"
    KNIFE_SHARP = "knife_sharp"
    GLASS_BOTTLE = "glass_bottle"
    FIREARM = "firearm"
    CORROSIVE = "corrosive"
    OTHER = "other"
    NOT_KNOWN = "not_known"


class LocationType(StrEnum):
    """Harmonised assault location type."""

    DWELLING = "dwelling"
    STREET = "street"
    PARK = "park"
    LICENSED_PREMISES = "licensed_premises"
    COMMERCIAL = "commercial"
    PUBLIC_TRANSPORT = "public_transport"
    WORKPLACE = "workplace"
    SCHOOL = "school"
    HEALTHCARE_CUSTODY = "healthcare_custody"
    OTHER = "other"
    NOT_KNOWN = "not_known"


METHOD_LABELS: dict[str, str] = {
    Method.BODY_PART: "Body part (fist, foot, head, bite)",
    Method.BLUNT_OBJECT: "Blunt object (bat, stick, hammer, brick)",
    Method.KNIFE_SHARP: "Knife or sharp object",
    Method.GLASS_BOTTLE: "Glass or bottle",
    Method.FIREARM: "Firearm",
    Method.CORROSIVE: "Corrosive or noxious substance",
    Method.OTHER: "Other",
    Method.NOT_KNOWN: "Not known",
}

LOCATION_TYPE_LABELS: dict[str, str] = {
    LocationType.DWELLING: "Dwelling (home, flat, private address)",
    LocationType.STREET: "Street or public open area",
    LocationType.PARK: "Park or open space",
    LocationType.LICENSED_PREMISES: "Licensed premises (pub, bar, club)",
    LocationType.COMMERCIAL: "Other commercial premises",
    LocationType.PUBLIC_TRANSPORT: "Public transport",
    LocationType.WORKPLACE: "Workplace",
    LocationType.SCHOOL: "School or college",
    LocationType.HEALTHCARE_CUSTODY: "Healthcare or custody setting",
    LocationType.OTHER: "Other",
    LocationType.NOT_KNOWN: "Not known",
}

# Location precision, in words: the geocoder's precisions (incidents/geocoding/geocoder.py
# ``PRECISIONS``) and what masking shows instead (incidents/masking.py ``PRECISION_*``).
# The one place pages say how precisely an incident's location is shown.
PRECISION_LABELS: dict[str, str] = {
    "exact": "exact",
    "postcode_unit": "postcode",
    "venue": "venue",
    "street": "street",
    "junction": "junction",
    "postcode_sector": "postcode sector",
    "postcode_district": "postcode district",
    "area": "area",
    "snapped": "250 m square",
    "lsoa_centroid": "LSOA centre",
    "not_located": "not shown",
}


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One source code mapped onto a harmonised code."""

    source_code: str
    code: str
    label: str
    verified: bool = False


# National two-character codes (ISTV ASSAULT METHOD / LOCATION TYPE). UNVERIFIED: the
# numbering below is a working assumption until checked against NHS TRUD.
NATIONAL_METHOD_CODES: tuple[CodeEntry, ...] = (
    CodeEntry("01", Method.BODY_PART, "Body part"),
    CodeEntry("02", Method.BLUNT_OBJECT, "Blunt object"),
    CodeEntry("03", Method.KNIFE_SHARP, "Knife or sharp object"),
    CodeEntry("04", Method.GLASS_BOTTLE, "Glass or bottle"),
    CodeEntry("05", Method.FIREARM, "Firearm"),
    CodeEntry("06", Method.CORROSIVE, "Corrosive substance"),
    CodeEntry("98", Method.OTHER, "Other"),
    CodeEntry("99", Method.NOT_KNOWN, "Not known"),
)
NATIONAL_LOCATION_CODES: tuple[CodeEntry, ...] = (
    CodeEntry("01", LocationType.DWELLING, "Dwelling"),
    CodeEntry("02", LocationType.STREET, "Street / public open area"),
    CodeEntry("03", LocationType.PARK, "Park / open space"),
    CodeEntry("04", LocationType.LICENSED_PREMISES, "Licensed premises"),
    CodeEntry("05", LocationType.COMMERCIAL, "Other commercial premises"),
    CodeEntry("06", LocationType.PUBLIC_TRANSPORT, "Public transport"),
    CodeEntry("07", LocationType.WORKPLACE, "Workplace"),
    CodeEntry("08", LocationType.SCHOOL, "School / college"),
    CodeEntry("09", LocationType.HEALTHCARE_CUSTODY, "Healthcare / custody"),
    CodeEntry("98", LocationType.OTHER, "Other"),
    CodeEntry("99", LocationType.NOT_KNOWN, "Not known"),
)

# SNOMED CT concepts seen in ECDS-shaped extracts. ALL UNVERIFIED: concept ids must be
# checked against the ECDS Enhanced Technical Output Specification before production.
SNOMED_METHOD: tuple[CodeEntry, ...] = (
    CodeEntry("242014006", Method.BODY_PART, "Assault by bodily force"),
    CodeEntry("242015007", Method.BLUNT_OBJECT, "Assault by blunt object"),
    CodeEntry("242016008", Method.KNIFE_SHARP, "Assault by sharp object"),
    CodeEntry("242017004", Method.GLASS_BOTTLE, "Assault by glass"),
    CodeEntry("242018009", Method.FIREARM, "Assault by firearm"),
    CodeEntry("242019001", Method.CORROSIVE, "Assault by corrosive substance"),
    CodeEntry("242020007", Method.OTHER, "Assault by other specified means"),
    CodeEntry("1065271000000101", Method.NOT_KNOWN, "Mechanism unknown"),
)
SNOMED_LOCATION: tuple[CodeEntry, ...] = (
    CodeEntry("264362003", LocationType.DWELLING, "Home"),
    CodeEntry("285202004", LocationType.STREET, "Street"),
    CodeEntry("702818007", LocationType.PARK, "Park"),
    CodeEntry("257698009", LocationType.LICENSED_PREMISES, "Public house"),
    CodeEntry("264361005", LocationType.COMMERCIAL, "Shop"),
    CodeEntry("702815005", LocationType.PUBLIC_TRANSPORT, "Public transport"),
    CodeEntry("257622000", LocationType.WORKPLACE, "Workplace"),
    CodeEntry("257698006", LocationType.SCHOOL, "School"),
    CodeEntry("22232009", LocationType.HEALTHCARE_CUSTODY, "Hospital"),
    CodeEntry("1065261000000106", LocationType.OTHER, "Other place"),
    CodeEntry("1065251000000108", LocationType.NOT_KNOWN, "Place unknown"),
)
# ECDS INJURY INTENT concepts that mean "assault". UNVERIFIED.
SNOMED_ASSAULT_INTENT: frozenset[str] = frozenset({"276746005", "1066101000000106"})

# Exact trust labels (matched case-insensitively after light normalisation).
METHOD_LABEL_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        (
            "body part",
            "bodily force",
            "fist",
            "fists",
            "punch",
            "punched",
            "foot",
            "feet",
            "kick",
            "kicked",
            "head",
            "headbutt",
            "head butt",
            "headbutted",
            "bite",
            "bitten",
            "hands",
            "hand",
            "feet/fists",
            "fist/feet",
            "slap",
            "slapped",
            "elbow",
            "knee",
            "stamped",
            "stamp",
            "push",
            "pushed",
            "strangled",
        ),
        Method.BODY_PART,
    ),
    **dict.fromkeys(
        (
            "blunt object",
            "blunt instrument",
            "bat",
            "baseball bat",
            "stick",
            "hammer",
            "brick",
            "pole",
            "bar",
            "metal bar",
            "crowbar",
            "chair",
            "stone",
            "rock",
            "club",
            "golf club",
            "plank",
            "wood",
            "iron bar",
            "weapon - blunt",
        ),
        Method.BLUNT_OBJECT,
    ),
    **dict.fromkeys(
        (
            "knife",
            "knives",
            "knife/sharp object",
            "sharp object",
            "knife or sharp object",
            "blade",
            "machete",
            "screwdriver",
            "scissors",
            "stabbed",
            "stab",
            "stabbing",
            "sword",
            "razor",
            "cut",
            "slashed",
            "sharp instrument",
            "weapon - sharp",
        ),
        Method.KNIFE_SHARP,
    ),
    **dict.fromkeys(
        (
            "glass",
            "bottle",
            "glass/bottle",
            "glass or bottle",
            "glassed",
            "broken bottle",
            "pint glass",
            "bottled",
        ),
        Method.GLASS_BOTTLE,
    ),
    **dict.fromkeys(
        (
            "firearm",
            "gun",
            "shot",
            "gunshot",
            "shooting",
            "air rifle",
            "air gun",
            "pistol",
            "bb gun",
        ),
        Method.FIREARM,
    ),
    **dict.fromkeys(
        (
            "corrosive",
            "noxious substance",
            "corrosive substance",
            "acid",
            "ammonia",
            "bleach",
            "spray",
            "pepper spray",
            "cs spray",
            "corrosive/noxious substance",
        ),
        Method.CORROSIVE,
    ),
    **dict.fromkeys(("other", "other (specify)", "other - see notes", "misc"), Method.OTHER),
    **dict.fromkeys(
        (
            "not known",
            "unknown",
            "n/k",
            "nk",
            "u/k",
            "uk",
            "n/a",
            "na",
            "not stated",
            "not recorded",
            "unk",
            "?",
            "-",
            "- -",
            "--",
            "pt unable to say",
            "declined",
        ),
        Method.NOT_KNOWN,
    ),
}

LOCATION_LABEL_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        (
            "dwelling",
            "home",
            "own home",
            "pt's home",
            "pts home",
            "patient's home",
            "patients home",
            "house",
            "flat",
            "private address",
            "private dwelling",
            "residential",
            "friend's house",
            "friend's flat",
            "home address",
            "at home",
            "someone else's home",
            "other dwelling",
            "hostel",
        ),
        LocationType.DWELLING,
    ),
    **dict.fromkeys(
        (
            "street",
            "road",
            "street/public place",
            "public place",
            "public open area",
            "street or public open area",
            "outside",
            "pavement",
            "alley",
            "car park",
            "estate",
            "stairwell",
            "public highway",
            "outdoors",
        ),
        LocationType.STREET,
    ),
    **dict.fromkeys(
        (
            "park",
            "open space",
            "park/open space",
            "common",
            "green",
            "playground",
            "field",
            "heath",
            "woods",
        ),
        LocationType.PARK,
    ),
    **dict.fromkeys(
        (
            "licensed premises",
            "pub",
            "bar",
            "club",
            "nightclub",
            "night club",
            "pub/club",
            "pub/bar/club",
            "wine bar",
            "licenced premises",
        ),
        LocationType.LICENSED_PREMISES,
    ),
    **dict.fromkeys(
        (
            "commercial",
            "commercial premises",
            "other commercial premises",
            "shop",
            "supermarket",
            "restaurant",
            "takeaway",
            "take away",
            "betting shop",
            "cafe",
            "shopping centre",
            "off licence",
            "petrol station",
            "gym",
        ),
        LocationType.COMMERCIAL,
    ),
    **dict.fromkeys(
        (
            "public transport",
            "bus",
            "train",
            "tube",
            "station",
            "bus stop",
            "bus station",
            "train station",
            "tube station",
            "underground",
            "overground",
            "dlr",
            "tram",
            "taxi",
            "transport",
        ),
        LocationType.PUBLIC_TRANSPORT,
    ),
    **dict.fromkeys(("workplace", "work", "at work", "place of work"), LocationType.WORKPLACE),
    **dict.fromkeys(
        ("school", "college", "school/college", "university", "education", "sixth form"),
        LocationType.SCHOOL,
    ),
    **dict.fromkeys(
        (
            "healthcare",
            "hospital",
            "custody",
            "prison",
            "police station",
            "police custody",
            "healthcare or custody setting",
            "gp surgery",
            "a&e",
            "ed",
            "ward",
        ),
        LocationType.HEALTHCARE_CUSTODY,
    ),
    **dict.fromkeys(("other", "other (specify)", "elsewhere", "abroad"), LocationType.OTHER),
    **dict.fromkeys(
        (
            "not known",
            "unknown",
            "n/k",
            "nk",
            "u/k",
            "uk",
            "n/a",
            "na",
            "not stated",
            "not recorded",
            "unk",
            "?",
            "-",
            "- -",
            "--",
            "nfa",
        ),
        LocationType.NOT_KNOWN,
    ),
}

# Free-text keywords, tried in order after exact matches fail. Patterns are matched on
# lower-cased text with word boundaries; the first hit wins, so specific terms come first.
METHOD_KEYWORDS: tuple[tuple[str, str], ...] = (
    (r"acid|ammonia|bleach|corrosive|noxious|(?:pepper|cs) spray|sprayed", Method.CORROSIVE),
    (r"shot|gun|firearm|rifle|pistol", Method.FIREARM),
    (r"glass(?:ed)?|bottle(?:d)?", Method.GLASS_BOTTLE),
    (
        r"stab(?:bed|bing)?|knife|knives|blade|machete|screwdriver|scissors|slash(?:ed)?|"
        r"razor|sword|sharp",
        Method.KNIFE_SHARP,
    ),
    (
        r"bat|stick|hammer|brick|pole|bar|crowbar|chair|stone|rock|plank|club|blunt|"
        r"weapon",
        Method.BLUNT_OBJECT,
    ),
    (
        r"punch(?:ed)?|kick(?:ed)?|fist|feet|foot|head ?butt(?:ed)?|bit(?:e|ten)|slap(?:ped)?|"
        r"stamp(?:ed)?|push(?:ed)?|elbow|knee|hit|assaulted|beaten|strangl(?:ed|ing)",
        Method.BODY_PART,
    ),
)
LOCATION_KEYWORDS: tuple[tuple[str, str], ...] = (
    (
        r"pt'?s? home|own home|home|flat|house|residence|hostel|bedsit|dwelling",
        LocationType.DWELLING,
    ),
    (
        r"bus|train|tube|stn|station|underground|overground|dlr|tram|platform|taxi|"
        r"railway",
        LocationType.PUBLIC_TRANSPORT,
    ),
    (r"pub|bar|club|nightclub|inn|tavern|arms|wetherspoon", LocationType.LICENSED_PREMISES),
    (r"park|common|green|heath|playground|field|woods|marshes", LocationType.PARK),
    (r"school|college|academy|university|uni", LocationType.SCHOOL),
    (r"hospital|custody|prison|police station|surgery|a&e|ward", LocationType.HEALTHCARE_CUSTODY),
    (r"work|office|site|warehouse", LocationType.WORKPLACE),
    (
        r"shop|tesco|sainsbury'?s|asda|lidl|aldi|co-?op|morrisons|mcdonald'?s|kfc|takeaway|"
        r"restaurant|cafe|supermarket|betting|bookies|shopping|chicken|off licence|market",
        LocationType.COMMERCIAL,
    ),
    (
        r"street|st|road|rd|lane|ave|avenue|outside|o/s|pavement|alley|estate|car park|"
        r"junction|high st|way|crescent|close",
        LocationType.STREET,
    ),
)

METHOD_KEYWORD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{p})\b"), c) for p, c in METHOD_KEYWORDS
)
LOCATION_KEYWORD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![\w])(?:{p})(?![\w])"), c) for p, c in LOCATION_KEYWORDS
)


def national_method_map() -> dict[str, str]:
    """National method code → harmonised code."""
    return {e.source_code: e.code for e in NATIONAL_METHOD_CODES}


def national_location_map() -> dict[str, str]:
    """National location-type code → harmonised code."""
    return {e.source_code: e.code for e in NATIONAL_LOCATION_CODES}


def snomed_method_map() -> dict[str, str]:
    """SNOMED CT injury mechanism → harmonised method code."""
    return {e.source_code: e.code for e in SNOMED_METHOD}


def snomed_location_map() -> dict[str, str]:
    """SNOMED CT place of injury → harmonised location-type code."""
    return {e.source_code: e.code for e in SNOMED_LOCATION}
