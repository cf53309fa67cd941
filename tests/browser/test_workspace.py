"""The analyst workspace in headless Chromium: sign in with MFA, filter, table, chart,
map and a CSV download; suppressed counts for an aggregate-only user; axe-core checks."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    MAP_LOADED,
    WAIT_SECONDS,
    assert_no_axe_violations,
    browser,
    driver,
    filter_explore_by_borough,
    live_server_closes_connections,
    open_page,
    open_page_as,
    save_screenshot,
    wait_for,
)
from tests.personas import SOUTHWARK
from tests.workspace_pages.conftest import (  # noqa: F401  (fixtures)
    BOROUGHS_WITH_DATA,
    areas,
    codes,
    seeded,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _console_errors(browser: WebDriver) -> list[str]:  # noqa: F811  (not the fixture)
    return [e["message"] for e in browser.get_log("browser") if e.get("level") == "SEVERE"]


def test_analyst_filters_sees_table_chart_map_and_downloads_csv(
    driver: WebDriver,  # noqa: F811
    live_server,
    mps_analyst: User,
    seeded: dict,  # noqa: F811
) -> None:
    base = live_server.url
    open_page_as(driver, base, mps_analyst, "/data/dashboard/", "#last-month")
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.execute_script(
            "return !!(window.Chart && Chart.getChart(document.getElementById('trend-chart')))"
        )
    )
    assert_no_axe_violations(driver, "dashboard")
    save_screenshot(driver, "workspace-dashboard")

    open_page(driver, f"{base}/data/explore/", "#results")
    filter_explore_by_borough(driver, SOUTHWARK)
    rows = driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert len(rows) == 22
    assert "22" in driver.find_element(By.ID, "result-count").text
    assert_no_axe_violations(driver, "explore page")
    save_screenshot(driver, "workspace-explore")

    driver.find_element(By.LINK_TEXT, "Charts").click()
    wait_for(driver, By.ID, "chart-month")
    assert f"borough={SOUTHWARK}" in driver.current_url  # the filter travels with the tab
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.execute_script(
            "return !!Chart.getChart(document.getElementById('chart-month'))"
        )
    )

    driver.find_element(By.LINK_TEXT, "Map").click()
    wait_for(driver, By.CSS_SELECTOR, MAP_LOADED)
    paths = driver.find_elements(By.CSS_SELECTOR, "#workspace-map svg path.leaflet-interactive")
    assert len(paths) >= 2  # the borough boundary plus the density circles
    assert_no_axe_violations(driver, "map page")
    save_screenshot(driver, "workspace-map")

    driver.find_element(By.LINK_TEXT, "Download").click()
    wait_for(driver, By.ID, "id_purpose").send_keys("Hotspot review for the partnership")
    # Submit the page's own form with the page's session and read what comes back
    # (the 303 hand-off is followed to the streaming export endpoint).
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const form = document.getElementById("id_purpose").form;
        fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
          .then(async (r) => {
            const bytes = new Uint8Array(await r.arrayBuffer());
            let binary = "";
            for (const b of bytes) binary += String.fromCharCode(b);
            done(JSON.stringify({status: r.status, url: r.url,
              type: r.headers.get("Content-Type"), body: btoa(binary)}));
          })
          .catch((e) => done(JSON.stringify({error: String(e)})));
        """
    )
    download = json.loads(result)
    assert download.get("status") == 200, download
    assert "/api/v1/exports/incidents.csv" in download["url"]
    # A zip package: the CSV, its data dictionary and the manifest.
    assert download["type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(download["body"]))) as package:
        lines = package.read("incidents.csv").decode().strip().splitlines()
        manifest = json.loads(package.read("manifest.json"))
    assert len(lines) == 23 and lines[0].startswith("id,")
    assert manifest["row_count"] == 22
    assert _console_errors(driver) == []


def test_aggregate_user_sees_suppressed_counts(
    driver: WebDriver,  # noqa: F811
    live_server,
    aggregate_user: User,
    seeded: dict,  # noqa: F811
) -> None:
    base = live_server.url
    table = open_page_as(
        driver,
        base,
        aggregate_user,
        f"/data/explore/?{BOROUGHS_WITH_DATA}",
        "table[data-dimension=borough]",
    )
    cells = [c.text for c in table.find_elements(By.CSS_SELECTOR, "tbody td")]
    assert "*" in cells
    assert driver.find_elements(By.CSS_SELECTOR, "[data-disclosure]")
    assert not driver.find_elements(By.ID, "results")
    open_page(driver, f"{base}/data/explore/map/?level=borough&{BOROUGHS_WITH_DATA}", MAP_LOADED)
    assert not driver.find_element(By.ID, "map-disclosure").get_attribute("hidden")
    save_screenshot(driver, "workspace-aggregate-map")
    assert _console_errors(driver) == []
