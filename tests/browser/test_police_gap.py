"""The Police gap page in headless Chromium, with known synthetic counts: the table's
flags, the map shaded from them (one red and one blue area), and axe-core passes."""

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
from tests.workspace_api.test_police_gap import gap_world, geography  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_police_gap_table_and_map_are_accessible(
    driver: WebDriver,  # noqa: F811
    live_server,
    mps_analyst: User,
    gap_world: None,  # noqa: F811
) -> None:
    table = open_page_as(
        driver, live_server.url, mps_analyst, "/data/explore/police-gap/", "#gap-table"
    )
    flagged = [
        row.get_attribute("data-flag")
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr[data-flag]")
    ]
    assert sorted(flagged) == ["ED unusually high", "ED unusually low"]
    WebDriverWait(driver, 10).until(
        lambda d: "Map drawn" in d.find_element(By.ID, "gap-map-status").text
    )
    fills = {
        path.get_attribute("fill")
        for path in driver.find_elements(By.CSS_SELECTOR, "#gap-map path.leaflet-interactive")
    }
    assert {"#d4351c", "#1d70b8"} <= fills
    assert_no_axe_violations(driver, "police gap")
    assert not csp_violations(driver)
