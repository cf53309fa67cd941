"""Every page a persona can open passes axe-core (WCAG 2.2 AA) and never scrolls sideways,
on a desktop (1366 px) and a small phone (375 px).

The pages are the permission matrix's GET cases that answer 200 (tests/permission_matrix.py),
one persona per page (the first the matrix lets in), plus the pages listed in
``EXTRA_PAGES`` that the matrix does not cover yet. The browser is signed in with a
session made on a test client (the sign-in pages themselves are checked in
test_sign_in.py), which keeps this module quick enough for every ``make test``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.accounts.test_permission_matrix import (  # noqa: F401  (fixtures the matrix names)
    aggregate_pattern_flag,
    mps_analyst_token,
    southwark_membership,
)
from tests.browser.conftest import assert_no_axe_violations, save_screenshot, wait_for
from tests.factories import login_verified
from tests.permission_matrix import ANONYMOUS, CASES, Case, Fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 375)
HEIGHT = 900


# What sticks out past the window's right edge, to name in a failure: the innermost
# elements that do (a box, or text overflowing its box) outside any scrolling region.
TOO_WIDE = """
const limit = window.innerWidth + 1;
const scrolls = (e) => ["auto", "scroll", "hidden"].includes(getComputedStyle(e).overflowX);
const inScroller = (e) => { for (let a = e.parentElement; a; a = a.parentElement) {
  if (scrolls(a)) return true; } return false; };
const sticks = (e) => {
  if (inScroller(e)) return false;
  const box = e.getBoundingClientRect();
  return box.right > limit
    || (getComputedStyle(e).overflowX === "visible" && box.left + e.scrollWidth > limit);
};
const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
  + [...e.classList].slice(0, 2).map((c) => "." + c).join("");
return [...document.body.querySelectorAll("*")]
  .filter((e) => sticks(e) && ![...e.children].some(sticks))
  .slice(0, 5)
  .map((e) => name(e) + (e.closest("table") ? " in " + name(e.closest("table")) : ""));
"""


@dataclass(frozen=True)
class Page:
    label: str
    url: str | Callable[[Fixture], str]
    persona: str
    # Fixtures to create first, so the page has something to show (rows in its tables).
    needs: tuple[str, ...] = ()

    def resolve_url(self, fx: Fixture) -> str:
        return Case("GET", self.url, self.persona, 200).resolve_url(fx)


# Pages the permission matrix does not list (yet). A page the matrix gains is taken from
# the matrix instead (its label is the same URL name).
EXTRA_PAGES = (
    Page("incidents:dashboard", "incidents:dashboard", "southwark_analyst"),
    Page("incidents:explore", "incidents:explore", "southwark_analyst"),
    Page("incidents:charts", "incidents:charts", "southwark_analyst"),
    Page("incidents:map", "incidents:map", "southwark_analyst"),
    Page("incidents:top_locations", "incidents:top_locations", "southwark_analyst"),
    Page("incidents:licensing", "incidents:licensing", "southwark_analyst"),
    Page("incidents:saved_query_list", "incidents:saved_query_list", "southwark_analyst"),
    Page("incidents:police_gap", "incidents:police_gap", "southwark_analyst"),
    Page("incidents:hotspots", "incidents:hotspots", "southwark_analyst"),
    Page("incidents:hotspots (aggregate)", "incidents:hotspots", "aggregate_user"),
    Page("incidents:alert_list", "incidents:alert_list", "southwark_analyst"),
    Page("incidents:transparency", "incidents:transparency", "liaison_a"),
    Page("incidents:monitoring_list", "incidents:monitoring_list", "data_manager"),
    Page("ingest:submission_list", "ingest:submission_list", "liaison_a"),
    Page("ingest:submission_upload", "ingest:submission_upload", "liaison_a"),
    Page("ingest:tracker", "ingest:tracker", "data_manager", needs=("site_a", "site_b")),
    Page("ingest:review_queue", "ingest:review_queue", "data_manager"),
    Page("audit:event_list", "audit:event_list", "access_admin", needs=("southwark_analyst",)),
    Page("ingest:reference_codes", "ingest:reference_codes", "data_manager"),
    Page("ingest:police_crime_upload", "ingest:police_crime_upload", "data_manager"),
    Page("geocoding:review_list", "geocoding:review_list", "data_manager"),
    Page("programme:guidance", "programme:guidance", "liaison_a"),
    Page("programme:agreement_list", "programme:agreement_list", "access_admin"),
    Page("programme:release_list", "programme:release_list", "data_manager"),
    Page("programme:case_study_list", "programme:case_study_list", "data_manager"),
    Page("programme:impact", "programme:impact", "data_manager"),
    Page(
        "programme:feedback_index",
        "programme:feedback_index",
        "data_manager",
        needs=("site_a", "site_b"),
    ),
    Page("mfa_index", "mfa_index", "southwark_analyst"),
    Page("usersessions_list", "usersessions_list", "southwark_analyst"),
)


def _label(url: str | Callable[[Fixture], str]) -> str:
    return url if isinstance(url, str) else str(getattr(url, "label", "url"))


def pages() -> list[Page]:
    found: dict[str, Page] = {}
    for case in CASES:
        label = _label(case.url)
        if case.method == "GET" and case.status == 200 and case.persona != ANONYMOUS:
            found.setdefault(label, Page(label, case.url, case.persona))
    for page in EXTRA_PAGES:
        found.setdefault(page.label, page)
    return list(found.values())


PAGES = pages()


@pytest.fixture
def viewport(driver: WebDriver) -> Iterator[Callable[[int], None]]:
    """Emulates a viewport of the given CSS width (a headless window cannot be made as
    narrow as a phone); the session's browser is put back afterwards."""

    def set_width(width: int) -> None:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )

    yield set_width
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _sign_in(driver: WebDriver, base_url: str, user: Any) -> None:
    """Give the browser the session of a test client that passed password and TOTP."""
    client = Client()
    login_verified(client, user)
    driver.get(base_url + "/data-sources/")
    driver.add_cookie(
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "path": "/",
        }
    )


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("page", PAGES, ids=[f"{p.label} as {p.persona}" for p in PAGES])
def test_page_is_accessible_and_fits_the_screen(
    page: Page, width: int, driver: WebDriver, live_server, viewport, request
) -> None:
    def fx(name: str) -> Any:
        return request.getfixturevalue(name)

    for name in page.needs:
        fx(name)
    user = fx(page.persona)
    target = page.resolve_url(fx)
    client = Client()
    login_verified(client, user)
    assert client.get(target).status_code == 200, f"{target} as {page.persona}"

    _sign_in(driver, live_server.url, user)
    viewport(width)
    driver.get(live_server.url + target)
    wait_for(driver, By.TAG_NAME, "h1")
    assert driver.execute_script("return window.innerWidth") == width
    name = f"{page.label} at {width} px"
    assert_no_axe_violations(driver, name)
    scroll_width, inner_width = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width + 1, (
        f"{name} scrolls sideways: content {scroll_width} px wide in a {inner_width} px window;"
        f" too wide: {driver.execute_script(TOO_WIDE)}"
    )
    # The GDS Transport fonts are licensed for GOV.UK services only: no page may ask for them.
    fonts = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((n) => n.includes('/assets/fonts/'))"
    )
    assert fonts == [], f"{name} asks for fonts it may not use: {fonts}"
    save_screenshot(driver, name.replace(":", "-").replace(" ", "-"))
