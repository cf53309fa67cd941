"""``load_gazetteer`` and ``geocode`` management commands."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from incidents.geocoding.service import reset_geocoder
from tests.geocoding.conftest import RESULT_KEYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(mini_dir: Path) -> None:
    out = StringIO()
    call_command("load_gazetteer", "--dir", str(mini_dir), stdout=out)
    text = out.getvalue()
    assert "postcode" in text and "Loaded" in text and "skipped" in text
    yield
    reset_geocoder()


def test_load_gazetteer_needs_a_directory(tmp_path: Path, settings: object) -> None:
    settings.GAZETTEER_DIR = ""  # type: ignore[attr-defined]
    with pytest.raises(CommandError):
        call_command("load_gazetteer")
    with pytest.raises(CommandError):
        call_command("load_gazetteer", "--dir", str(tmp_path / "missing"))


def test_geocode_json_for_the_done_sample(loaded: None) -> None:
    out = StringIO()
    call_command(
        "geocode",
        "o/s Brixton stn",
        "pt's home",
        "junction of Mare St and Well St",
        "--hospital",
        "RQXM1",
        "--json",
        stdout=out,
    )
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["class"] for r in rows] == ["place", "home", "place"]
    assert rows[0]["borough"] == "E09000022" and rows[0]["precision"] == "venue"
    assert rows[1]["lat"] is None and rows[1]["lon"] is None
    assert rows[2]["precision"] == "junction" and rows[2]["borough"] == "E09000012"
    for row in rows:
        assert row.keys() >= RESULT_KEYS


def test_geocode_file_keeps_input_order(loaded: None, tmp_path: Path) -> None:
    texts = ["E8 1AA", "n/k", "o/s Brixton stn", "Rye Lane SE15", "pt's home"] * 400
    path = tmp_path / "in.jsonl"
    path.write_text(
        "\n".join(json.dumps({"text": t, "hospital": "RJZ01"}) for t in texts), encoding="utf-8"
    )
    out = StringIO()
    call_command("geocode", "--file", str(path), stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["text"] for r in rows] == texts
    assert [r["class"] for r in rows[:5]] == ["place", "unknown", "place", "place", "home"]


def test_geocode_plain_output_and_bad_input(loaded: None, tmp_path: Path) -> None:
    out = StringIO()
    call_command("geocode", "E8 1AA", stdout=out)
    assert "postcode_unit" in out.getvalue() and "E09000012" in out.getvalue()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("geocode", "--file", str(bad))
    with pytest.raises(CommandError):
        call_command("geocode")
