"""Build the labelled geocoder evaluation set from the open data, deterministically.

    python benchmarks/data/build_geocoder_eval.py [--dir data/gazetteer]

Writes ``geocoder_eval_dev.jsonl`` (for tuning) and ``geocoder_eval_test.jsonl`` (held
out: report it, do not tune on it) next to this file. Every item is generated from a
gazetteer row (postcode, station, bus stop, pub, street cluster, street-point pair,
hospital) whose coordinates are the truth, then dressed in the messiness of real ED free
text: abbreviations, typos, casing, "o/s", junction wordings, chains, clinical noise.
Non-place items (home, vague, unknown, abroad, chain) carry no point. The treating
hospital is the nearest Type 1 ED to the truth most of the time, as it is in practice.

Uses only the standard library and shapely (for the truth LSOA of non-postcode points);
it does not import the geocoder.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import shapely
from shapely.strtree import STRtree

SEED = 20251124
HERE = Path(__file__).resolve().parent
TYPE1 = [
    "RJ122",
    "RJZ01",
    "RJZ30",
    "RJ224",
    "RJ231",
    "R1H12",
    "R1HKH",
    "R1HNH",
    "RQXM1",
    "RF4DG",
    "RF4QH",
    "RAL01",
    "RAL26",
    "RAL27",
    "RKEQ4",
    "RRV03",
    "R1K01",
    "R1K04",
    "RAS01",
    "RQM01",
    "RQM91",
    "RYJ01",
    "RYJ02",
    "RAX01",
    "RJ611",
    "RJ701",
    "RVR05",
]
ACRONYMS = {
    "R1H12": ["RLH", "Royal London"],
    "RJ701": ["STG", "St George's"],
    "RJZ30": ["PRUH"],
    "R1K01": ["NPH", "Northwick Park"],
    "RF4DG": ["KGH"],
    "RF4QH": ["Queens hospital"],
    "RAL01": ["RFH", "Royal Free"],
    "RJ611": ["CUH"],
    "RAL27": ["NMUH", "North Mid"],
    "R1HKH": ["WXH", "Whipps Cross"],
    "R1HNH": ["NUH"],
    "RRV03": ["UCLH", "UCH"],
    "RJZ01": ["KCH", "Kings College Hospital"],
    "RJ122": ["St Thomas hospital", "St Thomas'"],
}
SUFFIX = {
    "Road": ["Rd", "rd", "Road", "road", "RD"],
    "Street": ["St", "st", "Street", "street"],
    "Avenue": ["Ave", "Av", "Avenue"],
    "Lane": ["Lane", "Ln", "lane"],
    "Station": ["stn", "Station", "station", "Stn"],
}
PREFIXES = [
    "",
    "",
    "",
    "o/s ",
    "outside ",
    "O/S ",
    "nr ",
    "near ",
    "at ",
    "opp ",
    "in ",
    "assaulted o/s ",
    "pt states assaulted outside ",
    "on ",
    "by ",
]
NOISE = [
    "",
    "",
    "",
    "",
    ", c/o head injury",
    " - punched x2",
    " by unknown male",
    " ?#nose",
    ". pt intoxicated",
    " approx 2300hrs",
    " (group of youths)",
    ", hit with bottle",
    " - police aware",
]
HOME = [
    "pt's home",
    "home address",
    "at home",
    "Home",
    "HOME",
    "pts home",
    "friend's flat",
    "his flat",
    "her house",
    "own home",
    "at his mums house",
    "partner's flat",
    "in the flat",
    "pts address",
    "at friends house",
    "boyfriends flat",
    "home - kitchen",
    "house party",
    "at home (domestic)",
    "DV at home",
    "pt's own address",
    "in bedroom at home",
    "neighbours house",
    "at a friends house party",
    "family home",
    "pts flat",
    "at home address",
    "home, assaulted by partner",
    "brothers house",
    "in the house",
]
VAGUE = [
    "street",
    "park",
    "outside shop",
    "in the street",
    "pub",
    "nightclub",
    "on a bus",
    "Street",
    "PARK",
    "outside a pub",
    "in a park",
    "bus stop",
    "shop",
    "on the road",
    "outside club",
    "train station",
    "at work",
    "school",
    "car park",
    "the pub",
    "in a bar",
    "outside",
    "public place",
    "on the bus",
    "on train",
    "alleyway",
    "street outside club",
    "at a party",
    "in town",
    "near the shops",
]
UNKNOWN = [
    "n/k",
    "- -",
    "u/k",
    "N/K",
    "not known",
    "unknown",
    "N/A",
    "?",
    "UNKNOWN",
    "n/a",
    "U/K",
    "-",
    "nk",
    "pt unable to say",
    "not stated",
]
ABROAD = [
    "on holiday in Spain",
    "abroad",
    "in Portugal on holiday",
    "Ibiza",
    "on holiday",
    "in France",
    "on a plane",
    "in Tenerife",
    "in Dubai",
    "assaulted abroad",
    "Magaluf",
    "visiting Jamaica",
    "on holiday in Greece",
    "in Ireland",
    "overseas",
]
CHAINS = [
    "Sainsbury's",
    "Tesco",
    "outside McDonalds",
    "KFC",
    "Tesco express",
    "Lidl",
    "outside Greggs",
    "in Primark",
    "Wetherspoons",
    "o/s Costa",
    "Asda car park",
    "in Nandos",
    "outside Boots",
    "Morrisons",
    "Burger King",
    "in Aldi",
    "Co-op",
    "Iceland",
    "Subway",
    "McDonald's",
]


def read_csv(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
        return list(csv.DictReader(fh))


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6_371_000.0 * math.hypot(x, math.radians(b[0] - a[0]))


class Messy:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def typo(self, text: str, p: float = 0.2) -> str:
        if self.rng.random() > p:
            return text
        words = text.split(" ")
        idx = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
        if not idx:
            return text
        i = self.rng.choice(idx)
        w = words[i]
        pos = self.rng.randrange(1, len(w) - 1)
        op = self.rng.choice(["del", "swap", "dup", "sub"])
        if op == "del":
            w = w[:pos] + w[pos + 1 :]
        elif op == "swap":
            w = w[:pos] + w[pos + 1] + w[pos] + w[pos + 2 :]
        elif op == "dup":
            w = w[:pos] + w[pos] + w[pos:]
        else:
            w = w[:pos] + self.rng.choice("aeiou") + w[pos + 1 :]
        words[i] = w
        return " ".join(words)

    def abbreviate(self, name: str) -> str:
        words = name.split(" ")
        if words and words[-1] in SUFFIX and self.rng.random() < 0.7:
            words[-1] = self.rng.choice(SUFFIX[words[-1]])
        return " ".join(words)

    def case(self, text: str) -> str:
        r = self.rng.random()
        if r < 0.25:
            return text.lower()
        if r < 0.35:
            return text.upper()
        return text

    def dress(self, core: str, *, prefix: bool = True, noise: bool = True) -> str:
        text = (self.rng.choice(PREFIXES) if prefix else "") + core
        text = self.case(self.typo(text))
        return text + (self.rng.choice(NOISE) if noise else "")


def title(name: str) -> str:
    return " ".join(
        w.capitalize() if w.isupper() else w
        for w in name.replace("<>", "").replace("#", "").split()
    )


def build(data: Path) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    messy = Messy(rng)
    with gzip.open(data / "london_lsoa21_bgc.geojson.gz", "rt", encoding="utf-8") as fh:
        lsoa_geo = json.load(fh)
    polys = shapely.from_geojson([json.dumps(f["geometry"]) for f in lsoa_geo["features"]])
    codes = [
        (f["properties"]["LSOA21CD"], f["properties"]["LAD22CD"]) for f in lsoa_geo["features"]
    ]
    tree = STRtree(polys)
    sites = {
        r["site_code"]: (float(r["lat"]), float(r["lon"]))
        for r in read_csv(data / "london_uec_sites_ods.csv")
    }
    type1 = {c: sites[c] for c in TYPE1 if c in sites}
    postcodes = read_csv(data / "london_postcodes_codepoint_2025.csv.gz")
    pc_grid: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    for r in postcodes:
        pc_grid[(int(float(r["lat"]) * 100), int(float(r["lon"]) * 100))].append(r)
    streets = read_csv(data / "london_street_names_police.csv.gz")
    st_grid: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    for r in streets:
        st_grid[(int(float(r["lat"]) * 200), int(float(r["lon"]) * 200))].append(r)
    wards = read_csv(data / "london_wards_wd25_lookup.csv")
    boroughs = {r["LAD25CD"]: r["LAD25NM"] for r in wards}

    def areas(pt: tuple[float, float]) -> tuple[str, str]:
        idx = tree.query(shapely.Point(pt[1], pt[0]), predicate="intersects")
        return codes[int(min(idx))] if len(idx) else ("", "")

    def hospital_for(pt: tuple[float, float]) -> str:
        ranked = sorted(type1, key=lambda c: metres(pt, type1[c]))
        return ranked[0] if rng.random() < 0.85 else rng.choice(ranked[:3])

    def nearest_postcode(pt: tuple[float, float]) -> dict[str, str] | None:
        key = (int(pt[0] * 100), int(pt[1] * 100))
        near = [
            r for dy in (-1, 0, 1) for dx in (-1, 0, 1) for r in pc_grid[(key[0] + dy, key[1] + dx)]
        ]
        return (
            min(near, key=lambda r: metres(pt, (float(r["lat"]), float(r["lon"]))))
            if near
            else None
        )

    def nearest_street(pt: tuple[float, float]) -> dict[str, str] | None:
        key = (int(pt[0] * 200), int(pt[1] * 200))
        near = [
            r for dy in (-1, 0, 1) for dx in (-1, 0, 1) for r in st_grid[(key[0] + dy, key[1] + dx)]
        ]
        near = [r for r in near if metres(pt, (float(r["lat"]), float(r["lon"]))) < 150]
        return (
            min(near, key=lambda r: metres(pt, (float(r["lat"]), float(r["lon"]))))
            if near
            else None
        )

    def ward_name(pt: tuple[float, float]) -> str:
        return min(wards, key=lambda w: metres(pt, (float(w["LAT"]), float(w["LONG"]))))["WD25NM"]

    items: list[dict[str, Any]] = []

    def place(kind: str, text: str, pt: tuple[float, float], hospital: str | None = None) -> None:
        lsoa, boro = areas(pt)
        items.append(
            {
                "kind": kind,
                "text": text,
                "hospital": hospital or hospital_for(pt),
                "expected_class": "place",
                "lat": round(pt[0], 6),
                "lon": round(pt[1], 6),
                "lsoa": lsoa,
                "borough": boro,
            }
        )

    def nonplace(kind: str, text: str, cls: str) -> None:
        items.append(
            {
                "kind": kind,
                "text": text,
                "hospital": rng.choice(TYPE1),
                "expected_class": cls,
                "lat": None,
                "lon": None,
                "lsoa": None,
                "borough": None,
            }
        )

    # Postcodes: formats vary; truth is the unit's point.
    for r in rng.sample(postcodes, 120):
        pc = r["postcode"]
        form = rng.choice(
            [
                pc,
                pc.lower(),
                pc.replace(" ", ""),
                f"o/s shop {pc}",
                f"near {pc}",
                f"{pc} - street",
                f"outside {pc.lower()}",
                f"bus stop {pc}",
            ]
        )
        place("postcode", form, (float(r["lat"]), float(r["lon"])))
    # Stations.
    stations = [r for r in read_csv(data / "tfl_london_stations.csv") if r["lad_code_pip"]]
    stations += read_csv(data / "national_rail_stations_london.csv")
    for r in rng.sample(stations, 160):
        name = r["name"]
        core = rng.choice(
            [
                f"{name} station",
                f"{name} stn",
                f"{name} tube",
                f"{name} Stn",
                f"{name} tube station",
                f"{name} overground",
                f"platform {name} station",
                f"{name} station forecourt",
                f"{name} station",
            ]
        )
        place("station", messy.dress(core), (float(r["lat"]), float(r["lon"])))
    # Bus stops with landmark-like names (no "/"), e.g. churches, commons, parades.
    stops = [
        r
        for r in read_csv(data / "tfl_bus_stops.csv.gz")
        if r["lad_code_pip"]
        and "/" not in r["Stop_Name"]
        and len(r["Stop_Name"].split()) >= 2
        and not r["Stop_Name"].endswith(("ROAD", "STREET", "AVENUE", "LANE", "<>", "#"))
    ]
    for r in rng.sample(stops, 80):
        name = title(r["Stop_Name"].lower().title())
        core = rng.choice(
            [
                f"bus stop {name}",
                f"bus stop at {name}",
                f"{name} bus stop",
                f"o/s {name}",
                f"{name}",
            ]
        )
        place("bus_stop", messy.dress(core, prefix=False), (float(r["lat"]), float(r["lon"])))
    # Pubs, often with the street or area.
    pubs = [r for r in read_csv(data / "london_pubs_osm_2022.csv") if len(r["name"]) > 4]
    for r in rng.sample(pubs, 100):
        pt = (float(r["lat"]), float(r["lon"]))
        name = r["name"]
        street = nearest_street(pt)
        r2 = rng.random()
        if r2 < 0.5 and street:
            core = rng.choice(
                [
                    f"{name} pub, {messy.abbreviate(street['name'])}",
                    f"{name}, {messy.abbreviate(street['name'])}",
                    f"outside {name} pub {messy.abbreviate(street['name'])}",
                ]
            )
        elif r2 < 0.75:
            core = rng.choice([f"{name} pub {ward_name(pt)}", f"{name}, {ward_name(pt)}"])
        else:
            core = rng.choice(
                [f"{name} pub", f"outside the {name.removeprefix('The ')} pub", f"in {name} pub"]
            )
        place("pub", messy.dress(core, prefix=False), pt)
    # Streets with a locality: postcode district, ward or borough name; some with a chain.
    chains = [
        "Tesco",
        "Sainsburys",
        "McDonalds",
        "KFC",
        "Costa",
        "Greggs",
        "chicken shop",
        "the shops",
        "Lidl",
        "a bookies",
    ]
    for r in rng.sample(streets, 200):
        pt = (float(r["lat"]), float(r["lon"]))
        pc = nearest_postcode(pt)
        locality = rng.choice(
            [
                pc["postcode"].split(" ")[0] if pc else "",
                ward_name(pt),
                boroughs.get(r["lad_code"], r["lad_name"]),
                pc["postcode"].split(" ")[0] if pc else "",
            ]
        )
        street = messy.abbreviate(r["name"])
        core = rng.choice(
            [
                f"{street} {locality}",
                f"{street}, {locality}",
                f"o/s shop {street} {locality}",
                f"outside {rng.choice(chains)} {street} {locality}",
                f"on {street} {locality}",
                f"{street} ({locality})",
            ]
        )
        place("street", messy.dress(core, prefix=False), pt)
    # Junctions from "X ROAD / Y STREET" bus stops…
    named = [
        r
        for r in read_csv(data / "tfl_bus_stops.csv.gz")
        if r["lad_code_pip"]
        and r["Stop_Name"].count("/") == 1
        and "<>" not in r["Stop_Name"]
        and all(
            p.strip().endswith(("ROAD", "STREET", "AVENUE", "LANE"))
            for p in r["Stop_Name"].split("/")
        )
    ]
    for r in rng.sample(named, 60):
        a, b = (messy.abbreviate(p.strip().title()) for p in r["Stop_Name"].split("/"))
        if rng.random() < 0.5:
            a, b = b, a
        core = rng.choice(
            [
                f"junction of {a} and {b}",
                f"corner of {a} & {b}",
                f"{a}/{b}",
                f"{a} j/w {b}",
                f"jct {a} and {b}",
                f"junction {a} / {b}",
            ]
        )
        place("junction_stop", messy.dress(core, prefix=False), (float(r["lat"]), float(r["lon"])))
    # …and from meeting points of two streets' map points (not from any stop name).
    snaps = [
        r
        for r in read_csv(data / "london_police_snap_points.csv.gz")
        if r["kind"] == "street"
        and r["lad_code_pip"] != "E09000001"
        and r["location"].endswith(("Road", "Street", "Avenue", "Lane"))
    ]
    sn_grid: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    for r in snaps:
        sn_grid[(int(float(r["lat"]) * 500), int(float(r["lon"]) * 500))].append(r)
    made = 0
    for r in rng.sample(snaps, 3000):
        if made >= 60:
            break
        pt = (float(r["lat"]), float(r["lon"]))
        key = (int(pt[0] * 500), int(pt[1] * 500))
        near = [
            o
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            for o in sn_grid[(key[0] + dy, key[1] + dx)]
            if o["location"] != r["location"]
            and metres(pt, (float(o["lat"]), float(o["lon"]))) < 60
        ]
        if not near:
            continue
        o = min(near, key=lambda o: metres(pt, (float(o["lat"]), float(o["lon"]))))
        mid = ((pt[0] + float(o["lat"])) / 2, (pt[1] + float(o["lon"])) / 2)
        a, b = (
            messy.abbreviate(r["location"].replace("'S", "'s")),
            messy.abbreviate(o["location"].replace("'S", "'s")),
        )
        core = rng.choice(
            [f"junction of {a} and {b}", f"corner of {a} and {b}", f"{a}/{b}", f"{a} j/w {b}"]
        )
        place("junction_streets", messy.dress(core, prefix=False), mid)
        made += 1
    # Hospitals by acronym or name.
    for _ in range(30):
        code = rng.choice(sorted(ACRONYMS))
        core = rng.choice(
            [
                f"o/s {rng.choice(ACRONYMS[code])}",
                f"{rng.choice(ACRONYMS[code])} car park",
                f"outside {rng.choice(ACRONYMS[code])} A&E",
            ]
        )
        place("hospital", messy.case(core), sites[code], hospital=code)
    for text in rng.choices(HOME, k=100):
        nonplace("home", messy.case(messy.typo(text, 0.1)), "home")
    for text in rng.choices(VAGUE, k=60):
        nonplace("vague", messy.case(text), "vague")
    for text in rng.choices(UNKNOWN, k=30):
        nonplace("unknown", text, "unknown")
    for text in rng.choices(ABROAD, k=30):
        nonplace("abroad", messy.case(text), "abroad")
    for text in rng.choices(CHAINS, k=40):
        nonplace("chain", messy.case(text), "chain_without_place")
    rng.shuffle(items)
    for i, item in enumerate(items):
        item["id"] = i
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    # The London gazetteer shipped with the project.
    parser.add_argument("--dir", default=str(HERE.parents[1] / "data" / "gazetteer"))
    args = parser.parse_args()
    items = build(Path(args.dir))
    half = len(items) // 2
    for name, part in (("dev", items[:half]), ("test", items[half:])):
        with (HERE / f"geocoder_eval_{name}.jsonl").open("w", encoding="utf-8") as fh:
            for item in part:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)} items")


if __name__ == "__main__":
    main()
