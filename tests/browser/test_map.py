"""The analyst map in headless Chromium: the layer control by keyboard, clusters at a
London zoom and points once zoomed in, the offline base of outlines, the legend matching
the fills, and axe-core at desktop and phone widths."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    MAP_LOADED,
    WAIT_SECONDS,
    assert_no_axe_violations,
    browser,
    driver,
    live_server_closes_connections,
    open_page_as,
    save_screenshot,
)
from tests.workspace_pages.conftest import (  # noqa: F401  (fixtures)
    BOROUGHS_WITH_DATA,
    areas,
    codes,
    seeded,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every published incident the pan-London record-level analyst may see in ``seeded``.
VISIBLE_INCIDENTS = 12 + 9 + 3 + 10


def _count(page: WebDriver, css: str) -> int:
    return len(page.find_elements(By.CSS_SELECTOR, css))


def _zoom(page: WebDriver) -> int:
    return int(page.find_element(By.ID, "workspace-map").get_attribute("data-zoom"))


def _wait(page: WebDriver, condition, message: str) -> None:  # type: ignore[no-untyped-def]
    try:
        WebDriverWait(
            page, WAIT_SECONDS, ignored_exceptions=[StaleElementReferenceException]
        ).until(condition)
    except TimeoutException:
        console = [e["message"] for e in page.get_log("browser")]
        shown = page.execute_script(
            "var s = document.getElementById('map-status'); return s ? s.textContent : null"
        )
        raise AssertionError(f"{message}; status {shown!r}; console: {console}") from None


def _layer_input(page: WebDriver, label_start: str):  # type: ignore[no-untyped-def]
    for label in page.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers label"):
        if label.text.strip().startswith(label_start):
            return label.find_element(By.TAG_NAME, "input")
    raise AssertionError(f"no layer called {label_start!r} in the layer control")


def _tab_to(page: WebDriver, target) -> None:  # type: ignore[no-untyped-def]
    """Press Tab from the map until ``target`` has the focus (it must be reachable)."""
    page.execute_script("document.getElementById('workspace-map').focus()")
    for _ in range(100):
        if page.switch_to.active_element == target:
            return
        page.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError("the layer control cannot be reached with the Tab key")


def _toggle_by_keyboard(page: WebDriver, target) -> None:  # type: ignore[no-untyped-def]
    _tab_to(page, target)
    target.send_keys(Keys.SPACE)


def _settle(page: WebDriver) -> None:
    """Wait for the clusters' zoom animation to end (old clusters fade out)."""
    _wait(
        page,
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-cluster-anim"),
        "the map kept animating",
    )


_CLICK_BIGGEST_CLUSTER = """
var clusters = Array.from(document.querySelectorAll(".map-cluster"));
clusters.sort(function (a, b) {
  return parseInt(b.textContent, 10) - parseInt(a.textContent, 10);
});
clusters[0].click();
"""


def _no_horizontal_scroll(page: WebDriver) -> bool:
    return bool(
        page.execute_script(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_map_layers_clusters_outlines_and_legend(
    driver: WebDriver,  # noqa: F811
    live_server,
    mps_analyst: User,
    seeded: dict,  # noqa: F811
    settings,
) -> None:
    settings.MAP_TILE_URL = ""  # the default: no tile server, nothing from outside
    base = live_server.url
    open_page_as(driver, base, mps_analyst, "/data/explore/map/?level=borough", MAP_LOADED)
    the_map = driver.find_element(By.ID, "workspace-map")
    assert the_map.get_attribute("aria-label")

    # The base layer: borough outlines and names from the portal, with no tile server.
    assert _count(driver, ".leaflet-tile") == 0
    assert _count(driver, ".leaflet-mapBase-pane path.map-outline--borough") == 1
    assert _count(driver, ".leaflet-mapLabels-pane .map-label") == 3
    requested = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert requested and all(url.startswith(base) for url in requested), requested

    # At a borough-or-wider zoom the points are clusters whose totals add up.
    assert _zoom(driver) <= 12
    for _ in range(4):
        if _zoom(driver) <= 10:
            break
        before = _zoom(driver)
        _settle(driver)
        driver.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-out").click()
        _wait(driver, lambda d, z=before: _zoom(d) < z, "zooming out did nothing")
    assert _zoom(driver) <= 10  # London
    _wait(driver, lambda d: _count(d, ".map-cluster") > 0, "no clusters at the London zoom")
    assert _count(driver, ".map-point") == 0
    # (Once the zoom animation is over: clusters of the old zoom fade out first.)
    _wait(
        driver,
        lambda d: (
            d.execute_script(
                "return Array.from(document.querySelectorAll('.map-cluster span[aria-hidden]'))"
                ".reduce(function (n, s) { return n + parseInt(s.textContent, 10); }, 0)"
            )
            == VISIBLE_INCIDENTS
        ),
        f"the clusters do not add up to the {VISIBLE_INCIDENTS} incidents",
    )
    save_screenshot(driver, "map-london")

    # Zoomed in, by clicking the clusters as a person would, single points appear.
    for _ in range(8):
        if _count(driver, ".map-point"):
            break
        before = _zoom(driver)
        _settle(driver)
        driver.execute_script(_CLICK_BIGGEST_CLUSTER)
        _wait(driver, lambda d, z=before: _zoom(d) > z, "clicking a cluster did not zoom in")
    _wait(driver, lambda d: _count(d, ".map-point") > 0, "no points after zooming in")
    assert _zoom(driver) >= 14
    save_screenshot(driver, "map-zoomed")

    # The layer control is labelled, reached with Tab and switched with the keyboard.
    control = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers[role=group]")
    assert control.get_attribute("aria-label") == "Map layers"
    points = _layer_input(driver, "Incident locations")
    areas_input = _layer_input(driver, "Areas shaded")
    outlines = _layer_input(driver, "Outlines")
    marker_css = ".leaflet-marker-pane .map-point, .leaflet-marker-pane .map-cluster"
    _toggle_by_keyboard(driver, points)
    _wait(driver, lambda d: _count(d, marker_css) == 0, "points still drawn when switched off")
    _toggle_by_keyboard(driver, points)
    _wait(driver, lambda d: _count(d, marker_css) > 0, "points not drawn when switched on")
    assert _count(driver, "path.map-area") == 3
    _toggle_by_keyboard(driver, areas_input)
    _wait(driver, lambda d: _count(d, "path.map-area") == 0, "areas still drawn when off")
    _toggle_by_keyboard(driver, areas_input)
    _wait(driver, lambda d: _count(d, "path.map-area") == 3, "areas not drawn when on")
    _toggle_by_keyboard(driver, outlines)
    _wait(driver, lambda d: _count(d, "path.map-outline") == 0, "outlines still drawn when off")
    _toggle_by_keyboard(driver, outlines)
    _wait(driver, lambda d: _count(d, "path.map-outline") > 0, "outlines not drawn when on")

    # Each drawn fill is the colour of the legend swatch of its class.
    mismatches = driver.execute_script(
        """
        function rgb(colour) {
          var probe = document.createElement("span");
          probe.style.color = colour;
          document.body.appendChild(probe);
          var out = getComputedStyle(probe).color;
          probe.remove();
          return out;
        }
        var legend = {};
        document.querySelectorAll("#map-legend .workspace-legend__swatch").forEach(function (s) {
          legend[s.getAttribute("data-class")] = getComputedStyle(s).backgroundColor;
        });
        var out = [];
        document.querySelectorAll("path.map-area").forEach(function (p) {
          var cls = (p.getAttribute("class").match(/map-area--(\\w+)/) || [])[1];
          if (legend[cls] === undefined || rgb(p.getAttribute("fill")) !== legend[cls]) {
            out.push([cls, p.getAttribute("fill"), legend[cls]]);
          }
        });
        return out;
        """
    )
    assert mismatches == []
    assert _count(driver, "#map-legend .workspace-legend__swatch") >= 2
    # The text alternative: the counts by area as a table.
    assert _count(driver, "#map-table tbody tr") == 3

    try:
        for width, height in ((1366, 900), (375, 812)):
            driver.set_window_size(width, height)
            _wait(driver, lambda d, w=width: d.execute_script("return innerWidth") <= w, "resize")
            assert _no_horizontal_scroll(driver), f"horizontal scroll at {width}px"
            assert_no_axe_violations(driver, f"map page at {width}px")
            save_screenshot(driver, f"map-{width}")
    finally:
        driver.set_window_size(1280, 1024)


def test_aggregate_user_map_has_no_points_and_a_suppressed_swatch(
    driver: WebDriver,  # noqa: F811
    live_server,
    aggregate_user: User,
    seeded: dict,  # noqa: F811
) -> None:
    path = f"/data/explore/map/?level=borough&{BOROUGHS_WITH_DATA}"
    open_page_as(driver, live_server.url, aggregate_user, path, MAP_LOADED)
    assert _count(driver, ".map-point, .map-cluster") == 0
    labels = [
        label.text
        for label in driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers label")
    ]
    assert labels and not [text for text in labels if "Incident locations" in text]
    # A suppressed area is hatched on the map and has its swatch, with words, in the legend.
    assert _count(driver, "path.map-area--s") >= 1
    fill = driver.find_element(By.CSS_SELECTOR, "path.map-area--s").get_attribute("fill")
    assert fill == "url(#map-suppressed)"
    swatch = driver.find_element(By.CSS_SELECTOR, "#map-legend [data-class=s]")
    assert "suppressed" in swatch.find_element(By.XPATH, "..").text
    assert_no_axe_violations(driver, "aggregate map page")
