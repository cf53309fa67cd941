"""The free-text guard: personal data out of location descriptions, denying by default.

ED staff type the place of assault under pressure, and some of what they type identifies
a person. Anything that does is treated as personal data unless it is plainly part of the
place of assault. :func:`redact` runs the steps below in order over one text; each step
works on the previous step's output, and every placeholder is bracketed and digit-free,
so a later step never re-reads a redacted value.

1. **E-mail addresses** → ``[redacted]``.
2. **Dates of birth**: a date after a birth word (``DOB``, ``d.o.b.``, ``date of birth``,
   ``born``, ``b.``), in any common form (``3/3/87``, ``03.03.1987``, ``1987-03-03``,
   ``3rd March 1987``, ``March 3rd, 1987``, ``03-Mar-1987``), or a year or month and year
   after a birth word; and any full date at least :data:`OLD_DATE_YEARS` years old even
   without a birth word (a location description has no other reason to hold one). The
   birth word goes with the date. Recent dates ("03/05/2025 o/s the Albert") stay.
3. **National Insurance numbers** (two letters, six digits, a letter; spaced or not).
4. **Numbers after an identifying word**: NHS/CHI, MRN, hospital/unit/PAS/K number,
   patient ID, NI number, crime/CAD reference. The word stays ("NHS no [redacted]"); any
   number with 4 or more digits after it goes, whatever its check digit.
5. **Hospital numbers with a letter prefix** (``RJ1-4567890``, ``K1234567``): letters,
   then 5 or more digits.
6. **Phone numbers** in UK shapes (``(020) 7946 0000``, ``+44 7700 900123``).
7. **Every other run of 7 or more digits** (single spaces or dashes between digits
   allowed): ten digits passing the NHS check are NHS numbers, UK phone shapes are phone
   numbers, the rest identifiers. A date written with slashes or dots (``03/05/2025``)
   is not a run; one written with dashes (``03-05-2025``) is, and goes.
8. **The patient's home address**, when the text says home, address, lives, resides, flat,
   "his/her/… house" or "pt's" followed by a number: each house number with its street
   ("12 Acre Lane", "Flat 3, 12a Acre Lane"), flat number, full postcode and London
   postcode district becomes ``[home address]`` (which the geocoder classes as home) —
   unless the nearest cue before it marks the place of assault ("o/s 123 Walworth Road,
   pt lives at …": the first address stays, the second goes).
9. **Names of people**: see :mod:`ingest.pipeline.pii_names`.

:func:`redact` returns the text and the kinds found (never the values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from . import pii_names
from .types import PiiKind

REDACTED = "[redacted]"
HOME_ADDRESS = "[home address]"
# A full date this many years old or more is a date of birth, with or without a birth word.
OLD_DATE_YEARS = 5

# -- step 1: e-mail --------------------------------------------------------------------
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# -- step 2: dates of birth ------------------------------------------------------------
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:(?:19|20)\d{2}|'?\d{2})"
# Named groups: d/m/y for numeric day-first dates, Y/M/D for ISO, td/tm/ty and md/mm/my
# for dates with a month name (day first or month first).
_DATE_BODY = (
    r"(?:(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})"
    r"|(?P<Y>(?:19|20)\d{2})[/.\-](?P<M>\d{1,2})[/.\-](?P<D>\d{1,2})"
    rf"|(?P<td>{_DAY})(?:\s+of)?[\s\-/.]*(?P<tm>{_MON})\.?,?[\s\-/.]*(?P<ty>{_YEAR})"
    rf"|(?P<mm>{_MON})\.?\s+(?P<md>{_DAY}),?\s+(?P<my>{_YEAR}))"
)
_DATE = re.compile(rf"(?<![\w/.\-]){_DATE_BODY}(?![\w/]|[.\-]\d)", re.IGNORECASE)
_BIRTH_WORD = (
    r"\b(?:dob|d\s?\.\s?o\s?\.\s?b\b\.?|d/o/b|date\s+of\s+birth|birth\s*date|birthday|"
    r"born(?:\s+on|\s+in)?|b\.)"
)
_DOB = re.compile(
    rf"{_BIRTH_WORD}\s*[:.\-]{{0,2}}\s*(?:{_DATE_BODY}|(?:{_MON}\.?\s+)?{_YEAR}\b)",
    re.IGNORECASE,
)

# -- steps 3 to 7: identifiers ------------------------------------------------------------
_NINO = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ID_CONTEXT = re.compile(
    r"\b(?:"
    r"(?P<nhs>nhs|chi)(?:\s*(?:no|num|number|#)\b)?"
    r"|(?P<hosp>mrn|m\.r\.n|hosp(?:ital)?\.?\s*(?:no|num|number|id)\b|unit\s*(?:no|number)\b"
    r"|pas\s*(?:no|number|id)?\b|k\s*no\b|crn|case\s*(?:no|number)\b"
    r"|(?:pt|patient)\s*(?:id|no|number)\b)"
    r"|(?P<ni>ni\s*(?:no|number)\b|nino|national\s+insurance(?:\s*(?:no|number)\b)?)"
    r"|(?P<ref>(?:crime|police|cad|incident)\s*ref(?:erence)?(?:\s*(?:no|number)\b)?"
    r"|ref(?:erence)?(?:\s*(?:no|number)\b)?|cad)"
    r")\b\.?\s*[:#=\-]{0,2}\s*"
    r"(?P<id>[A-Za-z]{0,4}[ \-/]?\d(?:[A-Za-z\d]|[ \-/](?=\d))*)",
    re.IGNORECASE,
)
_ID_KIND: dict[str, PiiKind] = {
    "nhs": "nhs_number",
    "hosp": "hospital_number",
    "ni": "ni_number",
    "ref": "identifier",
}
_LETTER_ID = re.compile(r"(?<![\w-])(?:[A-Z]{1,3}\d{1,3} \d{6,}|[A-Za-z]{1,4}\d{0,3}[-/]?\d{5,})\b")
_PHONE = re.compile(
    r"(?<![\d])(?:"
    r"(?:\+44\s?(?:\(0\)\s?)?|\(?0)7\d{3}\)?[\s-]?\d{3}[\s-]?\d{3}"  # mobile
    r"|(?:\+44\s?(?:\(0\)\s?)?|\(?0)20\)?[\s-]?\d{4}[\s-]?\d{4}"  # London
    r"|(?:\+44\s?(?:\(0\)\s?)?|\(?0)1\d{2,3}\)?[\s-]?\d{3}[\s-]?\d{3,4}"  # other geographic
    r"|(?:\+44\s?|0)[38]00[\s-]?\d{3}[\s-]?\d{3,4}"
    r")(?![\d])"
)
_RUN = re.compile(r"\+?(?<!\d)\d(?:(?:[ \-]|\s-\s)?\d){6,}(?!\d)")

# -- step 8: home addresses -------------------------------------------------------------
_HOME_TRIGGER = re.compile(
    r"\b(?:home|address(?:es)?|addr|lives?|living|lived|resides?|residing|resident|residence|"
    r"flat|bedsit|(?:his|her|their|my|own|[a-z]+'?s)\s+(?:house|gaff)|"
    r"(?:pt|patient)'?s(?=\s*,?\s*(?:own\s+)?(?:\d|[a-z]{1,2}\d)))\b",
    re.IGNORECASE,
)
# "walking home", "care home": no home address follows.
_NOT_HOME_BEFORE = re.compile(
    r"(?:walk(?:ing|ed)?|going|went|way|heading|head(?:ed)?|travell?ing|cycling|driving|"
    r"run(?:ning)?|care|nursing|children'?s|residential)\s+$",
    re.IGNORECASE,
)
_NOT_HOME_AFTER = re.compile(r"\s*(?:office|base|bargains|ground|stadium)\b", re.IGNORECASE)
_PUBLIC_CUE = re.compile(
    r"(?:\bo/s\b|\b(?:os|outside|opp|opposite|nr|near|junction|jct|corner\s+of|by|behind|"
    r"workplace|work|shop|store|pub|bar|club|station|stn|park|school|college|"
    r"bus\s+stop)\b)",
    re.IGNORECASE,
)
_SUFFIX = (
    r"(?:street|st|road|rd|lane|ln|avenue|ave|av|close|cl|court|ct|crescent|cres|drive|dr|"
    r"gardens|gdns|grove|gr|place|pl|square|sq|terrace|terr|ter|way|walk|row|hill|rise|mews|"
    r"parade|pde|green|estate|est|house|mansions|tower|towers|point|lodge|buildings|villas|"
    r"yard|wharf|path|view|vale|park|gate|broadway|highway|hwy|embankment|passage|quay|"
    r"circus|market|approach|boulevard|end|side|wood|field|fields|common|reach|heights)"
)
_NUM = r"\d{1,4}[a-z]?(?:\s?[-/]\s?\d{1,4}[a-z]?)?"
_FLAT = r"(?:flat|apt|apartment|room)\s*\d{1,4}[a-z]?"
_WORD = r"[a-z][a-z'&.-]*"
_ADDRESS = re.compile(
    rf"(?:{_FLAT}\s*,?\s*)?\b{_NUM},?\s+(?:{_WORD}\s+){{0,3}}?{_SUFFIX}(?:\s+{_SUFFIX})*\b\.?"
    rf"|{_FLAT}(?:\s*,?\s*(?:{_WORD}\s+){{0,2}}?{_SUFFIX}\b)?"
    r"|\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b"  # full postcode
    r"|\b(?:e|ec|n|nw|se|sw|w|wc|br|cr|da|en|ha|ig|kt|rm|sm|tn|tw|ub|wd)\d[a-z\d]?\b",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^[\s,]*(?:london\b[\s,]*)?$", re.IGNORECASE)
_HOME_AFTER = re.compile(
    r"^\s*[-,(\[]*\s*(?:which\s+is\s+|is\s+)?(?:(?:pt|patient)'?s\s+|his\s+|her\s+|their\s+|"
    r"own\s+)?(?:home|address|flat|house|residence)\b",
    re.IGNORECASE,
)

Step = Callable[[str], tuple[str, list[PiiKind]]]


def _nhs_valid(digits: str) -> bool:
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(digits[9])


def _this_year() -> int:
    return datetime.now(UTC).year


def _year(text: str) -> int:
    y = int(text.lstrip("'"))
    if len(text.lstrip("'")) == 2:
        y += 2000 if y <= _this_year() % 100 + 1 else 1900
    return y


def _date_year(m: re.Match[str]) -> int | None:
    """The year of a matched date, or None when the parts are not a calendar date."""
    g = m.groupdict()
    if g["d"] is not None:
        day, month, year = int(g["d"]), int(g["m"]), g["y"]
        if month > 12 and day <= 12:  # American order
            day, month = month, day
    elif g["Y"] is not None:
        day, month, year = int(g["D"]), int(g["M"]), g["Y"]
    elif g["td"] is not None:
        day, month, year = int(re.sub(r"\D", "", g["td"])), _MONTHS[g["tm"][:3].lower()], g["ty"]
    else:
        day, month, year = int(re.sub(r"\D", "", g["md"])), _MONTHS[g["mm"][:3].lower()], g["my"]
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return _year(year)


def _is_old(m: re.Match[str]) -> bool:
    year = _date_year(m)
    return year is not None and year <= _this_year() - OLD_DATE_YEARS


def _emails(text: str) -> tuple[str, list[PiiKind]]:
    if "@" not in text:
        return text, []
    out, n = EMAIL.subn(REDACTED, text)
    return out, ["email"] if n else []


def _dates_of_birth(text: str) -> tuple[str, list[PiiKind]]:
    found = 0

    def with_word(m: re.Match[str]) -> str:
        nonlocal found
        found += 1
        return REDACTED

    out = _DOB.sub(with_word, text)

    def bare(m: re.Match[str]) -> str:
        nonlocal found
        if _is_old(m):
            found += 1
            return REDACTED
        return m.group(0)

    out = _DATE.sub(bare, out)
    return out, ["date_of_birth"] if found else []


def _ni_numbers(text: str) -> tuple[str, list[PiiKind]]:
    out, n = _NINO.subn(REDACTED, text)
    return out, ["ni_number"] if n else []


def _context_ids(text: str) -> tuple[str, list[PiiKind]]:
    kinds: list[PiiKind] = []

    def replace(m: re.Match[str]) -> str:
        ident = m.group("id")
        if sum(c.isdigit() for c in ident) < 4:
            return m.group(0)
        group = next(g for g in ("nhs", "hosp", "ni", "ref") if m.group(g))
        kind = _ID_KIND[group]
        if kind not in kinds:
            kinds.append(kind)
        # Keep the identifying word; only the number goes.
        return m.group(0)[: m.start("id") - m.start()] + REDACTED

    return _ID_CONTEXT.sub(replace, text), kinds


def _letter_ids(text: str) -> tuple[str, list[PiiKind]]:
    out, n = _LETTER_ID.subn(REDACTED, text)
    return out, ["hospital_number"] if n else []


def _phones(text: str) -> tuple[str, list[PiiKind]]:
    out, n = _PHONE.subn(REDACTED, text)
    return out, ["phone"] if n else []


def _digit_runs(text: str) -> tuple[str, list[PiiKind]]:
    kinds: list[PiiKind] = []

    def replace(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = "".join(c for c in raw if c.isdigit())
        kind: PiiKind
        if len(digits) == 10 and _nhs_valid(digits):
            kind = "nhs_number"
        elif (raw.startswith("+44") or digits.startswith("0")) and 10 <= len(digits) <= 13:
            kind = "phone"
        else:
            kind = "identifier"
        if kind not in kinds:
            kinds.append(kind)
        return REDACTED

    return _RUN.sub(replace, text), kinds


def _home_triggers(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _HOME_TRIGGER.finditer(text):
        word = m.group(0).lower()
        if word == "home" and (
            _NOT_HOME_BEFORE.search(text, 0, m.start()) or _NOT_HOME_AFTER.match(text, m.end())
        ):
            continue
        spans.append(m.span())
    return spans


def _home_addresses(text: str) -> tuple[str, list[PiiKind]]:
    triggers = _home_triggers(text)
    if not triggers:
        return text, []
    # Address pieces, merged when only spaces, commas or "London" lie between them.
    spans: list[list[int]] = []
    for m in _ADDRESS.finditer(text):
        if spans and _JOIN.match(text[spans[-1][1] : m.start()]):
            spans[-1][1] = m.end()
        else:
            spans.append([m.start(), m.end()])
    if not spans:
        return text, []
    # Cues inside an address ("244 Friary Park Court") say nothing about it.
    inside = [range(s, e) for s, e in spans]
    cues = sorted(
        c
        for c in [(s, e, "home") for s, e in triggers]
        + [(m.start(), m.end(), "public") for m in _PUBLIC_CUE.finditer(text)]
        if not any(c[0] in r for r in inside)
    )
    redact: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        after = _HOME_AFTER.match(text[end:nxt])
        if after and not text[end + after.end() : nxt].strip(" ,:-"):
            redact.append((start, end))  # "12 Acre Lane (pt's home)"
            continue
        before = [c for c in cues if c[1] <= start]
        if before:
            if before[-1][2] == "home":
                redact.append((start, end))
        else:
            redact.append((start, end))  # no cue either way: a home is mentioned, deny
    if not redact:
        return text, []
    out = []
    last = 0
    for start, end in redact:
        out.append(text[last:start])
        out.append(HOME_ADDRESS)
        last = end
    out.append(text[last:])
    return "".join(out), ["address"]


# Order matters: e-mails and birth dates before bare digit runs; identifiers before the
# address step (so a house-number pattern never sees them); names last.
STEPS: tuple[Step, ...] = (
    _emails,
    _dates_of_birth,
    _ni_numbers,
    _context_ids,
    _letter_ids,
    _phones,
    _digit_runs,
    _home_addresses,
    pii_names.redact_names,
)


def redact(text: str) -> tuple[str, list[PiiKind]]:
    """Replace personal data in free text; returns (text, kinds found, in step order)."""
    kinds: list[PiiKind] = []
    out = text
    steps = STEPS if _HAS_DIGIT(text) else _STEPS_WITHOUT_DIGITS
    for step in steps:
        out, found = step(out)
        for k in found:
            if k not in kinds:
                kinds.append(k)
    return out, kinds


# Every step but the first and the last needs a digit: most descriptions skip them.
_STEPS_WITHOUT_DIGITS: tuple[Step, ...] = (_emails, pii_names.redact_names)
_HAS_DIGIT = re.compile(r"\d").search
