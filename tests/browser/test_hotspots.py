"""The Hotspots page in headless Chromium: the seeded cluster drawn as hot squares in the
map's colours, the density layer in the layer control, keyboard-reachable options, and
axe-core passes; an aggregate user's LSOA map is drawn from the boundaries."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    assert_no_axe_violations,
    csp_violations,
    driver,
    open_page_as,
)
from tests.workspace_api.test_hotspots import seeded_cluster  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
QUERY = "?assault_date_from=2025-01-01&assault_date_to=2025-01-31"


def _drawn(browser: WebDriver) -> str:
    WebDriverWait(browser, 15).until(
        lambda d: (
            "Map drawn" in d.find_element(By.ID, "hotspot-map-status").text
            or "could not" in d.find_element(By.ID, "hotspot-map-status").text
        )
    )
    return browser.find_element(By.ID, "hotspot-map-status").text


def test_hot_squares_and_the_density_layer_are_drawn_and_accessible(
    driver: WebDriver,  # noqa: F811
    live_server,
    southwark_analyst: User,
    seeded_cluster: dict[str, int],  # noqa: F811
) -> None:
    table = open_page_as(
        driver,
        live_server.url,
        southwark_analyst,
        f"/data/explore/hotspots/{QUERY}&kde=1",
        "#hotspot-table",
    )
    assert table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert "Map drawn" in _drawn(driver)
    layers = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers").text
    assert "Density surface (descriptive)" in layers and "Hot and cold spots (tested)" in layers
    assert_no_axe_violations(driver, "hotspots (grid)")
    assert not csp_violations(driver)


def test_an_aggregate_user_sees_lsoas_with_no_scores(
    driver: WebDriver,  # noqa: F811
    live_server,
    aggregate_user: User,
    seeded_cluster: dict[str, int],  # noqa: F811
) -> None:
    open_page_as(
        driver,
        live_server.url,
        aggregate_user,
        f"/data/explore/hotspots/{QUERY}",
        "#hotspot-classes",
    )
    body = driver.find_element(By.TAG_NAME, "main").text
    assert "Gi* z-score" not in body
    assert not driver.find_elements(By.ID, "level-grid")
    _drawn(driver)
    assert_no_axe_violations(driver, "hotspots (LSOA, aggregate)")
    assert not csp_violations(driver)
