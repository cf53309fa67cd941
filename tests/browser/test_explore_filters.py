"""The explore pages in headless Chromium: applied-filter tags that remove themselves, the
filter kept across tabs and back from a record, the keyboard route to the first result,
and the page at a laptop's width and a phone's (axe-core, no sideways scrolling)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    CHROMIUM_ARGS,
    WAIT_SECONDS,
    assert_no_axe_violations,
    browser,
    csp_violations,
    driver,
    filter_explore_by_borough,
    live_server_closes_connections,
    open_page_as,
    save_screenshot,
    wait_for,
)
from tests.personas import LAMBETH, SOUTHWARK
from tests.workspace_pages.conftest import areas, codes, seeded  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_TABS_TO_FIRST_RESULT = 10
# The session browser's size (conftest's --window-size), restored after resizing.
DEFAULT_SIZE = next(
    tuple(int(n) for n in a.split("=", 1)[1].split(","))
    for a in CHROMIUM_ARGS
    if a.startswith("--window-size=")
)


@pytest.fixture
def resizable(driver: WebDriver) -> Iterator[WebDriver]:  # noqa: F811
    yield driver
    driver.set_window_size(*DEFAULT_SIZE)


OpenPage = Callable[[str, str], WebElement]


@pytest.fixture
def as_analyst(
    driver: WebDriver,  # noqa: F811
    live_server,
    mps_analyst: User,
    seeded: dict,  # noqa: F811
) -> OpenPage:
    """``as_analyst(path, ready)``: sign in as the pan-London record-level analyst (over
    ``seeded``), open ``path`` and wait for the CSS selector ``ready``."""
    return functools.partial(open_page_as, driver, live_server.url, mps_analyst)


def _filter(url: str) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in parse_qsl(urlsplit(url).query) if k != "sort")


def _total(driver: WebDriver) -> str:  # noqa: F811
    return driver.find_element(By.CSS_SELECTOR, "#result-count strong").text


def _seen(element: WebElement) -> str:
    """The text a sighted user sees: without the visually hidden words."""
    return element.parent.execute_script(
        "const copy = arguments[0].cloneNode(true);"
        "copy.querySelectorAll('.govuk-visually-hidden').forEach((e) => e.remove());"
        "return copy.textContent.trim();",
        element,
    )


def test_a_filter_tag_removes_its_filter(
    driver: WebDriver,  # noqa: F811
    as_analyst: OpenPage,
) -> None:
    as_analyst("/data/explore/", "#results")
    assert _total(driver) == "34"
    assert not driver.find_elements(By.ID, "applied-filters")
    filter_explore_by_borough(driver, SOUTHWARK)
    tag = wait_for(driver, By.CSS_SELECTOR, "#applied-filters a.workspace-filter-tag")
    assert _seen(tag) == "Southwark ✕"
    # Screen readers hear what the link does.
    assert tag.get_attribute("textContent").startswith("Remove filter: Southwark")
    assert _total(driver) == "22"
    save_screenshot(driver, "explore-filter-tag")
    tag.click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: "borough=" not in d.current_url)
    wait_for(driver, By.ID, "results")
    assert not driver.find_elements(By.ID, "applied-filters")
    assert not driver.find_element(
        By.CSS_SELECTOR, f"input[name=borough][value={SOUTHWARK}]"
    ).is_selected()
    assert _total(driver) == "34"
    assert csp_violations(driver) == []


def test_the_filter_is_kept_across_tabs_and_back_from_a_record(
    driver: WebDriver,  # noqa: F811
    as_analyst: OpenPage,
) -> None:
    chosen = sorted([("borough", LAMBETH), ("method", "body")])
    as_analyst(f"/data/explore/?borough={LAMBETH}&method=body", "#results")
    for tab, ready in (
        ("Charts", "chart-month"),
        ("Map", "workspace-map"),
        ("Download", "id_purpose"),
        ("Table", "results"),
    ):
        driver.find_element(By.CSS_SELECTOR, "nav.workspace-tabs").find_element(
            By.LINK_TEXT, tab
        ).click()
        wait_for(driver, By.ID, ready)
        assert _filter(driver.current_url) == chosen, tab
        tags = driver.find_elements(By.CSS_SELECTOR, "#applied-filters a.workspace-filter-tag")
        assert {_seen(t) for t in tags} == {"Lambeth ✕", "Body part ✕"}, tab
    assert _total(driver) == "9"
    driver.find_element(By.CSS_SELECTOR, "#results tbody tr a").click()
    wait_for(driver, By.ID, "record")
    driver.find_element(By.LINK_TEXT, "Back to explore").click()
    wait_for(driver, By.ID, "results")
    assert _filter(driver.current_url) == chosen
    assert _total(driver) == "9"


def test_a_keyboard_user_reaches_the_first_result_in_a_few_tab_presses(
    driver: WebDriver,  # noqa: F811
    as_analyst: OpenPage,
) -> None:
    first = as_analyst(f"/data/explore/?borough={LAMBETH}&method=body", "#results tbody tr a")
    driver.execute_script("document.activeElement && document.activeElement.blur()")
    presses = 0
    while presses < 60:
        ActionChains(driver).send_keys(Keys.TAB).perform()
        presses += 1
        active = driver.switch_to.active_element
        if active == first:
            break
        if active.get_attribute("textContent") == "Skip to results":
            active.send_keys(Keys.ENTER)  # the skip link: Enter is not a Tab press
    print(f"Tab presses from the top of explore to the first result: {presses}")  # noqa: T201
    assert driver.switch_to.active_element == first
    assert presses <= MAX_TABS_TO_FIRST_RESULT


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (375, 812)])
def test_explore_fits_the_screen_and_passes_axe(
    resizable: WebDriver, as_analyst: OpenPage, width: int, height: int
) -> None:
    driver = resizable  # noqa: F811
    driver.set_window_size(width, height)
    as_analyst(f"/data/explore/?borough={SOUTHWARK}&method=knife", "#applied-filters")
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: (
            "govuk-frontend-supported" in d.find_element(By.TAG_NAME, "body").get_attribute("class")
        )
    )
    inner = driver.execute_script("return window.innerWidth")
    assert abs(inner - width) <= 20, f"viewport {inner} px for a {width} px window"
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    print(f"explore at {width} px: scrollWidth {scroll}, innerWidth {inner}")  # noqa: T201
    assert scroll <= inner, f"horizontal scroll at {width} px: {scroll} > {inner}"
    panel = driver.find_element(By.ID, "workspace-filters")
    toggle = driver.find_elements(By.CSS_SELECTOR, "button.workspace-filter-toggle")
    if width >= 1000:
        # The whole results table, description included, is on screen.
        table = driver.find_element(By.ID, "results")
        right = driver.execute_script("return arguments[0].getBoundingClientRect().right", table)
        assert right <= inner
        header = driver.find_element(By.XPATH, "//th[normalize-space()='Location description']")
        assert header.is_displayed()
        assert panel.is_displayed() and not (toggle and toggle[0].is_displayed())
    else:
        assert toggle and toggle[0].text == "Show filters"
        assert not panel.is_displayed()
        assert toggle[0].get_attribute("aria-expanded") == "false"
        toggle[0].click()
        assert panel.is_displayed() and toggle[0].text == "Hide filters"
        assert toggle[0].get_attribute("aria-expanded") == "true"
    save_screenshot(driver, f"explore-{width}")
    driver.execute_script("document.getElementById('results').scrollIntoView()")
    save_screenshot(driver, f"explore-{width}-table")
    assert_no_axe_violations(driver, f"explore page at {width} px")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= driver.execute_script("return window.innerWidth")
    assert csp_violations(driver) == []
