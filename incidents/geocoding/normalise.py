"""Text normalisation shared by the gazetteer index and the query side.

Both sides go through ``name_key`` so that "Rye Lane", "RYE LN" and "rye lane" meet on
one key. Street-type words are folded to a short canonical form ("road" and "rd" → "rd";
"street", "st" and "saint" → "st") because ED staff use either spelling and "St" is
ambiguous between Street and Saint anyway.
"""

from __future__ import annotations

import re
import unicodedata

# Long and short spellings → one canonical token (applied to gazetteer names and queries).
CANONICAL: dict[str, str] = {
    "road": "rd",
    "rd": "rd",
    "raod": "rd",
    "street": "st",
    "str": "st",
    "st": "st",
    "saint": "st",
    "sreet": "st",
    "steet": "st",
    "avenue": "ave",
    "av": "ave",
    "ave": "ave",
    "avenu": "ave",
    "lane": "ln",
    "ln": "ln",
    "gardens": "gdns",
    "gdns": "gdns",
    "gdn": "gdns",
    "square": "sq",
    "sq": "sq",
    "crescent": "cres",
    "cres": "cres",
    "terrace": "ter",
    "terr": "ter",
    "ter": "ter",
    "place": "pl",
    "pl": "pl",
    "close": "cl",
    "cl": "cl",
    "drive": "dr",
    "dr": "dr",
    "court": "ct",
    "ct": "ct",
    "grove": "gr",
    "gro": "gr",
    "gr": "gr",
    "parade": "pde",
    "pde": "pde",
    "highway": "hwy",
    "broadway": "broadway",
    "mount": "mt",
    "mt": "mt",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "station": "stn",
    "stn": "stn",
    "statn": "stn",
    "staion": "stn",
    "stati": "stn",
    "hospital": "hosp",
    "hosp": "hosp",
    "hsp": "hosp",
    "junction": "junction",
    "jct": "junction",
    "jnct": "junction",
    "jw": "junction",
    "and": "and",
    "the": "the",
    "great": "gt",
    "gt": "gt",
    "upper": "upr",
    "upr": "upr",
    "lower": "lwr",
    "lwr": "lwr",
}
# Free-text-only expansions (never applied to gazetteer names).
QUERY_EXPANSIONS: dict[str, str] = {
    "os": "outside",
    "o/s": "outside",
    "outsd": "outside",
    "ouside": "outside",
    "pt": "patient",
    "pts": "patients",
    "ptnt": "patient",
    "nr": "near",
    "opp": "opposite",
    "opps": "opposite",
    "nk": "unknown",
    "uk": "unknown",
    "na": "unknown",
    "n/k": "unknown",
    "u/k": "unknown",
    "n/a": "unknown",
    "unk": "unknown",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "nfa": "nfa",
    "tube": "stn",
    "underground": "stn",
    "overground": "stn",
    "dlr": "stn",
    "rail": "stn",
    "b/s": "bus stop",
    "busstop": "bus stop",
    "c/o": "complains of",
}
# ED hospital acronyms → the hospital's name key.
HOSPITAL_ACRONYMS: dict[str, str] = {
    "rlh": "royal london hosp",
    "stg": "st georges hosp",
    "sgh": "st georges hosp",
    "pruh": "princess royal university hosp",
    "nph": "northwick park hosp",
    "kgh": "king george hosp",
    "qh": "queens hosp",
    "qeh": "queen elizabeth hosp",
    "rfh": "royal free hosp",
    "cuh": "croydon university hosp",
    "nmuh": "north middlesex university hosp",
    "nmh": "north middlesex university hosp",
    "wxh": "whipps cross hosp",
    "nuh": "newham hosp",
    "uclh": "university college hosp",
    "uch": "university college hosp",
    "kch": "kings college hosp",
    "sth": "st thomas hosp",
    "gsth": "st thomas hosp",
    "smh": "st marys hosp",
    "cxh": "charing cross hosp",
    "wmuh": "west middlesex university hosp",
    "chelwest": "chelsea and westminster hosp",
    "uhl": "university hosp lewisham",
}

_APOSTROPHES = re.compile("['\u2019\u0060\u00b4]")
_NON_ALNUM = re.compile(r"[^a-z0-9/]+")
_SPACES = re.compile(r"\s+")


def _ascii_lower(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return text.encode("ascii", "ignore").decode("ascii").lower()


def canonical_tokens(text: str) -> list[str]:
    """Lower-case, strip accents/apostrophes/punctuation, fold street-type words."""
    text = _APOSTROPHES.sub("", _ascii_lower(text)).replace("&", " and ")
    text = _NON_ALNUM.sub(" ", text.replace("/", " "))
    return [CANONICAL.get(tok, tok) for tok in text.split()]


def name_key(name: str) -> str:
    """The index key of a gazetteer name (no query-only expansions)."""
    return " ".join(canonical_tokens(name))


_SLASH_ABBREV = re.compile(r"\b([a-z])/([a-z])\b")


def normalise_query(text: str) -> str:
    """Normalise free text: case, accents, punctuation, ED abbreviations, acronyms, repeats.

    Slash abbreviations ("o/s", "n/k", "j/w") are joined before punctuation is removed;
    a slash between words ("Mare St/Well St") becomes a junction marker " / ".
    """
    text = _APOSTROPHES.sub("", _ascii_lower(text)).replace("&", " and ")
    text = _SLASH_ABBREV.sub(r"\1\2", text)  # o/s → os, n/k → nk, j/w → jw
    text = text.replace("/", " / ").replace("<>", " ").replace("#", " ")
    text = re.sub(r"[^a-z0-9/ ]+", " ", text)
    out: list[str] = []
    for tok in text.split():
        if tok == "/":
            out.append("/")
            continue
        tok = QUERY_EXPANSIONS.get(tok, tok)
        tok = HOSPITAL_ACRONYMS.get(tok, tok)
        out.extend(CANONICAL.get(t, t) for t in tok.split())
    # Pasted-twice text ("brixton stn brixton stn") collapses to one copy.
    half = len(out) // 2
    if half and len(out) % 2 == 0 and out[:half] == out[half:]:
        out = out[:half]
    return " ".join(out)
