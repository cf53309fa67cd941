"""Gazetteer versions: the shipped folder's manifest, and load_gazetteer skipping a
version that is already loaded."""

from __future__ import annotations

import hashlib
import runpy
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.audit.models import AuditEvent
from incidents.geocoding.loaders import (
    MANIFEST_FILE,
    SHIPPED_DIR,
    VERSION_FILE,
    GazetteerFolderError,
    folder_version,
    read_manifest,
    recognise,
)
from incidents.geocoding.models import GazetteerVersion, Postcode
from incidents.geocoding.service import reset_geocoder

# Files the loader does not read but the demo, the tests or the benchmarks do.
SHIPPED_LOOKUPS = {"london_lsoa21_lookup.csv", "london_wards_wd25_lookup.csv"}
SHIPPED_META = {"README.md", VERSION_FILE, MANIFEST_FILE}


@pytest.fixture(autouse=True)
def _fresh_geocoder():
    yield
    reset_geocoder()


def load(directory: Path, *args: str) -> str:
    out = StringIO()
    call_command("load_gazetteer", "--dir", str(directory), *args, stdout=out)
    return out.getvalue()


def write_manifest(directory: Path) -> None:
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in sorted(directory.iterdir())
        if p.is_file() and recognise(p) is not None
    ]
    (directory / MANIFEST_FILE).write_text("".join(lines), encoding="utf-8")


# --- the shipped folder --------------------------------------------------------------------


def test_shipped_folder_is_the_default_and_inside_the_repository(monkeypatch):
    assert SHIPPED_DIR.is_relative_to(Path(settings.BASE_DIR))
    base = Path(settings.BASE_DIR) / "istv_portal" / "settings" / "base.py"
    monkeypatch.delenv("GAZETTEER_DIR", raising=False)
    assert runpy.run_path(str(base))["GAZETTEER_DIR"] == str(SHIPPED_DIR)
    monkeypatch.setenv("GAZETTEER_DIR", "/srv/istv/gazetteer")
    assert runpy.run_path(str(base))["GAZETTEER_DIR"] == "/srv/istv/gazetteer"


def test_shipped_manifest_lists_every_data_file_with_its_hash():
    listed = read_manifest(SHIPPED_DIR / MANIFEST_FILE)
    present = {p.name for p in SHIPPED_DIR.iterdir() if p.is_file()}
    assert set(listed) == present - SHIPPED_META
    assert set(listed) >= SHIPPED_LOOKUPS
    for name, sha in listed.items():
        assert hashlib.sha256((SHIPPED_DIR / name).read_bytes()).hexdigest() == sha, name
    version = folder_version(SHIPPED_DIR)  # raises if the manifest and files disagree
    assert version.label == (SHIPPED_DIR / VERSION_FILE).read_text().split()[0]
    # The version covers exactly the files the loader reads, not the lookups or the README.
    assert set(version.files) == set(listed) - SHIPPED_LOOKUPS
    assert {
        "london_postcodes_codepoint_2025.csv.gz",
        "london_boroughs_lad22.geojson",
        "london_uec_sites_ods.csv",
    } <= set(version.files)


def test_shipped_readme_carries_each_sources_attribution():
    readme = (SHIPPED_DIR / "README.md").read_text(encoding="utf-8")
    for name in read_manifest(SHIPPED_DIR / MANIFEST_FILE):
        assert f"`{name}`" in readme, name
    for text in (
        "Open Government Licence v3.0",
        "Contains OS data © Crown copyright and database right",
        "Royal Mail copyright and database right",
        "Powered by TfL Open Data",
        "© OpenStreetMap contributors",
        "Open Database Licence",
        "Source: Office for National Statistics",
    ):
        assert text in readme, text
    # The version table names the shipped version and its digest.
    version = folder_version(SHIPPED_DIR)
    assert f"| `{version.label}` | `{version.digest}` |" in readme


# --- versions and skipping -----------------------------------------------------------------


@pytest.mark.django_db
def test_same_version_is_skipped_until_forced_or_changed(mini_dir: Path):
    (mini_dir / VERSION_FILE).write_text("mini-1\n", encoding="utf-8")
    first = load(mini_dir)
    assert "Loaded gazetteer mini-1" in first
    version = GazetteerVersion.objects.get()
    assert version.label == "mini-1" and len(version.digest) == 64
    assert version.counts["postcode"] == 4
    assert "mini_postcodes.csv.gz" in version.files and "README.md" not in version.files

    again = load(mini_dir)
    assert "already loaded" in again and "skipped" in again
    assert GazetteerVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="gazetteer.loaded").count() == 1

    # A README change is not a new version; a data change is.
    (mini_dir / "README.md").write_text("new notes", encoding="utf-8")
    assert "already loaded" in load(mini_dir)
    assert "Loaded gazetteer" in load(mini_dir, "--force")
    assert GazetteerVersion.objects.count() == 2

    with (mini_dir / "mini_stations.csv").open("a", encoding="utf-8") as fh:
        fh.write("HUBX,3,Extra Station,51.47,-0.10,victoria,x,E09000022\n")
    assert "Loaded gazetteer" in load(mini_dir)
    newest = GazetteerVersion.objects.order_by("-id").first()
    assert newest is not None and newest.digest != version.digest
    assert AuditEvent.objects.filter(action="gazetteer.loaded").count() == 3
    assert AuditEvent.objects.filter(action="gazetteer.loaded").first().details["digest"] in {  # type: ignore[union-attr]
        v.digest for v in GazetteerVersion.objects.all()
    }


@pytest.mark.django_db
def test_loading_another_folder_then_the_first_again_reloads_it(mini_dir: Path, tmp_path: Path):
    load(mini_dir)
    other = tmp_path / "other"
    other.mkdir()
    (other / "mini_postcodes.csv.gz").write_bytes((mini_dir / "mini_postcodes.csv.gz").read_bytes())
    load(other)
    assert "Loaded gazetteer" in load(mini_dir)
    assert GazetteerVersion.objects.count() == 3


@pytest.mark.django_db
def test_a_folder_that_disagrees_with_its_manifest_is_not_loaded(mini_dir: Path):
    write_manifest(mini_dir)
    assert folder_version(mini_dir).files  # agrees
    (mini_dir / "mini_pubs.csv").write_text("name,osm_node_id,lat,lon\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"mini_pubs\.csv does not match"):
        load(mini_dir)
    assert not Postcode.objects.exists() and not GazetteerVersion.objects.exists()

    write_manifest(mini_dir)
    (mini_dir / "mini_extra.csv").write_text(
        "id,ics_code,name,lat,lon,lines\nX,1,Somewhere,51.5,-0.1,dlr\n", encoding="utf-8"
    )
    with pytest.raises(GazetteerFolderError, match=r"mini_extra\.csv is not listed"):
        folder_version(mini_dir)
    (mini_dir / "mini_extra.csv").unlink()
    (mini_dir / "mini_pubs.csv").unlink()
    with pytest.raises(GazetteerFolderError, match=r"mini_pubs\.csv is listed but missing"):
        folder_version(mini_dir)
