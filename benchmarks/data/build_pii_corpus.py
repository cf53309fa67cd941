"""Build the labelled corpus for the free-text personal-data guard, deterministically.

    python benchmarks/data/build_pii_corpus.py [--dir data/gazetteer]

Writes ``pii_corpus.jsonl`` next to this file: one synthetic location description a line,
as ED staff type them, with its labels:

* ``kinds``: the kinds of personal data in the line (empty for an ordinary line);
* ``values``: ``[kind, value]`` pairs, each a fragment that must not survive the guard;
* ``keep``: fragments that must survive (the place of assault in a line that also holds
  personal data);
* ``ordinary``: true when the line holds no personal data and must come through unchanged;
* ``home``: true when the line is about the patient's home (the geocoder must still class
  the redacted text as home).

Everything personal is invented: names are common first names and surnames put together
at random, NHS numbers are in the 999 test range (or invented CHI-style numbers starting
with 0), phone numbers are in Ofcom's drama ranges, NI numbers and hospital numbers are
random. Places are real: streets, pubs, stations and postcodes come from the open
gazetteer in ``data/gazetteer``, and the house numbers of public places are real-looking.
Uses only the standard library.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

SEED = 20251204
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Invented people: common first names and surnames of London, combined at random.
FIRST = [
    "John",
    "Sharon",
    "Kevin",
    "Darren",
    "Chloe",
    "Jade",
    "Liam",
    "Connor",
    "Mohammed",
    "Aisha",
    "Fatima",
    "Priya",
    "Ravi",
    "Chidi",
    "Tunde",
    "Kwame",
    "Bukola",
    "Oluwaseun",
    "Adebayo",
    "Emeka",
    "Ngozi",
    "Shanice",
    "Tyrone",
    "Jermaine",
    "Marcus",
    "Leon",
    "Kai",
    "Reece",
    "Jayden",
    "Precious",
    "Grace",
    "Agnieszka",
    "Piotr",
    "Andrei",
    "Ionut",
    "Mehmet",
    "Ayse",
    "Kemal",
    "Abdi",
    "Hodan",
    "Farah",
    "Bilal",
    "Imran",
    "Nadia",
    "Samira",
    "Daniel",
    "Jamie",
    "Ryan",
    "Georgia",
    "Holly",
    "Stacey",
    "Kerry",
    "Wayne",
    "Dean",
    "Gary",
    "Tracy",
    "Michelle",
    "Natalie",
    "Charlotte",
    "Olivia",
    "Amelia",
    "Oliver",
    "Harry",
    "George",
    "Jack",
    "Alfie",
    "Ellie",
    "Sophie",
    "Mia",
    "Lily",
    "Kayleigh",
    "Demi",
    "Callum",
    "Ashley",
    "Bradley",
    "Terry",
    "Lisa",
    "Karen",
    "Sandra",
    "Paul",
    "Steven",
    "Mark",
    "David",
    "Michael",
    "Sarah",
    "Emma",
    "Laura",
    "Rebecca",
    "Joshua",
    "Tyler",
    "Nathan",
    "Aaron",
    "Dylan",
    "Ahmed",
    "Yusuf",
    "Zainab",
    "Amina",
    "Kofi",
    "Ama",
    "Yaw",
    "Segun",
    "Folake",
    "Tariq",
    "Sanjay",
    "Deepa",
    "Anil",
    "Lakshmi",
    "Tomasz",
    "Katarzyna",
    "Marta",
    "Vasile",
    "Elena",
    "Ioana",
    "Mustafa",
    "Hamza",
    "Leah",
    "Ruby",
    "Poppy",
]
SURNAME = [
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Lewis",
    "Martin",
    "Jackson",
    "Clarke",
    "Turner",
    "Hill",
    "Scott",
    "Cooper",
    "Morris",
    "Ward",
    "Moore",
    "King",
    "Watson",
    "Baker",
    "Harrison",
    "Morgan",
    "Patel",
    "Khan",
    "Ali",
    "Ahmed",
    "Hussain",
    "Begum",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Owusu",
    "Nowak",
    "Kowalski",
    "Popescu",
    "Yilmaz",
    "Campbell",
    "Murphy",
    "O'Brien",
    "Kelly",
    "Doyle",
    "Walsh",
    "Cole",
    "Okonkwo",
    "Asante",
    "Boateng",
    "Osei",
    "Chowdhury",
    "Rahman",
    "Islam",
    "Miah",
    "Sharma",
    "Singh",
    "Kaur",
    "Gill",
    "Wisniewski",
    "Ionescu",
    "Demir",
    "Kaya",
    "Farah",
    "Warsame",
    "Brennan",
    "Gallagher",
    "Fletcher",
    "Barnes",
    "Reid",
    "Grant",
    "Francis",
    "Bennett",
    "Lawrence",
]
RELATIONS = (
    "partner",
    "ex partner",
    "ex-partner",
    "boyfriend",
    "ex bf",
    "girlfriend",
    "husband",
    "wife",
    "brother",
    "sister",
    "cousin",
    "uncle",
    "neighbour",
    "friend",
    "mate",
    "flatmate",
    "stepdad",
    "son",
    "daughter",
)
ASSAULT_VERBS = ("assaulted", "attacked", "punched", "hit", "kicked", "stabbed", "slapped")

# Real London places (public): shops, hospitals, landmarks, stations and junctions,
# including the ones whose names contain a person's name.
PUBLIC_PLACES = (
    "outside Tesco Express Camberwell SE5 8TR",
    "o/s 123 Walworth Road",
    "John Lewis Oxford Street",
    "outside John Lewis, Oxford St",
    "Marks & Spencer Brixton",
    "o/s Marks and Spencer Lewisham",
    "King's Cross St Pancras",
    "o/s Kings Cross stn",
    "St Thomas' Hospital",
    "outside St Thomas hospital A&E",
    "Elephant & Castle",
    "elephant and castle roundabout",
    "The Duke of Wellington pub",
    "outside the Lord Nelson",
    "in the Prince Albert",
    "Peter Jones, Sloane Square",
    "Harvey Nichols Knightsbridge",
    "William Hill, Rye Lane",
    "Paddy Power Peckham",
    "Sainsbury's Whitechapel",
    "Nelson's Column",
    "Victoria Park",
    "Alexandra Palace",
    "Albert Embankment",
    "Queen Elizabeth Hospital Woolwich",
    "Princess Royal University Hospital",
    "King George Hospital",
    "St George's Hospital Tooting",
    "St Mary's Paddington",
    "Guy's Hospital",
    "Charing Cross",
    "Seven Sisters",
    "Shepherd's Bush Green",
    "Tottenham Court Road",
    "Selhurst Park",
    "Craven Cottage",
    "Brixton Academy",
    "O2 Academy Brixton",
    "Camden Market",
    "Borough Market",
    "Liverpool Street station",
    "Stanley Road, Wood Green",
    "Harold Hill",
    "St John's Wood",
    "Clapham Common",
    "Peckham Rye",
    "Burgess Park",
    "Victoria Coach Station",
    "Westfield Stratford",
    "Wetherspoons Leicester Square",
    "McDonald's, Old Kent Road",
    "Nando's Clapham Junction",
    "Greggs Lewisham High St",
    "Boots Wood Green",
    "Primark Oxford Street",
    "JD Sports Croydon",
    "Morrisons Peckham",
    "Lidl Walworth Road",
    "Costa, Canary Wharf",
    "Greenwich Park",
    "Hyde Park Corner",
    "Marble Arch",
    "Trafalgar Square",
    "Leicester Square",
    "Piccadilly Circus",
    "Covent Garden",
    "Brick Lane",
    "Columbia Road",
    "Ridley Road Market",
    "East Street Market",
    "Tower Bridge",
    "London Bridge",
    "Waterloo Bridge",
    "the Royal London",
    "Whipps Cross",
    "Lewisham Shopping Centre",
    "Elephant Park",
    "Windrush Square",
    "Jack Straw's Castle",
    "The Ship, Wandsworth",
    "Thomas Cook Walworth Rd",
    "Sue Ryder shop Camberwell",
)
STREET_SUFFIX = re.compile(
    r"\s(Road|Street|Lane|Avenue|Grove|Close|Gardens|Way|Place|Terrace|Crescent|Drive|Hill|"
    r"Walk|Row|Square|Court|Green|Rise|Mews|Parade)$"
)
DISTRICT_AREAS = {
    "SE5": "Camberwell",
    "SE15": "Peckham",
    "SE17": "Walworth",
    "SW2": "Brixton",
    "SW9": "Stockwell",
    "E8": "Hackney",
    "N15": "Tottenham",
    "E1": "Whitechapel",
    "SE13": "Lewisham",
    "N7": "Holloway",
    "NW10": "Harlesden",
    "W12": "Shepherd's Bush",
    "SE1": "Southwark",
    "E15": "Stratford",
    "N1": "Islington",
    "SW17": "Tooting",
    "CR0": "Croydon",
    "E17": "Walthamstow",
}


class Places:
    """Real street names, pubs, stations and postcodes from the gazetteer."""

    def __init__(self, geo_dir: Path) -> None:
        with gzip.open(geo_dir / "london_street_names_police.csv.gz", "rt", encoding="utf-8") as f:
            names = {r["name"] for r in csv.DictReader(f)}
        self.streets = sorted(
            n for n in names if STREET_SUFFIX.search(n) and re.fullmatch(r"[A-Za-z' ]+", n)
        )
        with (geo_dir / "london_pubs_osm_2022.csv").open(encoding="utf-8") as f:
            self.pubs = sorted({r["name"] for r in csv.DictReader(f) if r["name"].isascii()})
        with (geo_dir / "tfl_london_stations.csv").open(encoding="utf-8") as f:
            self.stations = sorted({r["name"] for r in csv.DictReader(f)})
        by_district: dict[str, list[str]] = {}
        with gzip.open(
            geo_dir / "london_postcodes_codepoint_2025.csv.gz", "rt", encoding="utf-8"
        ) as f:
            for i, r in enumerate(csv.DictReader(f)):
                if i % 7 == 0:
                    pc = r["postcode"]
                    by_district.setdefault(pc.split()[0], []).append(pc)
        self.postcodes = {d: sorted(v) for d, v in by_district.items() if d in DISTRICT_AREAS}
        self.all_postcodes = sorted(p for v in by_district.values() for p in v)


class Maker:
    def __init__(self, rng: random.Random, places: Places) -> None:
        self.rng = rng
        self.p = places

    # -- pieces ---------------------------------------------------------------------
    def street(self, short: bool = False) -> str:
        s = self.rng.choice(self.p.streets)
        if short or self.rng.random() < 0.25:
            s = re.sub(r" Road$", " Rd", re.sub(r" Street$", " St", s))
        return s

    def pub(self) -> str:
        return self.rng.choice(self.p.pubs)

    def station(self) -> str:
        return self.rng.choice(self.p.stations)

    def district(self) -> str:
        return self.rng.choice(sorted(self.p.postcodes))

    def postcode(self, district: str | None = None) -> str:
        return self.rng.choice(self.p.postcodes[district or self.district()])

    def house(self) -> str:
        n = str(self.rng.randint(1, 320))
        r = self.rng.random()
        if r < 0.12:
            n += self.rng.choice("abc")
        elif r < 0.18:
            n = f"{n}-{int(n) + 2}"
        return n

    def first(self) -> str:
        return self.rng.choice(FIRST)

    def surname(self) -> str:
        return self.rng.choice(SURNAME)

    def public(self) -> str:
        r = self.rng
        return r.choice(
            (
                lambda: f"o/s {self.pub()}",
                lambda: f"{self.station()} stn",
                lambda: f"outside {self.station()} station",
                lambda: f"on {self.street()}",
                lambda: f"o/s {self.house()} {self.street()}",
                lambda: f"nr {self.street()}",
                lambda: r.choice(PUBLIC_PLACES),
            )
        )()

    # -- digits ---------------------------------------------------------------------
    def nhs(self) -> str:
        while True:
            digits = "999" + "".join(str(self.rng.randrange(10)) for _ in range(6))
            total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
            check = (11 - total % 11) % 11
            if check != 10:
                return digits + str(check)

    def chi(self) -> str:
        # Scottish CHI-style: starts with 0 (day of birth), ten digits.
        return "0" + "".join(str(self.rng.randrange(10)) for _ in range(9))

    def spaced(self, digits: str, groups: tuple[int, ...]) -> str:
        out, i = [], 0
        for g in groups:
            out.append(digits[i : i + g])
            i += g
        sep = self.rng.choice((" ", " ", "-", ""))
        return sep.join(out)

    def mobile(self) -> str:
        n = f"07700900{self.rng.randrange(1000):03d}"
        return self.rng.choice(
            (
                n,
                f"{n[:5]} {n[5:]}",
                f"{n[:5]} {n[5:8]} {n[8:]}",
                f"+44 {n[1:5]} {n[5:]}",
                f"+447700900{n[-3:]}",
                f"{n[:5]}-{n[5:]}",
            )
        )

    def landline(self) -> str:
        r = self.rng
        return r.choice(
            (
                lambda: f"020 7946 0{r.randrange(1000):03d}",
                lambda: f"(020) 7946 0{r.randrange(1000):03d}",
                lambda: f"0207946{r.randrange(1000):04d}",
                lambda: f"01632 960{r.randrange(1000):03d}",
                lambda: f"0161 496 0{r.randrange(1000):03d}",
                lambda: f"+44 20 7946 0{r.randrange(1000):03d}",
            )
        )()

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + "".join(
            str(self.rng.randrange(10)) for _ in range(n - 1)
        )

    def nino(self) -> str:
        r = self.rng
        a = r.choice("ABCEGHJKLMNOPRSTWXYZ") + r.choice("ABCEGHJKLMNPRSTWXYZ")
        if a in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            a = "QQ"
        d = self.digits(6)
        s = r.choice("ABCD")
        form = r.choice(
            (
                f"{a}{d}{s}",
                f"{a} {d[:2]} {d[2:4]} {d[4:]} {s}",
                f"{a}{d[:2]} {d[2:4]} {d[4:]}{s}",
            )
        )
        return form.lower() if r.random() < 0.2 else form

    def email(self) -> str:
        r = self.rng
        f, s = self.first().lower(), self.surname().lower().replace("'", "")
        user = r.choice((f"{f}.{s}", f"{f}{s}{r.randint(1, 99)}", f"{f[0]}{s}", f"{s}_{f}"))
        dom = r.choice(("example.com", "example.co.uk", "example.org", "mail.example.net"))
        return f"{user}@{dom}"

    def dob(self) -> str:
        r = self.rng
        y, m, d = r.randint(1940, 2012), r.randint(1, 12), r.randint(1, 28)
        months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ]
        mon = months[m - 1]
        ordinal = (
            f"{d}{'th' if 10 <= d % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')}"
        )
        return r.choice(
            (
                f"{d:02d}/{m:02d}/{y}",
                f"{d}/{m}/{y % 100:02d}",
                f"{d}.{m}.{y % 100:02d}",
                f"{d:02d}-{m:02d}-{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{ordinal} {mon} {y}",
                f"{d} {mon[:3]} {y}",
                f"{mon} {ordinal}, {y}",
                f"{ordinal} of {mon} {y}",
                f"{d:02d}-{mon[:3]}-{y}",
                f"{d} {mon} {y % 100:02d}",
                f"{d:02d}.{m:02d}.{y}",
            )
        )


Line = dict[str, object]


def line(
    text: str,
    values: list[tuple[str, str]] = (),  # type: ignore[assignment]
    keep: tuple[str, ...] = (),
    home: bool = False,
) -> Line:
    values = list(values)
    for _, v in values:
        assert v in text, (v, text)
    keep = tuple(k for k in keep if k in text)  # templates without the place drop it
    return {
        "text": text,
        "kinds": sorted({k for k, _ in values}),
        "values": [list(kv) for kv in values],
        "keep": list(keep),
        "ordinary": not values,
        "home": home,
    }


def identifiers(m: Maker) -> list[Line]:
    r = m.rng
    out: list[Line] = []
    # The fault's verbatim examples first.
    out.append(line("NHS no 0726240125", [("nhs_number", "0726240125")]))
    out.append(line("MRN 12345678", [("hospital_number", "12345678")]))
    out.append(line("hosp no RJ1-4567890", [("hospital_number", "RJ1-4567890")]))
    for _ in range(40):
        nhs = r.choice((m.nhs(), m.nhs(), m.chi()))
        shown = m.spaced(nhs, (3, 3, 4))
        place = m.public()
        tmpl = r.choice(
            (
                "NHS no {n}",
                "pt NHS number: {n}, {p}",
                "{p} NHS {n}",
                "nhs# {n} {p}",
                "{p} - {n}",
                "CHI {n} (visitor from Glasgow) {p}",
                "{p}, pt id {n}",
                "{n}",
            )
        )
        out.append(line(tmpl.format(n=shown, p=place), [("nhs_number", shown)], keep=(place,)))
    for _ in range(30):
        place = m.public()
        num = r.choice(
            (
                m.digits(8),
                m.digits(7),
                f"{r.choice(('RJ1', 'RJZ', 'R1H', 'K', 'A', 'RAL', 'M'))}{r.choice(('-', '', ' '))}"
                f"{m.digits(7)}",
                f"{r.choice(('RJ1', 'K', 'H', 'RYJ'))}{m.digits(6)}",
            )
        )
        tmpl = r.choice(
            (
                "MRN {n}",
                "MRN: {n} {p}",
                "hosp no {n}",
                "hospital number {n}, {p}",
                "{p} (hosp no. {n})",
                "unit no {n}",
                "{p} pt ID {n}",
                "{p} K no {n}",
            )
        )
        out.append(line(tmpl.format(n=num, p=place), [("hospital_number", num)], keep=(place,)))
    for _ in range(40):
        place = m.public()
        phone = r.choice((m.mobile(), m.landline()))
        tmpl = r.choice(
            (
                "{p}, call {n}",
                "{p} tel {n}",
                "{p} - mum's mob {n}",
                "pt contact no {n}",
                "{p} ring {n} for info",
                "{n} {p}",
                "{p} phone:{n}",
            )
        )
        out.append(line(tmpl.format(n=phone, p=place), [("phone", phone)], keep=(place,)))
    for _ in range(20):
        place = m.public()
        ni = m.nino()
        tmpl = r.choice(("NI no {n}", "{p} NINO {n}", "{p}, national insurance {n}", "{p} {n}"))
        out.append(line(tmpl.format(n=ni, p=place), [("ni_number", ni)], keep=(place,)))
    for _ in range(20):
        place = m.public()
        mail = m.email()
        tmpl = r.choice(("{p} email {n}", "{n} {p}", "{p} (contact {n})", "{p}, e-mail: {n}"))
        out.append(line(tmpl.format(n=mail, p=place), [("email", mail)], keep=(place,)))
    for _ in range(20):
        place = m.public()
        num = r.choice((m.digits(7), m.digits(9), m.spaced(m.digits(8), (4, 4)), m.digits(12)))
        tmpl = r.choice(("{p} ref {n}", "{p} {n}", "{n} {p}", "{p} crime ref {n}"))
        out.append(line(tmpl.format(n=num, p=place), [("identifier", num)], keep=(place,)))
    return out


def dates_of_birth(m: Maker) -> list[Line]:
    r = m.rng
    out: list[Line] = [
        line("d.o.b. 3/3/87", [("date_of_birth", "3/3/87")]),
        line("3rd March 1987", [("date_of_birth", "3rd March 1987")]),
    ]
    for _ in range(110):
        d = m.dob()
        place = m.public()
        tmpl = r.choice(
            (
                "DOB {d}",
                "d.o.b. {d}",
                "dob: {d} {p}",
                "{p}, pt DOB {d}",
                "date of birth {d}",
                "born {d}",
                "{p} (born {d})",
                "{d} {p}",
                "{p} - {d}",
                "{p} d.o.b {d}",
                "pt b. {d}, {p}",
                "{p} DoB:{d}",
            )
        )
        out.append(line(tmpl.format(d=d, p=place), [("date_of_birth", d)], keep=(place,)))
    return out


def home_addresses(m: Maker) -> list[Line]:
    r = m.rng
    out: list[Line] = [
        line(
            "pt home address 12 Acre Lane SW2 5SG",
            [("address", "12 Acre Lane"), ("address", "SW2 5SG")],
            home=True,
        ),
        line("at home SE1 7EH", [("address", "SE1 7EH")], home=True),
    ]
    for _ in range(130):
        district = m.district()
        pc = m.postcode(district)
        st = m.street()
        num = m.house()
        addr = f"{num} {st}"
        flat = f"Flat {r.randint(1, 40)}"
        place = m.public()
        kind = r.random()
        if kind < 0.45:
            tmpl = r.choice(
                (
                    "pt home address {a} {pc}",
                    "at home, {a}",
                    "pt's flat, {a} {pc}",
                    "lives at {a}",
                    "resides {a}, {pc}",
                    "home - {f}, {a}",
                    "{a} {pc} (pt's home)",
                    "assaulted at his home address {a}",
                    "pt's address: {a}, London {pc}",
                    "her flat {a}",
                    "pt lives {a} {pc}",
                    "at pt's home {a}",
                    "own home {a} {pc}",
                    "HOME ADDRESS {A} {PC}",
                    "partner's flat at {a}",
                    "{f} {a} - pt's flat",
                    "home address: {f}, {a}, {pc}",
                    "domestic at home, {a}",
                    "pt lives round the corner at {a}",
                    "address {a} {pc}",
                    "pt's home {a}",
                    "{a} {pc} - home address",
                    "at his house, {a}",
                    "pt's own flat ({a})",
                )
            )
            text = tmpl.format(a=addr, pc=pc, f=flat, A=addr.upper(), PC=pc)
            values = []
            shown_addr = addr.upper() if "{A}" in tmpl else addr
            if shown_addr in text:
                values.append(("address", shown_addr))
            if pc in text:
                values.append(("address", pc))
            if f"{flat}, {addr}" in text or f"{flat} {addr}" in text:
                values.append(("address", flat))
            out.append(line(text, values, home=True))
        elif kind < 0.7:
            tmpl = r.choice(
                (
                    "at home {pc}",
                    "pt lives in {pc}",
                    "home {pc}",
                    "home address postcode {pc}",
                    "{pc} - home",
                    "pt's home, {pc}",
                )
            )
            out.append(line(tmpl.format(pc=pc), [("address", pc)], home=True))
        else:
            # The place of assault must survive beside the redacted home address.
            tmpl = r.choice(
                (
                    "{p}, pt lives at {a} {pc}",
                    "{p} - pt's home address {a}",
                    "{p}; home address {a}, {pc}",
                    "{p}. Pt resides {a}",
                )
            )
            text = tmpl.format(p=place, a=addr, pc=pc)
            values = [("address", addr)] + ([("address", pc)] if pc in text else [])
            out.append(line(text, values, keep=(place,), home=True))
    return out


def names(m: Maker) -> list[Line]:
    r = m.rng
    out: list[Line] = [
        line(
            "assaulted by her partner John Smith",
            [("person_name", "John"), ("person_name", "Smith")],
        ),
        line("pt's mum Sharon called 999", [("person_name", "Sharon")]),
    ]
    for _ in range(160):
        f, s = m.first(), m.surname()
        rel = r.choice(RELATIONS)
        verb = r.choice(ASSAULT_VERBS)
        place = m.public()
        full = f"{f} {s}"
        choice = r.random()
        if choice < 0.55:
            tmpl, who = r.choice(
                (
                    ("{v} by her {rel} {full} {p}", "full"),
                    ("{v} by {rel} {f} {p}", "f"),
                    ("pt's {rel} {f} {v} pt {p}", "f"),
                    ("{p}, {v} by {full}", "full"),
                    ("{full} {v} pt {p}", "full"),
                    ("Mr {s} {v} pt {p}", "s"),
                    ("Mrs {s} {v} pt with bottle {p}", "s"),
                    ("Ms {full} {v} pt {p}", "full"),
                    ("Dr {s} witnessed it {p}", "s"),
                    ("pt states assailant is {full}, {p}", "full"),
                    ("known to pt as {f}, {p}", "f"),
                    ("fight with {full} {p}", "full"),
                    ("{p}, pt's mum {f} called 999", "f"),
                    ("{rel} called {f} {v} pt {p}", "f"),
                    ("{p} - man named {f} {v} pt", "f"),
                    ("{p} with {rel} {full}", "full"),
                    ("{f} (pt's {rel}) {v} pt {p}", "f"),
                    ("pt says it was her {rel}, {f} {p}", "f"),
                    ("{v} by a man called {f} {p}", "f"),
                    ("perpetrator: {full}, {p}", "full"),
                    ("{v} by {f} {p}", "f"),
                    ("her son {f} {v} her at home", "f"),
                    ("{f} {v} pt {p}", "f"),
                    ("pt was with {f} when {v} {p}", "f"),
                    ("{v} by {f}'s dog {p}", "f"),
                    ("altercation with {rel} Mr {s} {p}", "s"),
                    ("two males, {f} and {f2}, {v} pt {p}", "f+f2"),
                    ("pt's {rel} {full} drove pt to ED from {p}", "full"),
                    ("{v} by his dad's friend {f}, {p}", "f"),
                    ("{p}, brought in by {rel} {f}", "f"),
                )
            )
            f2 = m.first()
            text = tmpl.format(v=verb, rel=rel, full=full, f=f, s=s, p=place, f2=f2)
        elif choice < 0.75:
            # Typed in lower case.
            tmpl, who = r.choice(
                (
                    ("{v} by {rel} {full}", "full"),
                    ("{v} by ex {f}", "f"),
                    ("pts {rel} {f} {v} her", "f"),
                    ("{rel} {full} {v} pt at home", "full"),
                    ("{p} by {rel} {f}", "f"),
                    ("hit by {f} at the bus stop", "f"),
                    ("assaulted by his dad's friend {f}", "f"),
                    ("pt's {rel} {full}", "full"),
                )
            )
            text = tmpl.format(v=verb, rel=rel, full=full.lower(), f=f.lower(), s=s, p=place)
            f, s, full = f.lower(), s.lower(), full.lower()
        else:
            # Typed in capitals (the pipeline's cleaning turns them into Title Case).
            tmpl, who = r.choice(
                (
                    ("{V} BY {REL} {FULL}", "full"),
                    ("{V} BY EX PARTNER {F} AT HOME", "f"),
                    ("PTS {REL} {F} {V} PT", "f"),
                    ("MR {S} {V} PT", "s"),
                )
            )
            text = tmpl.format(
                V=verb.upper(), REL=rel.upper(), FULL=full.upper(), F=f.upper(), S=s.upper()
            )
            f, s, full = f.upper(), s.upper(), full.upper()
        parts = [f, f2] if who == "f+f2" else {"full": [f, s], "f": [f], "s": [s]}[who]
        keep = (place,) if place in text else ()
        home = "home" in text.lower()
        out.append(line(text, [("person_name", p) for p in parts], keep=keep, home=home))
    return out


# "Other" method descriptions: the guard reads that free text too.
METHOD_OTHER = (
    "bitten by dog",
    "hit with chair",
    "attacked by dog on estate",
    "hit by object",
    "stabbed with screwdriver",
    "kicked by horse",
    "hit with handbag",
    "struck by car",
    "slashed with Stanley knife",
    "hit with pool cue",
    "scalded with kettle",
    "pushed down stairs",
    "hit with crutch",
    "sprayed with ammonia",
    "run over by moped",
)


def ordinary(m: Maker) -> list[Line]:
    r = m.rng
    out: list[Line] = [line(p) for p in PUBLIC_PLACES + METHOD_OTHER]
    makers: list[Callable[[], str]] = [
        lambda: f"o/s {m.house()} {m.street()}",
        lambda: f"{m.house()} {m.street()} {m.postcode()}",
        lambda: (
            f"outside {r.choice(('Tesco Express', 'Sainsburys Local', 'Co-op', 'Lidl'))} "
            f"{DISTRICT_AREAS[(d := m.district())]} {m.postcode(d)}"
        ),
        lambda: f"in the {m.pub()}",
        lambda: f"outside {m.pub()} pub",
        lambda: f"{m.pub()}, {m.street()}",
        lambda: f"{m.station()} stn",
        lambda: f"platform {r.randint(1, 12)} at {m.station()}",
        lambda: f"on the {r.randint(1, 490)} bus nr {m.station()} station",
        lambda: f"bus stop on {m.street()} (stop {r.randint(10000, 99999)})",
        lambda: f"junction of {m.street()} and {m.street()}",
        lambda: f"assaulted by unknown male o/s {m.pub()}",
        lambda: f"punched by stranger at bus stop on {m.street()}",
        lambda: f"hit by bouncer at club on {m.street()}",
        lambda: f"stabbed by group of youths nr {m.station()} stn",
        lambda: f"walking home along {m.street()}",
        lambda: f"on way home from {m.pub()}",
        lambda: (
            f"{r.randint(1, 28):02d}/0{r.randint(1, 9)}/2025 approx 23:{r.randint(10, 59)} "
            f"o/s {m.pub()}"
        ),
        lambda: f"at {r.randint(18, 23)}:{r.randint(10, 59)} on {m.street()}",
        lambda: f"{m.postcode()}",
        lambda: f"nr {m.district()}",
        lambda: f"o/s {m.house()} {m.street()} {m.postcode()}",
        lambda: f"Unit {r.randint(1, 20)}, {m.street()}",
        lambda: f"outside {m.station()} tube, {m.district()}",
        lambda: f"{m.street()} estate stairwell",
        lambda: f"outside block of flats on {m.street()}",
        lambda: f"car park behind {m.pub()}",
        lambda: f"{r.choice(PUBLIC_PLACES)}, {r.randint(1, 3)} males",
        lambda: f"fight in {m.pub()} - glassed",
        lambda: f"{m.street().upper()} {m.postcode()}",
        lambda: f"OUTSIDE {m.pub().upper()}",
        lambda: f"by {m.station()} station",
        lambda: f"with friends at {m.pub()}",
        lambda: f"pt's workplace, {m.house()} {m.street()}",
        lambda: f"assaulted by security at {r.choice(PUBLIC_PLACES)}",
        lambda: f"A&E waiting room, {r.choice(('St Thomas', 'Kings', 'Homerton', 'Whittington'))}",
    ]
    while len(out) < 330:
        out.append(line(r.choice(makers)()))
    return out


# Lines written in other words than the templates above and added after the guard was
# tuned on the rest: the benchmark reports them apart, as a check on over-fitting.
HELD_OUT: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "pt assaulted by ex-boyfriend Dwayne outside Peckham Rye station",
        (("person_name", "Dwayne"),),
    ),
    (
        "hit over head by stepfather, Gary Mitchell, at Lewisham bus garage",
        (("person_name", "Gary"), ("person_name", "Mitchell")),
    ),
    ("Pt states 'Big Mike' punched him in Brixton", (("person_name", "Mike"),)),
    (
        "attacked by group incl. Jordan and Kyle Hughes nr Elephant & Castle",
        (("person_name", "Jordan"), ("person_name", "Kyle"), ("person_name", "Hughes")),
    ),
    ("sister's boyfriend Callum headbutted pt", (("person_name", "Callum"),)),
    ("pt's carer (Joy) witnessed assault at Whitechapel", (("person_name", "Joy"),)),
    ("neighbour at no. 4 - Mrs Adeyemi - hit pt with broom", (("person_name", "Adeyemi"),)),
    (
        "pt and partner Shannon O'Neill argued, she threw a glass, Stratford",
        (("person_name", "Shannon"), ("person_name", "O'Neill")),
    ),
    ("pt punched by doorman named Viktor at Fabric nightclub", (("person_name", "Viktor"),)),
    (
        "kicked by Jamal Ahmed and another male o/s KFC Rye Lane",
        (("person_name", "Jamal"), ("person_name", "Ahmed")),
    ),
    ("attacked by dad (Winston) in Tottenham", (("person_name", "Winston"),)),
    ("STABBED BY COUSIN KOJO OUTSIDE BARKING STATION", (("person_name", "KOJO"),)),
    ("pt's uncle femi hit her with belt at home", (("person_name", "femi"),)),
    (
        "assault by former partner Mr D. Kowalczyk on Mare Street",
        (("person_name", "Kowalczyk"),),
    ),
    (
        "pt says Tasha and Rochelle jumped her on Holloway Road",
        (("person_name", "Tasha"), ("person_name", "Rochelle")),
    ),
    ("daughter Amira brought pt in after fight at Romford market", (("person_name", "Amira"),)),
    (
        "assaulted by husband Rajesh Kumar at family home",
        (("person_name", "Rajesh"), ("person_name", "Kumar")),
    ),
    (
        "fight in Wetherspoons with a man called Stuart Bell",
        (("person_name", "Stuart"), ("person_name", "Bell")),
    ),
    ("altercation with landlord Mr Georgiou, Green Lanes", (("person_name", "Georgiou"),)),
    ("pt's friend Abdirahman was also stabbed, Camden Town", (("person_name", "Abdirahman"),)),
    (
        "assaulted at her home, 27 Rectory Grove SW4",
        (("address", "27 Rectory Grove"), ("address", "SW4")),
    ),
    ("pt lives at flat 9, Wyndham Estate, SE5", (("address", "flat 9"), ("address", "SE5"))),
    ("home address given as 5 Tulse Hill", (("address", "5 Tulse Hill"),)),
    ("DV at home - 88b Stockwell Park Road", (("address", "88b Stockwell Park Road"),)),
    (
        "pt resides 14 Coldharbour Lane, Brixton, SW9 8PR",
        (("address", "14 Coldharbour Lane"), ("address", "SW9 8PR")),
    ),
    (
        "assault at pts house 3 Amersham Grove SE14 6LG",
        (("address", "3 Amersham Grove"), ("address", "SE14 6LG")),
    ),
    ("in the kitchen at home (61 Leander Road)", (("address", "61 Leander Road"),)),
    ("her ex came to her flat at 102 Kender Street", (("address", "102 Kender Street"),)),
    ("pt's home E8 3PH", (("address", "E8 3PH"),)),
    ("at home address N15 5AB", (("address", "N15 5AB"),)),
    ("nhs number 485 777 3456 noted in error", (("nhs_number", "485 777 3456"),)),
    ("contact pt on 07700 900 982", (("phone", "07700 900 982"),)),
    ("MRN RJZ 1234567", (("hospital_number", "RJZ 1234567"),)),
    ("Hosp No: H7654321", (("hospital_number", "H7654321"),)),
    ("pt's NI: AB 12 34 56 C", (("ni_number", "AB 12 34 56 C"),)),
    ("email pt at sam.jones99@example.com re follow-up", (("email", "sam.jones99@example.com"),)),
    ("tel no. 0207 946 0123", (("phone", "0207 946 0123"),)),
    ("CHI 1203873456", (("nhs_number", "1203873456"),)),
    ("pt ID#: 00456789", (("hospital_number", "00456789"),)),
    ("call mum +44 (0)7700 900 555", (("phone", "+44 (0)7700 900 555"),)),
    ("pt (dob 14/02/1999) assaulted at Clapham Common", (("date_of_birth", "14/02/1999"),)),
    ("born 1st Jan 2001", (("date_of_birth", "1st Jan 2001"),)),
    ("DOB:- 05/11/78", (("date_of_birth", "05/11/78"),)),
    ("d.o.b 30-06-1965 outside Arsenal stadium", (("date_of_birth", "30-06-1965"),)),
    ("pt is 24 (12.3.2001)", (("date_of_birth", "12.3.2001"),)),
    ("date of birth: 7 September 1990", (("date_of_birth", "7 September 1990"),)),
    ("DOB 2003", (("date_of_birth", "2003"),)),
    ("birthday 23rd Nov 1988", (("date_of_birth", "23rd Nov 1988"),)),
    ("outside Five Guys, Brixton Village", ()),
    ("Hackney Empire", ()),
    ("in the Old Vic Tunnels", ()),
    ("by the Cutty Sark, Greenwich", ()),
    ("Arsenal tube stn, match day", ()),
    ("Ronnie Scott's, Frith Street", ()),
    ("bus 159 at Kennington Park Road", ()),
    ("12-14 Peckham High Street (barber shop)", ()),
    ("outside 221 Baker Street museum", ()),
    ("Nando's, 204 Earls Court Road", ()),
    ("the Queen Elizabeth Hall, Southbank", ()),
    ("Westfield car park level 2, W12 7GF", ()),
    ("Winston Churchill statue, Parliament Square", ()),
    ("Florence Nightingale Museum", ()),
    ("corner of Rye Lane and Peckham High St, 23:45", ()),
    ("at the Lord Clyde pub, Borough", ()),
    ("Emirates Stadium gate 4", ()),
    ("Mile End Park near the climbing wall", ()),
    ("Jamie's Italian, Covent Garden", ()),
    ("outside Tesco Metro, 14 Old Kent Road SE1 5AA", ()),
    ("Charlie Wright's bar, Pitfield St", ()),
    ("Elizabeth line platform, Whitechapel", ()),
)


def held_out() -> list[Line]:
    out = []
    for text, values in HELD_OUT:
        home = any(k == "address" for k, _ in values)
        out.append({**line(text, list(values), home=home), "held_out": True})
    return out


def build(geo_dir: Path) -> list[Line]:
    rng = random.Random(SEED)
    m = Maker(rng, Places(geo_dir))
    lines = identifiers(m) + dates_of_birth(m) + home_addresses(m) + names(m) + ordinary(m)
    lines += held_out()
    seen: set[str] = set()
    out = []
    for item in lines:
        if item["text"] in seen:
            continue
        seen.add(str(item["text"]))
        out.append({"id": len(out), **item})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "data" / "gazetteer")
    args = parser.parse_args()
    items = build(args.dir)
    path = HERE / "pii_corpus.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for item in items:
        for k in item["kinds"] or ["ordinary"]:  # type: ignore[union-attr]
            kinds[k] = kinds.get(k, 0) + 1
    print(f"wrote {len(items)} lines to {path.name}: {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
