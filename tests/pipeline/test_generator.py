"""The synthetic submission generator and its management command."""

from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from python_calamine import CalamineWorkbook

from incidents.geocoding.loaders import SHIPPED_DIR
from ingest.pipeline import Options, process_file
from ingest.pipeline.pii import kinds_in_text, nhs_number_valid
from ingest.pipeline.sites import TYPE1_SITES
from ingest.synthetic import (
    LAYOUTS,
    GeneratorOptions,
    fake_nhs_number,
    generate,
    layout_for,
    load_places,
    make_rows,
    monthly_count,
)
from istv_portal.periods import Period

# The London gazetteer shipped in data/gazetteer (the generator draws place names from it).
GEO = SHIPPED_DIR


def test_28_type1_sites_each_with_a_layout() -> None:
    assert len(TYPE1_SITES) == 28
    assert len({s.code for s in TYPE1_SITES}) == 28
    assert {"RJ122", "R1H12", "RYJ01", "RJ701", "RVR50"} <= {s.code for s in TYPE1_SITES}
    assert {layout_for(s).name for s in TYPE1_SITES} == {lay.name for lay in LAYOUTS}


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    opts = GeneratorOptions(
        months=1,
        start=Period(2025, 3),
        seed=7,
        fault_rate=0.05,
        sites=("RJ122", "RJZ30", "RJ224", "RJ231", "R1H12"),
    )
    a = generate(tmp_path / "a", opts)
    b = generate(tmp_path / "b", opts)
    c = generate(tmp_path / "c", dataclasses.replace(opts, seed=8))

    def content(path: Path) -> object:
        if path.suffix == ".xlsx":  # zip timestamps differ; compare the cells
            return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        return path.read_bytes()

    assert {f.path.suffix for f in a} == {".csv", ".tsv", ".xlsx", ".xml"}
    for fa, fb, fc in zip(a, b, c, strict=True):
        assert fa.path.name == fb.path.name == fc.path.name
        assert content(fa.path) == content(fb.path)
        assert content(fa.path) != content(fc.path)


def test_volumes_realistic_and_seasonal() -> None:
    rng = random.Random(1)
    july = sum(monthly_count(s, Period(2025, 7), 1.0, rng) for s in TYPE1_SITES)
    january = sum(monthly_count(s, Period(2025, 1), 1.0, rng) for s in TYPE1_SITES)
    assert 1500 <= january < july <= 3000
    assert sum(monthly_count(s, Period(2025, 7), 10.0, rng) for s in TYPE1_SITES) > 15_000


def test_weekend_nights_dominate() -> None:
    rows = make_rows(
        TYPE1_SITES[5],
        Period(2025, 7),
        scale=20,
        rng=random.Random(3),
        places=load_places(None),
        fault_rate=0,
    )
    by_day = Counter(r.arrival.weekday() for r in rows)
    assert by_day[5] > 1.4 * by_day[1]  # Saturday vs Tuesday
    night = sum(1 for r in rows if r.arrival.hour >= 20 or r.arrival.hour < 4)
    assert night / len(rows) > 0.4
    assert all(r.assault <= r.arrival for r in rows)


def test_fault_rate(tmp_path: Path) -> None:
    files = generate(
        tmp_path,
        GeneratorOptions(
            months=1, start=Period(2025, 5), seed=2, scale=3, fault_rate=0.1, sites=("RJ122",)
        ),
    )
    f = files[0]
    assert 0.05 < f.faults / f.rows < 0.15
    r = process_file(
        f.path,
        filename=f.path.name,
        site_code=f.site_code,
        period=f.period,
        options=Options(accept_proposed_mapping=True),
    )
    assert r.report.set_aside >= f.faults


def test_no_personal_data_without_flag(tmp_path: Path) -> None:
    for f in generate(tmp_path, GeneratorOptions(months=1, start=Period(2025, 5), seed=1)):
        if f.path.suffix == ".xlsx":
            continue
        raw = f.path.read_bytes()
        text = (
            raw.decode("utf-16") if f.path.suffix == ".tsv" else raw.decode("utf-8-sig", "replace")
        )
        for line in text.splitlines():
            assert kinds_in_text(line) == [], (f.path.name, line)


def test_fake_nhs_numbers_are_obviously_fake_and_valid() -> None:
    rng = random.Random(0)
    for _ in range(50):
        n = fake_nhs_number(rng)
        assert n.startswith("999 ") and nhs_number_valid(n.replace(" ", ""))


def test_location_text_drawn_from_open_data_near_the_hospital(tmp_path: Path) -> None:
    places = load_places(GEO)
    royal_london = next(s for s in TYPE1_SITES if s.code == "R1H12")
    streets = set(places.near("street", royal_london.lat, royal_london.lon))
    assert "Commercial Road" in streets or "Whitechapel Road" in streets
    rows = make_rows(
        royal_london, Period(2025, 7), scale=5, rng=random.Random(1), places=places, fault_rate=0
    )
    descriptions = [r.description for r in rows]
    joined = " | ".join(descriptions)
    assert re.search(r"\bo/s\b", joined) and "pt's home" in joined
    assert any(re.search(r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b", d) for d in descriptions)
    assert sum(1 for d in descriptions if any(s.lower() in d.lower() for s in streets)) > 20


def test_command(tmp_path: Path) -> None:
    call_command(
        "generate_submissions",
        "--months",
        "2",
        "--out",
        str(tmp_path),
        "--seed",
        "3",
        "--start",
        "2025-11",
        "--scale",
        "0.2",
        "--fault-rate",
        "0.02",
        "--site",
        "RJ122",
        "--site",
        "rj231",
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "RJ122_2025-11.csv",
        "RJ122_2025-12.csv",
        "RJ231_2025-11.xml",
        "RJ231_2025-12.xml",
    ]


def test_command_with_pii(tmp_path: Path) -> None:
    call_command(
        "generate_submissions",
        "--out",
        str(tmp_path),
        "--with-pii",
        "--site",
        "RJ122",
        "--scale",
        "0.2",
    )
    text = next(tmp_path.iterdir()).read_text()
    assert "NHS Number" in text.splitlines()[0]


@pytest.mark.parametrize("args", [["--months", "0"], ["--start", "2025"], ["--fault-rate", "2"]])
def test_command_rejects_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("generate_submissions", "--out", str(tmp_path), *args)
