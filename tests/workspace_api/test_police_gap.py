"""Police-recorded crime: the data.police.uk import and the gap view (page and API).

Every file is generated here in the street-level format; nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from accounts.audit.models import Action, AuditEvent
from incidents.geocoding.models import Postcode
from incidents.models import Incident, PoliceRecordedCount
from ingest.police_crime import PoliceCrimeFileError, import_police_crime, street_level_csv
from tests.disclosure import cellkey_oracle
from tests.factories import login_verified
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    LSOAS,
    SOUTHWARK,
    TOWER_HAMLETS,
    WARDS,
    geography_create,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/police-gap/"
MET = "Metropolitan Police Service"
OUTSIDE = "E01099999"  # not a London LSOA of the test gazetteer
VIOLENCE, ROBBERY = "Violence and sexual offences", "Robbery"


def _crime(lsoa: str, crime_type: str = VIOLENCE, *, month: str = "2025-01", force: str = MET):
    return {
        "Crime ID": "",
        "Month": month,
        "Reported by": force,
        "Falls within": force,
        "Longitude": "-0.09",
        "Latitude": "51.50",
        "Location": "On or near Example Street",
        "LSOA code": lsoa,
        "LSOA name": "Somewhere 001A",
        "Crime type": crime_type,
        "Last outcome category": "Under investigation",
        "Context": "",
    }


def _file(rows, name: str = "2025-01-metropolitan-street.csv"):
    return (name, io.StringIO(street_level_csv(rows)))


def _stored() -> dict[tuple[str, str, str, str], int]:
    return {
        (r.force, f"{r.month:%Y-%m}", r.series, r.lsoa_code): r.count
        for r in PoliceRecordedCount.objects.all()
    }


@pytest.fixture
def geography() -> None:
    """The test gazetteer's LSOAs, and a postcode in each naming its ward (the import takes
    an LSOA's ward from its postcodes)."""
    geography_create()
    for n, borough in enumerate(LSOAS):
        Postcode.objects.create(
            postcode=f"SE1 {n}AA",
            lat=51.5,
            lon=-0.1,
            lsoa_code=LSOAS[borough],
            ward_code=WARDS[borough],
            borough_code=borough,
        )


# --- the import -------------------------------------------------------------------------


def test_import_counts_by_lsoa_month_and_series(geography) -> None:
    rows = (
        [_crime(LSOAS[SOUTHWARK]) for _ in range(5)]
        + [_crime(LSOAS[SOUTHWARK], ROBBERY) for _ in range(2)]
        + [_crime(LSOAS[LAMBETH]) for _ in range(3)]
        + [_crime(LSOAS[LAMBETH], month="2025-02") for _ in range(4)]
        + [_crime(LSOAS[SOUTHWARK], "Burglary") for _ in range(6)]
        + [_crime(LSOAS[SOUTHWARK], "Anti-social behaviour")]
        + [_crime("") for _ in range(2)]
        + [_crime(OUTSIDE)]
    )
    report = import_police_crime([_file(rows)])
    assert _stored() == {
        (MET, "2025-01", "violence", LSOAS[SOUTHWARK]): 5,
        (MET, "2025-01", "robbery", LSOAS[SOUTHWARK]): 2,
        (MET, "2025-01", "violence", LSOAS[LAMBETH]): 3,
        (MET, "2025-02", "violence", LSOAS[LAMBETH]): 4,
    }
    summary = report.summary()
    assert summary["rows"] == len(rows) == 24
    assert (summary["violence"], summary["robbery"]) == (12, 2)
    assert summary["other_categories"] == 7  # burglary and anti-social behaviour ignored
    assert (summary["no_lsoa"], summary["outside_london"], summary["malformed"]) == (2, 1, 0)
    # The borough is the LSOA's, from the gazetteer.
    assert set(
        PoliceRecordedCount.objects.filter(lsoa_code=LSOAS[LAMBETH]).values_list(
            "borough_code", flat=True
        )
    ) == {LAMBETH}
    event = AuditEvent.objects.get(action=Action.POLICE_CRIME_IMPORTED)
    assert event.details["violence"] == 12 and event.details["stored_counts"] == 4
    assert "Example Street" not in str(event.details)  # counts only


def test_reimport_replaces_exactly_that_force_and_month(geography) -> None:
    january = [_crime(LSOAS[SOUTHWARK]) for _ in range(5)]
    february = [_crime(LSOAS[SOUTHWARK], month="2025-02") for _ in range(7)]
    other_force = [_crime(LSOAS[SOUTHWARK], force="British Transport Police")] * 2
    import_police_crime([_file(january + february), _file(other_force, "btp.csv")])
    import_police_crime([_file(january + february)])  # the same file again: no change
    assert _stored()[(MET, "2025-01", "violence", LSOAS[SOUTHWARK])] == 5
    assert PoliceRecordedCount.objects.aggregate(n=Sum("count"))["n"] == 5 + 7 + 2

    corrected = [_crime(LSOAS[LAMBETH]) for _ in range(3)]  # Met January, corrected
    import_police_crime([_file(corrected)])
    assert _stored() == {
        (MET, "2025-01", "violence", LSOAS[LAMBETH]): 3,
        (MET, "2025-02", "violence", LSOAS[SOUTHWARK]): 7,
        ("British Transport Police", "2025-01", "violence", LSOAS[SOUTHWARK]): 2,
    }


def test_malformed_rows_are_reported_not_fatal(geography, tmp_path) -> None:
    good = street_level_csv([_crime(LSOAS[SOUTHWARK]) for _ in range(3)])
    lines = good.splitlines()
    bad = [
        lines[1].replace("2025-01", "January 2025", 1),  # row 5
        lines[1] + ",an extra column",  # row 6
        "only,three,columns",  # row 7
        lines[1].replace(MET, "", 2),  # row 8: no force
    ]
    text = "\n".join([*lines, *bad]) + "\n"
    report = import_police_crime([("bad.csv", io.StringIO(text))])
    assert report.malformed == 4
    assert [(row, reason) for _, row, reason in report.malformed_rows] == [
        (5, "Month is not YYYY-MM"),
        (6, "wrong number of columns"),
        (7, "wrong number of columns"),
        (8, "no Reported by"),
    ]
    assert _stored() == {(MET, "2025-01", "violence", LSOAS[SOUTHWARK]): 3}

    with pytest.raises(PoliceCrimeFileError):
        import_police_crime([("x.csv", io.StringIO("a,b\n1,2\n"))])

    path = tmp_path / "2025-01-metropolitan-street.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_police_crime", str(path), stdout=out)
    assert "malformed: 4" in out.getvalue()
    assert f"malformed: {path.name} row 7: wrong number of columns" in out.getvalue()


def test_upload_page_imports_for_a_data_manager(geography, client, data_manager) -> None:
    login_verified(client, data_manager)
    content = street_level_csv([_crime(LSOAS[SOUTHWARK], ROBBERY) for _ in range(2)])
    upload = io.BytesIO(content.encode("utf-8"))
    upload.name = "2025-01-metropolitan-street.csv"
    response = client.post("/submissions/police-crime/", {"file": upload})
    assert response.status_code == 200
    assert _stored() == {(MET, "2025-01", "robbery", LSOAS[SOUTHWARK]): 2}
    bad = io.BytesIO(b"not,a,police,file\n1,2,3,4\n")
    bad.name = "x.csv"
    response = client.post("/submissions/police-crime/", {"file": bad})
    assert response.status_code == 400
    assert "street-level" in response.content.decode()


# --- the gap ----------------------------------------------------------------------------

# ED 30 / 10 / 10 against police 30 / 90 / 40: overall share 50 / 210 = 0.2381.
# Southwark: share 0.5 at n = 60, above the 99.8% limit (0.2381 + 3.09 x 0.0550 = 0.408).
# Lambeth: share 0.1 at n = 100, below the 99.8% limit (0.2381 - 3.09 x 0.0426 = 0.106).
# Tower Hamlets: share 0.2 at n = 50, inside the 95% limits (0.120 to 0.356).
ED = {SOUTHWARK: 30, LAMBETH: 10, TOWER_HAMLETS: 10}
POLICE = {SOUTHWARK: 30, LAMBETH: 90, TOWER_HAMLETS: 40}


@pytest.fixture
def gap_world(geography, site_a) -> None:
    submission = submission_create(site_a)
    when = dt.datetime(2025, 1, 14, 21, 0, tzinfo=LONDON)
    incidents_create(
        submission,
        [incident_row(b, when=when) for b, n in ED.items() for _ in range(n)],
    )
    rows = [_crime(LSOAS[b]) for b, n in POLICE.items() for _ in range(n)]
    rows += [_crime(LSOAS[SOUTHWARK], ROBBERY) for _ in range(12)]
    import_police_crime([_file(rows)])


def _by_borough(body) -> dict[str, dict]:
    return {r["borough"]: r for r in body["results"]}


def test_gap_figures_on_known_counts(gap_world, api_as, mps_analyst) -> None:
    body = api_as(mps_analyst).get(URL, {"group_by": "borough"}).json()
    rows = _by_borough(body)
    assert {b: rows[b]["ed_count"] for b in ED} == ED
    assert {b: rows[b]["police_count"] for b in POLICE} == POLICE
    assert body["overall_ed_share"] == pytest.approx(50 / 210, abs=1e-4)
    assert {b: rows[b]["ratio"] for b in ED} == {SOUTHWARK: 1.0, LAMBETH: 0.11, TOWER_HAMLETS: 0.25}
    assert {b: (rows[b]["flag"], rows[b]["limit"]) for b in ED} == {
        SOUTHWARK: ("ED unusually high", "99.8%"),
        LAMBETH: ("ED unusually low", "99.8%"),
        TOWER_HAMLETS: ("", None),
    }
    assert body["disclosure_control"]["applied"] is False

    robbery = api_as(mps_analyst).get(URL, {"group_by": "borough", "series": "robbery"}).json()
    assert _by_borough(robbery)[SOUTHWARK]["police_count"] == 12
    assert _by_borough(robbery)[LAMBETH]["police_count"] == 0

    monthly = api_as(mps_analyst).get(URL, {"group_by": "lsoa,month"}).json()
    assert {(r["lsoa"], r["month"]): r["police_count"] for r in monthly["results"]} == {
        (LSOAS[b], "2025-01"): n for b, n in POLICE.items()
    }
    assert api_as(mps_analyst).get(URL, {"group_by": "borough,ward"}).status_code == 400
    assert api_as(mps_analyst).get(URL, {"series": "burglary"}).status_code == 400


def test_borough_analyst_sees_only_their_boroughs(gap_world, api_as, southwark_analyst) -> None:
    body = api_as(southwark_analyst).get(URL, {"group_by": "borough"}).json()
    located = {r["borough"] for r in body["results"] if r["borough"] != "not_located"}
    assert located == {SOUTHWARK}
    assert _by_borough(body)[SOUTHWARK]["police_count"] == POLICE[SOUTHWARK]
    # Naming another borough narrows nothing into view.
    other = api_as(southwark_analyst).get(URL, {"group_by": "borough", "borough": LAMBETH})
    assert other.status_code == 400 or all(
        r["borough"] != LAMBETH or r["police_count"] in (0, None) for r in other.json()["results"]
    )


def test_aggregate_user_gets_disclosure_controlled_ed_counts(
    gap_world, api_as, aggregate_user
) -> None:
    params = {"group_by": "borough", "borough": list(ED)}
    body = api_as(aggregate_user).get(URL, params).json()
    assert body["disclosure_control"]["applied"] is True
    true = cellkey_oracle.truth(Incident.objects.filter(borough_code__in=list(ED)), "borough_code")
    rows = _by_borough(body)
    assert {b: rows[b]["ed_count"] for b in ED} == {b: cellkey_oracle.publish(*true[b]) for b in ED}
    assert {b: rows[b]["police_count"] for b in ED} == POLICE  # open data, as published
    for b in ED:  # the ratio is of the published ED figure
        published = rows[b]["ed_count"]
        if isinstance(published, int):
            assert rows[b]["ratio"] == round(published / POLICE[b], 2)
        else:
            assert rows[b]["ratio"] is None and rows[b]["flag"] == ""


def test_small_ed_counts_are_hidden_with_no_ratio(geography, site_a, api_as, aggregate_user):
    submission = submission_create(site_a)
    incidents_create(submission, [incident_row(SOUTHWARK) for _ in range(3)])
    incidents_create(submission, [incident_row(LAMBETH) for _ in range(40)])
    import_police_crime([_file([_crime(LSOAS[SOUTHWARK]) for _ in range(9)])])
    body = (
        api_as(aggregate_user)
        .get(URL, {"group_by": "borough", "borough": [SOUTHWARK, LAMBETH]})
        .json()
    )
    row = _by_borough(body)[SOUTHWARK]
    assert row["ed_count"] == "*" and row["ed_suppressed"] == "small_count"
    assert (row["ratio"], row["ed_share"], row["flag"]) == (None, None, "")
    assert row["police_count"] == 9


def test_page_equals_api(gap_world, client, api_as, mps_analyst) -> None:
    api = api_as(mps_analyst).get(URL, {"group_by": "ward,month"}).json()
    login_verified(client, mps_analyst)
    response = client.get("/data/explore/police-gap/", {"area": "ward", "by_month": "1"})
    assert response.status_code == 200
    page = response.context["result"]
    strip = [{k: v for k, v in r.items() if k != "name"} for r in page.results]
    assert strip == api["results"]
    assert {(r["ward"], r["police_count"]) for r in api["results"]} >= {
        (WARDS[b], n) for b, n in POLICE.items()
    }
    assert page.overall_share == api["overall_ed_share"]
    html = response.content.decode()
    assert "ED unusually high" in html and "ED unusually low" in html
    events = Counter(
        AuditEvent.objects.filter(action=Action.DATA_VIEWED).values_list(
            "details__endpoint", flat=True
        )
    )
    assert events["pages/police-gap"] == 1
    # Without months the map shades each area by the table's flag.
    by_area = client.get("/data/explore/police-gap/", {"area": "borough"})
    assert by_area.context["map_flags"] == {
        SOUTHWARK: "ED unusually high",
        LAMBETH: "ED unusually low",
    }
    assert 'id="gap-flags"' in by_area.content.decode()


def test_import_keeps_one_row_per_force_month_series_lsoa(gap_world) -> None:
    duplicates = (
        PoliceRecordedCount.objects.values("force", "month", "series", "lsoa_code")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert PoliceRecordedCount.objects.filter(series="violence").aggregate(n=Sum("count"))[
        "n"
    ] == sum(POLICE.values())


def test_synthetic_demo_sample_is_labelled_and_imports_cleanly(geography) -> None:
    from pathlib import Path

    from django.conf import settings

    from ingest.police_crime_demo import SYNTHETIC_FORCE, synthetic_csv

    months = [dt.date(2025, m, 1) for m in range(1, 13)]
    report = import_police_crime([("demo.csv", io.StringIO(synthetic_csv(months)))])
    assert report.malformed == 0 and report.outside_london == 0 and report.stored > 0
    assert set(PoliceRecordedCount.objects.values_list("force", flat=True)) == {SYNTHETIC_FORCE}
    assert "SYNTHETIC" in SYNTHETIC_FORCE and "not real" in SYNTHETIC_FORCE

    sample = Path(settings.BASE_DIR) / "data" / "police_crime"
    files = sorted(sample.glob("*.csv"))
    assert files and all(f.name.startswith("SYNTHETIC") for f in files)
    with files[0].open(encoding="utf-8", newline="") as handle:
        shipped = import_police_crime([(files[0].name, handle)])
    assert shipped.malformed == 0 and shipped.rows > 0
    assert shipped.force_months == [(SYNTHETIC_FORCE, "2025-01")]


def test_seed_demo_loads_the_synthetic_sample_idempotently(geography) -> None:
    from django.utils import timezone

    from ingest.management.commands.seed_demo import Command
    from ingest.police_crime_demo import SYNTHETIC_FORCE

    out = io.StringIO()
    Command(stdout=out).seed_police_crime()
    assert "SYNTHETIC" in out.getvalue() and "not real data" in out.getvalue()
    first = sorted(PoliceRecordedCount.objects.values_list("month", "series", "lsoa_code", "count"))
    assert first and set(PoliceRecordedCount.objects.values_list("force", flat=True)) == {
        SYNTHETIC_FORCE
    }
    this_month = timezone.localdate().replace(day=1)
    months = {m for m, *_ in first}
    assert len(months) <= 12 and max(months) < this_month
    Command(stdout=io.StringIO()).seed_police_crime()  # again: replaced, not doubled
    assert (
        sorted(PoliceRecordedCount.objects.values_list("month", "series", "lsoa_code", "count"))
        == first
    )


@pytest.mark.parametrize(
    ("ed", "expected"),
    [
        # Centre 0.25 at n = 100: sd 0.0433, so 95% limits 0.165 / 0.335, 99.8% 0.116 / 0.384.
        (40, ("ED unusually high", "99.8%")),
        (36, ("ED unusually high", "95%")),
        (30, ("", None)),
        (20, ("", None)),
        (16, ("ED unusually low", "95%")),
        (10, ("ED unusually low", "99.8%")),
    ],
)
def test_funnel_flag_at_both_limits(ed: int, expected: tuple[str, str | None]) -> None:
    from incidents.police_gap import funnel_flag

    assert funnel_flag(ed, 100 - ed, 0.25) == expected
    assert funnel_flag(0, 0, 0.25) == ("", None)  # no incidents either side: no flag
