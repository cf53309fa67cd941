"""Names of people in free text, for the free-text guard (:mod:`.pii_text`).

ED location descriptions name people in a few ways: after a relationship or a verb
("assaulted by her partner John Smith", "pt's mum Sharon called 999", "known to pt as
Tunde"), after a title ("Mr Okafor"), or alone at the start ("Kevin Doyle hit pt at
Clapham Junction"). They also name places after people (King's Cross, St Thomas',
John Lewis, the Duke of Wellington, Stanley Road), and those must survive.

How a name is found (deny by default: after a cue, any word that is not an ordinary word
or a place word is taken):

* **After a strong cue** — a relationship word (partner, ex, mum, friend, neighbour …),
  ``called``/``named``/``aka``/``known as``/``assailant``, or ``by``/``with`` after an
  assault word ("assaulted by", "fight with") — the next word, unless it is an ordinary
  word (``_ORDINARY``) or a place word; then up to two more words of the same case as the
  surname. In capitals or Title Case (the pipeline turns ALL CAPS into Title Case) every
  word is capitalised, so only the ordinary-word list stops it.
* **After a title** (Mr, Mrs, Ms, Miss, Mstr, Dr, Prof, Rev): the surname, title and all.
* **After a weak cue** (by, with, pt, v): only a known first name.
* **With no cue**: a known first name in use in Britain followed by a capitalised
  surname ("Kevin Doyle hit pt"), a known first name followed by an assault verb ("Emma
  stabbed pt") or by "and" and another ("Liam and Darren"; "and" after a name is then a
  strong cue), or a word followed by a bracketed or comma'd relation ("Piotr (pt's son)").

Known first names come from the ``gender-guesser`` package's name dictionary (about 45,000
given names from many countries, loaded once on first use; ``benchmarks/pii_guard.py``
compares it with the alternatives). The place guard: a candidate followed by a place word
(Road, Street, Station, Park, Hospital, Arms …), one that starts with a place title
(King, Queen, Duke, Lord, Prince, Sir, St …), a shop named after a person (John Lewis,
Marks & Spencer, Peter Jones, William Hill …) or a possessive followed by a place word
(St George's Hospital) is left alone; a possessive followed by a dwelling word is a person
("Mr Smith's house").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from incidents.geocoding.normalise import CANONICAL

from .types import PiiKind

REDACTED = "[redacted]"

# -- word lists (not names: the cues, ordinary words and place words) --------------------
_RELATIONS = frozenset(
    [
        "partner",
        "partners",
        "ex",
        "ex-partner",
        "expartner",
        "boyfriend",
        "bf",
        "ex-boyfriend",
        "exboyfriend",
        "girlfriend",
        "gf",
        "ex-girlfriend",
        "husband",
        "hubby",
        "ex-husband",
        "wife",
        "ex-wife",
        "fiance",
        "fiancee",
        "fiancé",
        "fiancée",
        "mum",
        "mom",
        "mam",
        "mummy",
        "mother",
        "dad",
        "daddy",
        "father",
        "stepdad",
        "stepfather",
        "stepmum",
        "stepmother",
        "brother",
        "bro",
        "sister",
        "sis",
        "son",
        "daughter",
        "stepson",
        "stepdaughter",
        "cousin",
        "uncle",
        "aunt",
        "auntie",
        "aunty",
        "nan",
        "nana",
        "nanny",
        "gran",
        "granny",
        "grandma",
        "grandmother",
        "grandad",
        "granddad",
        "grandfather",
        "grandson",
        "granddaughter",
        "niece",
        "nephew",
        "friend",
        "mate",
        "pal",
        "neighbour",
        "neighbor",
        "flatmate",
        "housemate",
        "roommate",
        "colleague",
        "boss",
        "manager",
        "landlord",
        "landlady",
        "carer",
        "babysitter",
        "guardian",
        "sibling",
        "bm",
        "bd",
        "baby-father",
        "baby-mother",
    ]
)
_NAMING = frozenset(
    [
        "called",
        "named",
        "name",
        "names",
        "aka",
        "a.k.a",
        "alias",
        "nicknamed",
        "assailant",
        "attacker",
        "perpetrator",
        "perp",
        "suspect",
        "offender",
        "surname",
        "forename",
    ]
)
_TITLES = frozenset(["mr", "mrs", "ms", "miss", "mstr", "dr", "prof", "rev"])
_WEAK = frozenset(["by", "with", "and", "pt", "patient", "v", "vs", "against", "from"])
# Words that may stand between a cue and the name: "partner - John", "assailant is John".
_FILLERS = frozenset(["is", "was", "-", ":", ",", "(", "called", "named"])
# "fight with John", "assaulted by John": after these the weak cue is strong.
_FIGHT_WORDS = frozenset(
    [
        "fight",
        "fighting",
        "fought",
        "argument",
        "arguing",
        "argued",
        "altercation",
        "scuffle",
        "row",
        "dispute",
    ]
)
_ASSAULT_VERBS = frozenset(
    [
        "assaulted",
        "attacked",
        "punched",
        "hit",
        "kicked",
        "stabbed",
        "slapped",
        "pushed",
        "bitten",
        "bit",
        "headbutted",
        "strangled",
        "grabbed",
        "robbed",
        "mugged",
        "threatened",
        "glassed",
        "beaten",
        "stamped",
        "struck",
        "shoved",
        "dragged",
        "scratched",
        "choked",
        "elbowed",
        "kneed",
        "throttled",
        "chased",
    ]
)
# Ordinary words that are never taken as names after a cue.
_ORDINARY = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "at",
        "in",
        "on",
        "by",
        "to",
        "from",
        "with",
        "and",
        "or",
        "but",
        "for",
        "into",
        "onto",
        "outside",
        "inside",
        "near",
        "nr",
        "opp",
        "opposite",
        "o/s",
        "os",
        "behind",
        "beside",
        "across",
        "along",
        "around",
        "between",
        "under",
        "over",
        "via",
        "next",
        "he",
        "she",
        "they",
        "him",
        "her",
        "his",
        "their",
        "them",
        "it",
        "its",
        "i",
        "me",
        "my",
        "we",
        "us",
        "our",
        "you",
        "your",
        "who",
        "whom",
        "whose",
        "which",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "then",
        "than",
        "when",
        "while",
        "whilst",
        "where",
        "as",
        "if",
        "so",
        "not",
        "no",
        "yes",
        "also",
        "just",
        "only",
        "very",
        "too",
        "again",
        "back",
        "up",
        "down",
        "out",
        "off",
        "away",
        "home",
        "house",
        "flat",
        "address",
        "is",
        "was",
        "were",
        "be",
        "been",
        "being",
        "are",
        "am",
        "has",
        "had",
        "have",
        "having",
        "do",
        "did",
        "does",
        "done",
        "get",
        "got",
        "go",
        "went",
        "gone",
        "came",
        "come",
        "comes",
        "coming",
        "said",
        "says",
        "say",
        "told",
        "tell",
        "states",
        "stated",
        "reports",
        "reported",
        "called",
        "named",
        "calls",
        "rang",
        "phoned",
        "brought",
        "took",
        "taken",
        "left",
        "arrived",
        "ran",
        "run",
        "walked",
        "walking",
        "went",
        "going",
        "drove",
        "drunk",
        "intoxicated",
        "unknown",
        "unk",
        "nk",
        "known",
        "male",
        "female",
        "man",
        "men",
        "woman",
        "women",
        "boy",
        "boys",
        "girl",
        "girls",
        "lad",
        "lads",
        "guy",
        "guys",
        "youth",
        "youths",
        "group",
        "gang",
        "people",
        "person",
        "persons",
        "someone",
        "somebody",
        "anyone",
        "everyone",
        "stranger",
        "strangers",
        "others",
        "other",
        "another",
        "pt",
        "pts",
        "patient",
        "patients",
        "police",
        "ambulance",
        "lfb",
        "lfs",
        "security",
        "bouncer",
        "bouncers",
        "staff",
        "officer",
        "officers",
        "doorman",
        "driver",
        "passenger",
        "customer",
        "customers",
        "member",
        "members",
        "worker",
        "child",
        "children",
        "kid",
        "kids",
        "baby",
        "teen",
        "teenager",
        "adult",
        "family",
        "relative",
        "relatives",
        "x1",
        "x2",
        "x3",
        "x4",
        "once",
        "twice",
        "approx",
        "around",
        "about",
        "after",
        "before",
        "during",
        "later",
        "earlier",
        "today",
        "tonight",
        "yesterday",
        "morning",
        "evening",
        "night",
        "afternoon",
        "pm",
        "am",
        "hrs",
        "bottle",
        "glass",
        "knife",
        "weapon",
        "fist",
        "fists",
        "feet",
        "foot",
        "head",
        "face",
        "hand",
        "hands",
        "arm",
        "leg",
        "chest",
        "stick",
        "bat",
        "brick",
        "phone",
        "car",
        "bike",
        "bus",
        "train",
        "tube",
        "taxi",
        "van",
        "same",
        "own",
        "new",
        "old",
        "big",
        "little",
        "young",
        "first",
        "second",
        "last",
        "both",
        "all",
        "some",
        "any",
        "each",
        "every",
        "few",
        "many",
        "much",
        "more",
        "most",
        "several",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "again",
        "still",
        "already",
        "never",
        "ever",
        "yet",
        "now",
        "soon",
        "friend",
        "friends",
        "partner",
        "mum",
        "dad",
        "brother",
        "sister",
        "etc",
        "ok",
        "okay",
        "please",
        "london",
        *_ASSAULT_VERBS,
    ]
)
# Place words: a candidate followed by one of these is a place.
_HARD_PLACE = frozenset(
    [
        "road",
        "rd",
        "street",
        "st",
        "str",
        "lane",
        "ln",
        "avenue",
        "ave",
        "av",
        "close",
        "cl",
        "crescent",
        "cres",
        "drive",
        "terrace",
        "terr",
        "ter",
        "gardens",
        "gdns",
        "square",
        "sq",
        "mews",
        "parade",
        "pde",
        "estate",
        "est",
        "station",
        "stn",
        "stns",
        "tube",
        "overground",
        "dlr",
        "underground",
        "junction",
        "jct",
        "hospital",
        "hosp",
        "infirmary",
        "clinic",
        "surgery",
        "centre",
        "center",
        "pub",
        "ph",
        "tavern",
        "inn",
        "arms",
        "bar",
        "club",
        "nightclub",
        "hotel",
        "restaurant",
        "cafe",
        "café",
        "shop",
        "shops",
        "store",
        "stores",
        "supermarket",
        "market",
        "markets",
        "mall",
        "stadium",
        "arena",
        "academy",
        "school",
        "college",
        "university",
        "uni",
        "church",
        "chapel",
        "mosque",
        "temple",
        "library",
        "museum",
        "gallery",
        "theatre",
        "cinema",
        "bridge",
        "palace",
        "embankment",
        "circus",
        "broadway",
        "highway",
        "hwy",
        "quay",
        "wharf",
        "pier",
        "tower",
        "towers",
        "mansions",
        "buildings",
        "villas",
        "court",
        "ct",
        "yard",
        "column",
        "statue",
        "memorial",
        "cathedral",
        "abbey",
        "castle",
        "gate",
        "gateway",
        "gardens",
        "bus",
        "stop",
        "carpark",
        "car-park",
        "leisure",
        "baths",
        "pool",
        "gym",
        "hall",
        "halls",
        "house",
        "estate",
        "primary",
        "secondary",
        "high",
        "cross",
    ]
)
# Place words that are also common surnames (Hill, Green, Wood …): a place only when
# another place word or nothing personal follows, so "partner Gary Hill" is a person.
_SOFT_PLACE = frozenset(
    [
        "hill",
        "green",
        "wood",
        "woods",
        "park",
        "field",
        "fields",
        "row",
        "way",
        "walk",
        "grove",
        "rise",
        "vale",
        "common",
        "end",
        "side",
        "place",
        "pl",
        "heath",
        "marsh",
        "moor",
        "dale",
        "lee",
        "lea",
        "brook",
        "ford",
        "well",
        "wells",
        "gate",
        "head",
        "heights",
        "reach",
        "view",
        "point",
        "lodge",
        "farm",
        "vale",
        "wharf",
    ]
)
# First words of places named after titles: the Duke of Wellington, King's Cross, St Thomas'.
_PLACE_TITLES = frozenset(
    [
        "king",
        "kings",
        "queen",
        "queens",
        "duke",
        "dukes",
        "lord",
        "lords",
        "lady",
        "prince",
        "princess",
        "earl",
        "sir",
        "dame",
        "marquis",
        "marquess",
        "baron",
        "count",
        "captain",
        "admiral",
        "general",
        "st",
        "saint",
        "sts",
        "royal",
    ]
)
# A word before the candidate that makes it a place: "outside Peter Jones", "in the Albert".
_LOCATIVE = frozenset(
    [
        "at",
        "in",
        "on",
        "outside",
        "inside",
        "o/s",
        "os",
        "opp",
        "opposite",
        "near",
        "nr",
        "to",
        "from",
        "into",
        "onto",
        "past",
        "towards",
        "toward",
        "behind",
        "beside",
        "by",
        "via",
        "the",
        "st",
        "saint",
        "of",
        "off",
        "along",
        "across",
        "and",
        "&",
        "/",
        "junction",
        "jw",
    ]
)
# Shops, businesses, boroughs and things named after people.
_PERSON_NAMED_PLACES = tuple(
    tuple(p.split())
    for p in """john lewis|marks spencer|peter jones|harvey nichols|william hill|paddy power|
    ted baker|sue ryder|thomas cook|fortnum mason|jack wills|ronald mcdonald|karen millen|
    dorothy perkins|miss selfridge|jack straw|stanley gibbons|mother kelly|toby carvery|
    kensington chelsea|hammersmith fulham|barking dagenham|richmond thames|
    kingston thames|stanley knife""".replace("\n", "").split("|")
)
# Street-type words and their usual misspellings, as the geocoder folds them ("Sreet").
_STREET_WORDS = frozenset(
    k for k, v in CANONICAL.items() if v in {"rd", "st", "ave", "ln", "gdns", "sq", "cres", "ter"}
)
_PLACE = _HARD_PLACE | _STREET_WORDS
_PLACE_WORDS_AFTER_POSSESSIVE = _PLACE | _SOFT_PLACE
_DWELLINGS = frozenset(
    [
        "house",
        "flat",
        "home",
        "place",
        "address",
        "room",
        "bedroom",
        "garden",
        "gaff",
        "car",
        "door",
    ]
)
_APPOSITION = frozenset({"pt", "patient", "pts", "his", "her", "their"})

_TOKEN = re.compile(
    r"\[(?:redacted|home address)\]|\b[A-Za-z]/[A-Za-z]\b"
    r"|[A-Za-z][A-Za-z'\u2019.\-]*|\d+|[^\sA-Za-z\d]"
)
# Words that send a text to the full look ("and" only counts after a name found anyway).
_CUE_WORDS = (_RELATIONS | _NAMING | _TITLES | _WEAK | {"as"}) - {"and", "from"}
_WORDS = re.compile(r"\b[A-Za-z][A-Za-z'\u2019]*\b")
_NAMED_PLACE_STARTS = frozenset(p[0] for p in _PERSON_NAMED_PLACES)


Lexicon = tuple[frozenset[str], frozenset[str]]


def _gender_guesser_names() -> Lexicon:
    """Given names from gender-guesser's dictionary (lower case): all of them, and those
    in use in Great Britain or Ireland (its first two frequency columns)."""
    import gender_guesser.detector as gd

    detector = gd.Detector(case_sensitive=False)
    every: set[str] = set()
    british: set[str] = set()
    for name, by_gender in detector.names.items():
        if not name.isalpha() or len(name) < 2:
            continue
        every.add(name)
        if any(freq[:2].strip() for freq in by_gender.values()):
            british.add(name)
    return frozenset(every), frozenset(british)


# The name source in use; benchmarks/pii_guard.py swaps it to compare alternatives.
name_source: Callable[[], Lexicon] = _gender_guesser_names
_NOT_NAMES = _ORDINARY | _PLACE | _SOFT_PLACE | _PLACE_TITLES | _WEAK


@cache
def lexicon() -> Lexicon:
    """Known first names (lower case), without ordinary or place words: every name (read
    after a cue), and those in use in Britain (enough on their own, without a cue)."""
    every, british = name_source()
    return every - _NOT_NAMES, british - _NOT_NAMES


def first_names() -> frozenset[str]:
    return lexicon()[0]


_FUZZY_PLACE = sorted(w for w in _PLACE | _SOFT_PLACE | {"approach"} if len(w) >= 4)


@lru_cache(maxsize=4096)
def _misspelt_place(word: str) -> bool:
    """A place word with one slip: "Cuort", "Gradens", "Staion"."""
    if len(word) < 4 or not word.isalpha():
        return False
    return process.extractOne(word, _FUZZY_PLACE, scorer=OSA.distance, score_cutoff=1) is not None


def _norm(tok: str) -> str:
    low = tok.lower().replace("\u2019", "'")
    if low.endswith("'s"):
        return low[:-2]
    return low.rstrip("'.")


class _Text:
    """One description, tokenised, with the decisions that need the whole text."""

    def __init__(self, text: str, names: frozenset[str], british: frozenset[str]) -> None:
        self.text = text
        self.spans = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
        self.toks = [t for _, _, t in self.spans]
        self.low = [_norm(t) for t in self.toks]
        self.n = len(self.toks)
        self.is_word = [t[0].isalpha() and len(t) > 1 for t in self.toks]
        self.cap = [t[0].isupper() for t in self.toks]
        words = [i for i in range(self.n) if self.is_word[i]]
        caps = sum(self.cap[i] for i in words)
        # Title Case or capitals (the pipeline turns ALL CAPS into Title Case): capitals
        # say nothing there.
        self.title_mode = len(words) >= 2 and caps >= 0.8 * len(words)
        self.names = names
        self.british = british
        self.protected = self._named_places()

    def _named_places(self) -> set[int]:
        """Tokens of shops and places named after people ("Marks & Spencer")."""
        out: set[int] = set()
        if _NAMED_PLACE_STARTS.isdisjoint(self.low):
            return out
        idx = [i for i in range(self.n) if self.low[i] not in {"&", "and", "+"}]
        lows = [self.low[i] for i in idx]
        for place in _PERSON_NAMED_PLACES:
            k = len(place)
            for j in range(len(lows) - k + 1):
                if tuple(lows[j : j + k]) == place:
                    out.update(range(idx[j], idx[j + k - 1] + 1))
        return out

    def known_first(self, i: int) -> bool:
        return self.is_word[i] and self.low[i] in self.names

    def ordinary(self, i: int) -> bool:
        low = self.low[i]
        return (
            low in _ORDINARY
            or low in _RELATIONS
            or low in _NAMING
            or low in _TITLES
            or low in _PLACE
            or i in self.protected
        )

    def first_word(self, i: int, strength: str) -> bool:
        """Can token i open a name after a cue of this strength?"""
        if not self.is_word[i] or self.ordinary(i):
            return False
        if strength == "title":
            return True  # "Mr Okafor", "Mrs Hill"
        if self.low[i] in _SOFT_PLACE or self.low[i] in _PLACE_TITLES:
            return False
        if self.known_first(i):
            return True
        if strength == "agent":
            return self.cap[i] and not self.title_mode
        # Deny by default after a strong cue: any word that is not an ordinary word.
        return strength == "strong" and (self.cap[i] or not self.title_mode)

    def surname(self, i: int, first: int, strength: str) -> bool:
        if i >= self.n or not self.is_word[i] or self.ordinary(i) or self.low[i] in _WEAK:
            return False
        if self.low[i] in _SOFT_PLACE and strength == "weak":
            return False
        return self.cap[i] == self.cap[first]

    def place_after(self, end: int, strength: str = "weak") -> bool:
        """Is the name that ends before token ``end`` part of a place? After a strong cue a
        soft place word is not enough ("partner Gary Hill"); without one it is ("Rick
        Roberts Way")."""
        if end >= self.n:
            return False
        nxt = self.low[end]
        last = self.toks[end - 1].lower().replace("\u2019", "'")
        if last.endswith(("'s", "'")):
            return nxt in _PLACE_WORDS_AFTER_POSSESSIVE and nxt not in _DWELLINGS
        if nxt == "st" and end + 1 < self.n and self.is_word[end + 1] and self.cap[end + 1]:
            return False  # "Natalie Lewis St Mary's Paddington": Saint, not Street
        if nxt in _PLACE:
            return True
        if nxt in _SOFT_PLACE:
            # "Gordon Hill station": a soft place word then a hard one.
            return strength == "weak" or (end + 1 < self.n and self.low[end + 1] in _PLACE)
        return strength == "weak" and self.is_word[end] and _misspelt_place(nxt)

    def capture(self, i: int, strength: str) -> int | None:
        """The end (exclusive) of a name starting at token i, or None."""
        if i >= self.n or not self.first_word(i, strength):
            return None
        end = i + 1
        while end - i < 3 and self.surname(end, i, strength):
            end += 1
        # "called Kofi Leytonstone stn": after a strong cue, a shorter name may still be one.
        shortest = end if strength == "weak" else i + 1
        while end >= shortest:
            if not self.place_after(end, strength):
                return end
            end -= 1
        return None

    def cue(self, i: int, found: list[tuple[int, int]]) -> str | None:
        low = self.low[i]
        if low in _TITLES:
            # "12 Acre Dr": after a capitalised street word it is Drive, not Doctor.
            if low == "dr" and i > 0 and self.is_word[i - 1] and self.cap[i - 1]:
                return None
            return "title"
        if low in _RELATIONS or low in _NAMING:
            if self.toks[i].endswith(("'s", "'", "\u2019s", "\u2019")):
                return None  # "partner's flat": a thing of theirs follows, not a name
            return "strong"
        if low == "as" and "known" in self.low[max(0, i - 3) : i]:
            return "strong"
        if i > 0 and (
            (low == "with" and self.low[i - 1] in _FIGHT_WORDS)
            or (low == "by" and self.low[i - 1] in _FIGHT_WORDS)
        ):
            return "strong"  # "fight with Hodan Wood"
        if low == "by" and i > 0 and self.low[i - 1] in _ASSAULT_VERBS:
            # "assaulted by Tunde", but "bitten by dog", "hit by object": a capitalised
            # word in mixed-case text, or a known first name.
            return "agent"
        if low == "and":
            # "John Smith and Kevin Doyle": only after a name.
            return "strong" if found and found[-1][1] == i else None
        if low in _WEAK:
            return "weak"
        return None

    def apposition(self, i: int) -> int | None:
        """ "Piotr (pt's son) stabbed pt": a word, then a bracket or comma and a relation."""
        j = i + 1
        while j < self.n and j - i < 3 and self.surname(j, i, "strong"):
            j += 1
        if j + 2 < self.n and self.toks[j] in {"(", ","} and self.low[j + 1] in _APPOSITION:
            k = j + 2
            if self.low[k] == "ex" and k + 1 < self.n:
                k += 1
            after = self.low[k + 1] if k + 1 < self.n else ")"
            if self.low[k] in _RELATIONS and (after in {")", ",", "-"} or after in _ASSAULT_VERBS):
                return j
        return None

    def find(self) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        i = 0
        while i < self.n:
            strength = self.cue(i, found)
            end: int | None = None
            start = i + 1
            if strength is not None:
                while start < self.n and self.low[start] in _FILLERS and start - i <= 2:
                    start += 1
                if start < self.n and self.cue(start, found) is None:
                    end = self.capture(start, strength)
                    if end is not None and strength == "title":
                        start = i  # "Mr Smith" goes whole
            elif self.is_word[i] and not self.ordinary(i) and self.cap[i]:
                start = i
                prev = self.low[i - 1] if i else ""
                if prev not in _LOCATIVE and prev not in _PLACE_TITLES:
                    end = self.apposition(i)
                    if end is None and self.known_first(i) and i + 1 < self.n:
                        nxt = self.low[i + 1]
                        if nxt in _ASSAULT_VERBS:
                            end = i + 1  # "Emma stabbed pt"
                        elif nxt in {"and", "&"} and i + 2 < self.n and self.known_first(i + 2):
                            end = i + 1  # "Liam and Darren": "and" then cues the second
                    if end is None and self.low[i] in self.british:
                        # No cue: "Kevin Doyle hit pt".
                        j = i + 1
                        if (
                            self.surname(j, i, "weak")
                            and self.cap[j]
                            and not _misspelt_place(self.low[j])
                            and not self.place_after(j + 1)
                        ):
                            end = j + 1
            if end is not None:
                found.append((start, end))
                i = end
            else:
                i += 1
        return found


def redact_names(text: str) -> tuple[str, list[PiiKind]]:
    """Replace names of people with ``[redacted]``."""
    names, british = lexicon()
    for w in _WORDS.findall(text):
        low = w.lower()
        if low in _CUE_WORDS or (w[0].isupper() and low in names) or low.startswith(("pt'", "pts")):
            break
    else:
        return text, []
    doc = _Text(text, names, british)
    found = doc.find()
    if not found:
        return text, []
    out = []
    last = 0
    for start, end in found:
        s = doc.spans[start][0]
        e = doc.spans[end - 1][1]
        out.append(text[last:s])
        out.append(REDACTED)
        last = e
    out.append(text[last:])
    return "".join(out), ["person_name"]
