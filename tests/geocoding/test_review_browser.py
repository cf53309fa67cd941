"""The review page in headless Chromium: map drawn without tiles, click to place a point."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import Membership
from incidents.geocoding.geocoder import Geocoder
from incidents.geocoding.models import LearnedAlias, ReviewItem
from incidents.geocoding.services import review_items_record
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    WAIT_SECONDS,
    assert_no_axe_violations,
    browser,
    csp_violations,
    driver,
    live_server_closes_connections,
    sign_in_with_totp,
    wait_for,
)
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_data_manager_places_a_point_by_clicking_the_map(
    driver,  # noqa: F811  (the fixture imported above)
    live_server,
    mini_geocoder: Geocoder,
) -> None:
    result = mini_geocoder.geocode("Albert Road", "RJZ01")
    review_items_record(results=[(result, "RJZ01")])
    item = ReviewItem.objects.get()
    manager = MembershipFactory(role=Membership.Role.DATA_MANAGER).user
    sign_in_with_totp(driver, live_server.url, manager)

    driver.get(f"{live_server.url}/geocoding/review/{item.pk}/")
    # Three borough outlines from the gazetteer plus two candidate markers, no tile server.
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#review-map path.leaflet-interactive")) >= 5
    )
    assert csp_violations(driver) == []
    assert_no_axe_violations(driver, "geocoding review page")
    ActionChains(driver).move_to_element_with_offset(
        driver.find_element(By.ID, "review-map"), 5, 5
    ).click().perform()
    lat = wait_for(driver, By.ID, "id_lat")
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: lat.get_attribute("value"))
    typed_lat = float(lat.get_attribute("value"))
    driver.find_element(By.CSS_SELECTOR, "button[value=point]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.current_url.endswith("/geocoding/review/")
    )
    alias = LearnedAlias.objects.get()
    assert alias.result_class == "place" and alias.lat == pytest.approx(typed_lat)
