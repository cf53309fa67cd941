"""Headless Chromium for browser tests: the driver, signing in with TOTP, and axe-core.

Debian's chromium and chromedriver are used as installed (no downloads). Tests that use
``browser`` are skipped, with the reason, when the browser is not installed.
Set BROWSER_SCREENSHOT_DIR to keep screenshots of the pages the tests visit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from tests.factories import DEMO_TOTP_SECRET, TEST_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA, as the public sector accessibility regulations require.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WAIT_SECONDS = 15

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1280,1024",
]


@pytest.fixture(scope="session")
def live_server_closes_connections(live_server) -> Iterator[None]:
    """The live server answers each request on a new thread; with persistent database
    connections (CONN_MAX_AGE) a thread kept alive by the browser would still hold one
    when the test database is dropped. Close them at the end of every request instead."""
    database = connections.settings[DEFAULT_DB_ALIAS]
    kept = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 0
    yield
    database["CONN_MAX_AGE"] = kept


@pytest.fixture(scope="session")
def browser(live_server_closes_connections) -> Iterator[WebDriver]:
    """One headless Chromium for the session, with a throwaway profile."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(
            f"Browser tests need {CHROMIUM} and {CHROMEDRIVER} (apt: chromium chromium-driver)"
        )
    profile = tempfile.mkdtemp(prefix="istv-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]:
        options.add_argument(argument)
    # Console messages let tests notice Content-Security-Policy violations.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def driver(browser: WebDriver, live_server, transactional_db) -> Iterator[WebDriver]:
    """The session's browser, signed out and with an empty console, for one test."""
    browser.get(live_server.url + "/data-sources/")
    browser.delete_all_cookies()
    browser.get_log("browser")
    yield browser
    browser.delete_all_cookies()


def wait_for(driver: WebDriver, by: str, value: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(
        expected_conditions.visibility_of_element_located((by, value))
    )


# The workspace map has drawn its first answer (portal's map script sets data-loaded).
MAP_LOADED = "#workspace-map[data-loaded=true]"


def open_page(driver: WebDriver, url: str, ready: str) -> WebElement:
    """Open ``url`` and wait until the element matching the CSS selector ``ready`` shows;
    on a timeout, say what the browser's console said."""
    driver.get(url)
    try:
        return wait_for(driver, By.CSS_SELECTOR, ready)
    except TimeoutException:
        console = [entry["message"] for entry in driver.get_log("browser")]
        raise AssertionError(
            f"{ready} did not show on {driver.current_url}; console: {console}"
        ) from None


def open_page_as(driver: WebDriver, base_url: str, user: User, path: str, ready: str) -> WebElement:
    """Sign ``user`` in, then open ``path`` and wait for ``ready`` (see ``open_page``)."""
    sign_in_with_totp(driver, base_url, user)
    return open_page(driver, base_url + path, ready)


def filter_explore_by_borough(driver: WebDriver, code: str) -> None:
    """On the explore page, tick a borough and apply the filter, as a person would."""
    driver.find_element(By.CSS_SELECTOR, f"input[name=borough][value={code}]").click()
    driver.find_element(By.CSS_SELECTOR, "form.workspace-filters button[type=submit]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: f"borough={code}" in d.current_url)


def current_totp_code(secret: str = DEMO_TOTP_SECRET) -> str:
    """The code an authenticator app shows now. Waits out the last seconds of a period so
    the code is still valid when the server checks it (the portal allows no drift)."""
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 3:
        time.sleep(period - time.time() % period + 0.5)
    counter = list(yield_hotp_counters_from_time())[mfa_settings.TOTP_TOLERANCE]
    return format_hotp_value(hotp_value(secret, counter))


def prepare_user_for_sign_in(user: User) -> User:
    """An invited user who has confirmed their e-mail address (sign-in requires it)."""
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def sign_in_with_totp(
    driver: WebDriver,
    base_url: str,
    user: User,
    *,
    password: str = TEST_PASSWORD,
    secret: str = DEMO_TOTP_SECRET,
    check_accessibility: bool = False,
) -> None:
    """Sign in through the real pages: e-mail and password, then the authenticator code.
    With ``check_accessibility`` each page is checked with axe-core before it is used."""
    prepare_user_for_sign_in(user)
    driver.get(f"{base_url}/accounts/login/")
    wait_for(driver, By.ID, "id_login")
    if check_accessibility:
        assert_no_axe_violations(driver, "sign-in page")
        save_screenshot(driver, "sign-in")
    driver.find_element(By.ID, "id_login").send_keys(user.email)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

    wait_for(driver, By.ID, "id_code")
    if check_accessibility:
        assert_no_axe_violations(driver, "authentication code page")
        save_screenshot(driver, "authentication-code")
    driver.find_element(By.ID, "id_code").send_keys(current_totp_code(secret))
    driver.find_element(By.CSS_SELECTOR, "main button.govuk-button[type=submit]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.current_url.rstrip("/") == base_url.rstrip("/")
    )


def run_axe(driver: WebDriver) -> list[dict]:
    """axe-core's violations for the current page, limited to WCAG 2.2 A and AA rules."""
    driver.execute_script(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}})
          .then((r) => done(JSON.stringify(r.violations)))
          .catch((e) => done(JSON.stringify([{id: "axe-error", help: String(e), nodes: []}])));
        """,
        AXE_TAGS,
    )
    return json.loads(result)


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}")
        for node in violation.get("nodes", [])[:5]:
            lines.append(f"    at {node.get('target')}: {node.get('failureSummary', '').strip()}")
    return "\n".join(lines)


def assert_no_axe_violations(driver: WebDriver, page: str) -> None:
    violations = run_axe(driver)
    assert not violations, (
        f"axe-core found accessibility problems on the {page} ({driver.current_url}):\n"
        + format_violations(violations)
    )


def csp_violations(driver: WebDriver) -> list[str]:
    """Console messages since the last call that report a Content-Security-Policy block."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry.get("message", "")
    ]


def save_screenshot(driver: WebDriver, name: str) -> None:
    folder = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def process_received_submissions(stop: threading.Event, delay: float) -> None:
    """Stands in for the Celery worker in a page test: processes each received submission,
    ``delay`` seconds after it arrives, so the page can be seen polling first."""
    from django.db import connection

    from hospitals.models import Submission
    from ingest import services

    try:
        while not stop.is_set():
            pending = list(
                Submission.objects.filter(status=Submission.Status.RECEIVED).values_list(
                    "pk", flat=True
                )
            )
            for pk in pending:
                time.sleep(delay)  # the status page shows the bar before the work starts
                services.submission_process(submission_id=pk)
            stop.wait(0.3)
    finally:
        connection.close()
