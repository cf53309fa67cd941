"""The explore pages' filter in words: removable tags, the filter kept on every tab and on
"Back to explore", the results table's labels and ranges, the download page's summary,
GOV.UK form errors and a sparse aggregate download refused on a portal page."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from incidents.codes import PRECISION_LABELS
from incidents.geocoding.geocoder import PRECISIONS
from incidents.geocoding.models import Area
from incidents.masking import PRECISION_LSOA, PRECISION_NONE, PRECISION_SNAPPED, SNAP_CELL_METRES
from incidents.models import Incident, SavedQuery
from incidents.workspace import labels as ws_labels
from tests.factories import login_verified
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import BOROUGHS_WITH_DATA, make_incidents

pytestmark = pytest.mark.django_db

WARD = "E05011104"


def _page(client: Client, user: User, name: str, **params: Any) -> Any:
    login_verified(client, user)
    return client.get(reverse(name), params)


def _refused(response: Any) -> tuple[str, str]:
    """A page refused with GOV.UK errors (400): its body and its error summary."""
    assert response.status_code == 400
    body = response.content.decode()
    return body, body.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]


def _hrefs(body: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', body)]


def _query(url: str) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlsplit(url).query))


def _tags(body: str) -> dict[str, str]:
    """Visible tag text -> its link, from the applied-filters block."""
    block = body.split('id="applied-filters"', 1)[1].split("</div>", 1)[0]
    found = re.findall(
        r'<a class="workspace-filter-tag" href="([^"]*)">'
        r'<span class="govuk-visually-hidden">Remove filter: </span>(.*?)<span',
        block,
    )
    return {html.unescape(text): html.unescape(href) for href, text in found}


# --- applied filters as tags ------------------------------------------------------------------


def test_tags_name_the_filter_in_words_not_codes(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _page(
        client, mps_analyst, "incidents:explore",
        borough=SOUTHWARK, method="knife", hospital="RJ122", weekday="6", precision="street",
        assault_date_from="2026-06-01", assault_date_to="2026-08-31", hour_from="22",
        hour_to="3",
    )  # fmt: skip
    body = response.content.decode()
    tags = _tags(body)
    assert set(tags) == {
        "Southwark",
        "Knife or blade",
        "St Thomas' Hospital",
        "Saturday",
        "Street",
        "1 Jun \N{EN DASH} 31 Aug 2026",
        "22:00 \N{EN DASH} 03:59",
    }
    for code in (SOUTHWARK, "knife", "RJ122"):
        assert code not in tags, code
    assert "Remove filter: </span>Southwark" in body
    assert ">Clear filters</a>" in body


def test_each_tag_removes_only_its_own_filter(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _page(
        client, mps_analyst, "incidents:explore",
        borough=[SOUTHWARK, LAMBETH], method="body", sort="borough",
        assault_date_from="2020-06-01", assault_date_to="2030-08-31", after="abc",
    )  # fmt: skip
    assert response.context["total"] == 9
    tags = _tags(response.content.decode())
    dates = [("assault_date_from", "2020-06-01"), ("assault_date_to", "2030-08-31")]
    # The other filters and the sort stay; a page cursor never outlives the filter.
    assert _query(tags["Southwark"]) == sorted(
        [("borough", LAMBETH), ("method", "body"), ("sort", "borough"), *dates]
    )
    # A date range is one tag, and one removal.
    assert _query(tags["1 Jun 2020 \N{EN DASH} 31 Aug 2030"]) == sorted(
        [("borough", LAMBETH), ("borough", SOUTHWARK), ("method", "body"), ("sort", "borough")]
    )
    assert all(urlsplit(link).path == reverse("incidents:explore") for link in tags.values())
    # Following a tag's link drops that filter: every method in both boroughs.
    followed = client.get(tags["Body part"])
    assert followed.context["total"] == 31
    assert set(_tags(followed.content.decode())) == {
        "Southwark",
        "Lambeth",
        "1 Jun 2020 \N{EN DASH} 31 Aug 2030",
    }


def test_clear_filters_keeps_only_the_sort(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    body = _page(
        client, mps_analyst, "incidents:explore", borough=SOUTHWARK, sort="borough"
    ).content.decode()
    clear = [h for h in _hrefs(body) if "sort=" in h and "borough=" not in h]
    assert reverse("incidents:explore") + "?sort=borough" in clear
    assert (
        'id="applied-filters"'
        not in _page(client, mps_analyst, "incidents:explore").content.decode()
    )


def test_ward_tags_carry_the_ward_name_beside_its_code(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    Area.objects.create(kind=Area.Kind.WARD, code=WARD, name="Faraday", geometry="{}")
    body = _page(client, mps_analyst, "incidents:explore", ward=WARD).content.decode()
    assert f"Faraday ({WARD})" in _tags(body)


# --- the filter kept across tabs and back from a record ----------------------------------------


@pytest.mark.parametrize(
    "tab", ["incidents:explore", "incidents:charts", "incidents:map", "incidents:download"]
)
def test_every_tab_link_keeps_the_filter(
    client: Client, mps_analyst: User, seeded: dict[str, Any], tab: str
) -> None:
    params = {"borough": LAMBETH, "method": "body", "assault_date_from": "2020-01-01"}
    body = _page(client, mps_analyst, tab, **params).content.decode()
    nav = body.split('class="workspace-tabs"', 1)[1].split("</nav>", 1)[0]
    for target in ("incidents:explore", "incidents:charts", "incidents:map", "incidents:download"):
        links = [h for h in _hrefs(nav) if urlsplit(h).path == reverse(target)]
        assert links, f"{tab}: no tab link to {target}"
        assert _query(links[0]) == sorted(params.items()), f"{tab} -> {target}"


def test_back_to_explore_returns_to_the_same_filtered_page(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    params = {"borough": LAMBETH, "method": "body", "sort": "borough"}
    body = _page(client, mps_analyst, "incidents:explore", **params).content.decode()
    detail = reverse("incidents:incident_detail", args=[0]).rsplit("0/", 1)[0]
    record_links = [h for h in _hrefs(body) if h.startswith(detail) and h != detail]
    assert record_links and all(_query(h) == sorted(params.items()) for h in record_links)
    record = client.get(record_links[0])
    assert record.status_code == 200
    back = re.search(r'class="govuk-back-link" href="([^"]*)"', record.content.decode())
    assert back is not None
    again = client.get(html.unescape(back.group(1)))
    assert again.context["total"] == 9 and again.context["sort"].value == "borough"


def test_back_link_carries_only_filter_and_page_values(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    incident = Incident.objects.filter(borough_code=LAMBETH).first()
    assert incident is not None
    login_verified(client, mps_analyst)
    record = client.get(
        reverse("incidents:incident_detail", args=[incident.pk]),
        {"borough": LAMBETH, "token": "leaked-token-value"},
    )
    body = record.content.decode()
    assert "leaked-token-value" not in body
    assert f'href="{reverse("incidents:explore")}?borough={LAMBETH}">Back to explore' in body


def test_a_saved_query_opens_with_its_filter_and_tags(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, mps_analyst)
    client.post(
        reverse("incidents:saved_query_list") + f"?borough={LAMBETH}&method=body",
        {"name": "Lambeth body"},
    )
    saved = SavedQuery.objects.get()
    opened = client.get(reverse("incidents:saved_query_open", args=[saved.pk]), follow=True)
    assert opened.context["total"] == 9
    assert {"Lambeth", "Body part"} <= set(_tags(opened.content.decode()))


# --- the results table ---------------------------------------------------------------------------


def test_table_shows_names_beside_codes_and_precision_in_words(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    Area.objects.create(kind=Area.Kind.WARD, code=WARD, name="Faraday", geometry="{}")
    Incident.objects.filter(borough_code=SOUTHWARK).update(ward_code=WARD)
    response = _page(client, southwark_analyst, "incidents:explore")
    body = response.content.decode()
    table = body.split('id="results"', 1)[1].split("</table>", 1)[0]
    assert 'St Thomas&#x27; Hospital <span class="workspace-code">RJ122</span>' in table
    assert f'Faraday <span class="workspace-code">{WARD}</span>' in table
    # The Southwark analyst sees points snapped to a square: said in words, not a code.
    shown = {r["precision"] for r in response.context["page"].rows}
    assert shown and shown <= {PRECISION_SNAPPED, PRECISION_LSOA}
    for code in shown:
        assert f">{ws_labels.precision_label(code)}<" in table
        assert f">{code}<" not in table


def test_every_precision_has_words_from_one_place() -> None:
    codes = {*PRECISIONS, PRECISION_SNAPPED, PRECISION_LSOA, PRECISION_NONE, "exact"}
    assert codes <= set(PRECISION_LABELS)
    assert all("_" not in ws_labels.precision_label(code) for code in codes)
    assert ws_labels.precision_label(PRECISION_SNAPPED) == f"{SNAP_CELL_METRES} m square"


def test_the_record_page_uses_the_same_precision_words(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    incident = Incident.objects.filter(borough_code=LAMBETH).first()
    assert incident is not None
    body = _page(client, mps_analyst, "incidents:explore").content.decode()
    record = client.get(reverse("incidents:incident_detail", args=[incident.pk]))
    shown = re.search(r'id="precision-shown">([^<(]*)', record.content.decode())
    assert shown is not None
    words = shown.group(1).strip().lower()
    assert words in {ws_labels.precision_label(c).lower() for c in PRECISION_LABELS}
    assert f">{words}<" in body.lower()


def test_counts_and_range_have_thousands_separators(
    client: Client, mps_analyst: User, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidents.workspace import pagination

    monkeypatch.setattr(pagination, "PAGE_SIZE", 10)
    first = _page(client, mps_analyst, "incidents:explore")
    assert first.context["range_text"] == "1\N{EN DASH}10 of 34"
    body = first.content.decode()
    assert "1\N{EN DASH}10 of 34" in body
    second = client.get(reverse("incidents:explore"), {"after": first.context["page"].next_cursor})
    assert second.context["range_text"] == "11\N{EN DASH}20 of 34"
    last_cursor = second.context["page"].next_cursor
    third = client.get(reverse("incidents:explore"), {"after": last_cursor})
    fourth = client.get(reverse("incidents:explore"), {"after": third.context["page"].next_cursor})
    assert fourth.context["range_text"] == "31\N{EN DASH}34 of 34"
    back = client.get(
        reverse("incidents:explore"), {"before": third.context["page"].previous_cursor}
    )
    assert back.context["range_text"] == "11\N{EN DASH}20 of 34"


def test_big_totals_are_written_with_separators(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    submission = Incident.objects.filter(borough_code=LAMBETH).first().submission  # type: ignore[union-attr]
    make_incidents(submission, LAMBETH, seeded["month"], 1000, start_row=1000)
    response = _page(client, mps_analyst, "incidents:explore")
    body = response.content.decode()
    assert re.search(r'id="result-count"><strong>1,034</strong>', body)
    assert "1\N{EN DASH}50 of 1,034" in body


# --- the download page ---------------------------------------------------------------------------


def test_download_page_lists_the_filter_in_words(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    body = _page(
        client, mps_analyst, "incidents:download", borough=SOUTHWARK, method="knife",
        assault_date_from="2026-06-01", assault_date_to="2026-08-31",
    ).content.decode()  # fmt: skip
    summary = body.split('id="download-filter"', 1)[1].split("</dl>", 1)[0]
    for words in ("Borough", "Southwark", "Assault method", "Knife or blade",
                  "1 Jun \N{EN DASH} 31 Aug 2026"):  # fmt: skip
        assert words in summary, words
    for raw in (SOUTHWARK, ">borough<", ">method<", "knife<", "assault_date_from", "2026-06-01"):
        assert raw not in summary, raw


# --- GOV.UK form errors --------------------------------------------------------------------------


def test_a_query_without_a_name_is_refused_beside_the_field(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, mps_analyst)
    url = reverse("incidents:saved_query_list") + f"?borough={LAMBETH}"
    response = client.post(url, {"name": "  "})
    body, summary = _refused(response)
    assert not SavedQuery.objects.exists()
    assert response.context["total"] == 9  # still the filtered page
    assert '<a href="#id_name">Enter a name for this query</a>' in summary
    assert 'id="id_name-error"' in body and 'aria-describedby="id_name-error"' in body
    assert "<title>Error: " in body
    # The filter panel and tags still point at explore, not at the saved queries page.
    assert f'action="{reverse("incidents:explore")}"' in body


def test_an_impossible_date_says_enter_a_real_date_at_the_field(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    body, summary = _refused(_page(
        client, mps_analyst, "incidents:explore",
        assault_date_from="2026-02-30", assault_date_to="2026-01-01", arrival_date_to="nope",
    ))  # fmt: skip
    assert re.search(r'href="#f-assault_date_from">Enter a real date', summary)
    assert re.search(r'href="#f-arrival_date_to">Enter a real date', summary)
    assert body.index("govuk-error-summary") < body.index('<h1 class="govuk-heading-l">')
    assert 'id="f-assault_date_from-error"' in body and 'id="f-arrival_date_to-error"' in body
    assert re.search(r'class="govuk-input govuk-input--width-10 govuk-input--error" '
                     r'id="f-assault_date_from"', body)  # fmt: skip
    # The arrival dates sit in a collapsed section: it opens to show its error.
    assert re.search(r'<details class="govuk-details" open>\s*<summary[^>]*>'
                     r'<span class="govuk-details__summary-text">Arrival date', body)  # fmt: skip


def test_a_range_that_ends_before_it_starts_is_an_error_at_the_end_date(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    body, summary = _refused(_page(
        client, mps_analyst, "incidents:explore",
        assault_date_from="2026-03-01", assault_date_to="2026-01-01",
    ))  # fmt: skip
    assert re.search(r'href="#f-assault_date_to">The end date must be', summary)
    assert 'id="f-assault_date_to-error"' in body


# --- a sparse aggregate download --------------------------------------------------------------


def test_a_too_sparse_aggregate_download_stays_on_the_portal_page(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, aggregate_user)
    # Every borough of London for 34 incidents: too sparse to publish by borough.
    response = client.post(reverse("incidents:download"), {"format": "csv", "group_by": "borough"})
    body, summary = _refused(response)
    assert response["Content-Type"].startswith("text/html")
    assert "Download the filtered data" in body  # the portal page, not the API's
    assert "Django REST framework" not in body
    assert 'href="#id_group_by"' in summary and "Too few incidents" in html.unescape(summary)
    assert 'id="id_group_by-error"' in body
    events = AuditEvent.objects.filter(actor=aggregate_user, action="data.viewed")
    assert [e.details["endpoint"] for e in events] == ["pages/download"]
    # A grouping that can be published still hands off to the export.
    ok = client.post(
        reverse("incidents:download") + f"?{BOROUGHS_WITH_DATA}",
        {"format": "csv", "group_by": "borough"},
    )
    assert ok.status_code == 303


def test_day_range_words() -> None:
    assert ws_labels.day_range(dt.date(2026, 6, 1), dt.date(2026, 8, 31)) == (
        "1 Jun \N{EN DASH} 31 Aug 2026"
    )
    assert ws_labels.day_range(dt.date(2025, 12, 1), dt.date(2026, 1, 31)) == (
        "1 Dec 2025 \N{EN DASH} 31 Jan 2026"
    )
    assert ws_labels.day_range(dt.date(2026, 6, 1), None) == "From 1 Jun 2026"
    assert ws_labels.day_range(None, dt.date(2026, 6, 1)) == "Up to 1 Jun 2026"
