"""The aggregate-only persona's dashboard and charts in headless Chromium: a hidden first
month stays in the trend with its marker and a note, the count tables are focusable
regions, axe-core passes and nothing scrolls sideways at 1366 and 375 px."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from hospitals.models import HospitalSite
from incidents.workspace.dashboard import dashboard_months
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    WAIT_SECONDS,
    assert_no_axe_violations,
    browser,
    driver,
    live_server_closes_connections,
    save_screenshot,
    sign_in_with_totp,
    wait_for,
)
from tests.personas import LAMBETH, SOUTHWARK
from tests.workspace_pages.conftest import (  # noqa: F401  (fixtures)
    areas,
    codes,
    make_incidents,
    make_submission,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 375)


@pytest.fixture
def hidden_first_month(site_a: HospitalSite, areas: None, codes: None) -> list[dt.date]:  # noqa: F811
    """The dashboard's 24 months: 3 incidents in the first (hidden), 20 in each other."""
    span = dashboard_months()
    make_incidents(make_submission(site_a, span[0]), SOUTHWARK, span[0] + dt.timedelta(days=1), 3)
    for month in span[1:]:
        submission = make_submission(site_a, month)
        make_incidents(submission, LAMBETH, month + dt.timedelta(days=1), 20, start_row=100)
    return span


@pytest.fixture
def width(driver: WebDriver) -> Iterator[object]:  # noqa: F811
    """``width(px)`` emulates a viewport of that width; the session's browser is reset after."""

    def _set(px: int) -> None:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": px, "height": 900, "deviceScaleFactor": 1, "mobile": px < 640},
        )

    yield _set
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _no_sideways_scroll(page: WebDriver) -> bool:
    return bool(
        page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth;")
    )


def _check_regions(page: WebDriver) -> None:
    """Every count table sits in a labelled region a keyboard user can focus (the tables
    folded in "as a table" details are opened first, as a user would)."""
    page.execute_script("document.querySelectorAll('details').forEach(d => { d.open = true; });")
    regions = page.find_elements(By.CSS_SELECTOR, ".workspace-table-wrap")
    assert regions
    for region in regions:
        assert region.get_attribute("role") == "region"
        assert region.get_attribute("tabindex") == "0"
        assert region.get_attribute("aria-label")
        page.execute_script("arguments[0].focus();", region)
        assert page.execute_script("return document.activeElement === arguments[0];", region)


def test_aggregate_persona_sees_the_hidden_month_marked_on_dashboard_and_charts(
    driver: WebDriver,  # noqa: F811
    live_server,
    aggregate_user: User,
    hidden_first_month: list[dt.date],
    width,
) -> None:
    base = live_server.url
    first = hidden_first_month[0]
    sign_in_with_totp(driver, base, aggregate_user)
    end = hidden_first_month[-1]
    charts_query = (
        f"assault_date_from={first.isoformat()}&assault_date_to="
        f"{(end.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)}"
    )
    pages = (
        ("dashboard", f"{base}/data/dashboard/", "trend-chart"),
        ("charts", f"{base}/data/explore/charts/?{charts_query}", "chart-month"),
    )
    for px in WIDTHS:
        width(px)
        for name, url, canvas in pages:
            driver.get(url)
            assert driver.execute_script("return window.innerWidth;") == px
            WebDriverWait(driver, WAIT_SECONDS).until(
                lambda d, c=canvas: d.execute_script(
                    f"return !!(window.Chart && Chart.getChart(document.getElementById('{c}')))"
                )
            )
            row = driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{first:%Y-%m}"]')
            cell = row.find_element(By.CSS_SELECTOR, "td[data-suppressed=small_count]")
            assert cell.get_attribute("textContent").strip() == "*"
            note = driver.find_element(By.CSS_SELECTOR, "[data-trend-note]").text
            assert f"{first:%B %Y} is hidden" in note
            # The month is a gap in the drawn line, not missing from it.
            labels, value = driver.execute_script(
                "const c = Chart.getChart(document.getElementById(arguments[0]));"
                "return [c.data.labels.length, c.data.datasets[0].data[0]];",
                canvas,
            )
            assert labels == len(hidden_first_month) if name == "dashboard" else labels >= 1
            assert value is None
            assert len(driver.find_elements(By.CSS_SELECTOR, "[data-disclosure]")) == 1
            _check_regions(driver)
            assert _no_sideways_scroll(driver), f"{name} scrolls sideways at {px} px"
            assert_no_axe_violations(driver, f"{name} at {px} px")
            save_screenshot(driver, f"disclosure-markers-{name}-{px}")
