"""Top locations and the licensing view in headless Chromium, with seeded named places:
the ranked table, the per-place hour-of-week tables and the printable licensing view pass
axe-core; an aggregate-only user sees the note and no record links."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from accounts.models import User
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    assert_no_axe_violations,
    driver,
    open_page_as,
)
from tests.workspace_pages.conftest import areas, codes, seeded  # noqa: F401  (fixtures)
from tests.workspace_pages.top_locations_data import places  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_top_locations_and_licensing_view_are_accessible(
    driver: WebDriver,  # noqa: F811
    live_server,
    mps_analyst: User,
    places: dict,  # noqa: F811
) -> None:
    table = open_page_as(
        driver, live_server.url, mps_analyst, "/data/explore/places/", "#top-locations"
    )
    names = [th.text for th in table.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")]
    assert names == ["Brixton Road", "Borough High Street", "The Ship", "Whitechapel Road"]
    driver.find_element(By.CSS_SELECTOR, "details.govuk-details summary").click()
    assert_no_axe_violations(driver, "top locations")
    driver.find_element(
        By.LINK_TEXT, "Licensing view: licensed premises by hour and weekday"
    ).click()
    premises = driver.find_element(By.CSS_SELECTOR, "table.licensing-premises caption")
    assert premises.text.startswith("The Ship")
    assert driver.find_element(By.ID, "licensing-csv").is_displayed()
    assert_no_axe_violations(driver, "licensing view")


def test_aggregate_user_sees_the_threshold_note_and_no_record_links(
    driver: WebDriver,  # noqa: F811
    live_server,
    aggregate_user: User,
    places: dict,  # noqa: F811
    settings,
) -> None:
    settings.TOP_LOCATIONS_MIN_COUNT = 9
    open_page_as(
        driver,
        live_server.url,
        aggregate_user,
        "/data/explore/places/",
        "#top-locations-disclosure",
    )
    rows = driver.find_elements(By.CSS_SELECTOR, "#top-locations tbody th[scope=row]")
    assert [row.text for row in rows] == ["Brixton Road"]
    assert not driver.find_elements(By.CSS_SELECTOR, "#top-locations a")
    assert_no_axe_violations(driver, "top locations (aggregate)")
