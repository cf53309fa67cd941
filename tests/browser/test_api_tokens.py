"""The API token panel in headless Chromium: the new token shown whole, once, with a copy
button that works from the keyboard and says so in a live region; the page passes axe."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import Membership, Organisation
from tests.browser.conftest import (
    WAIT_SECONDS,
    assert_no_axe_violations,
    csp_violations,
    save_screenshot,
    sign_in_with_totp,
    wait_for,
)
from tests.factories import AccessGrantFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium's clipboard as a page script sees it; headless Chromium may refuse to read it.
READ_CLIPBOARD = """
const done = arguments[arguments.length - 1];
navigator.clipboard.readText().then((text) => done({text: text}), (e) => done({error: String(e)}));
"""
# Stands in for the clipboard when it cannot be read back: records what the button copies.
RECORD_COPIES = """
window.copiedForTest = [];
navigator.clipboard.writeText = (text) => {
  window.copiedForTest.push(text);
  return Promise.resolve();
};
"""


@pytest.fixture
def analyst():
    organisation = Organisation.objects.create(name="Metropolitan Police Service", kind="mps")
    AccessGrantFactory(organisation=organisation)
    return MembershipFactory(organisation=organisation, role=Membership.Role.ANALYST).user


def press_copy_and_wait(driver) -> str:
    """Press the copy button with the keyboard; return the status the live region shows."""
    button = driver.find_element(By.CSS_SELECTOR, "button[data-copy-target='new-token-key']")
    status = driver.find_element(By.ID, button.get_attribute("data-copy-status"))
    assert status.get_attribute("aria-live") == "polite"
    driver.execute_script("arguments[0].focus();", button)
    assert driver.switch_to.active_element == button
    button.send_keys(Keys.ENTER)
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: status.text)
    return status.text


def test_new_token_is_shown_whole_and_copied_by_the_button(driver, live_server, analyst):
    driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": live_server.url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    sign_in_with_totp(driver, live_server.url, analyst)
    driver.get(f"{live_server.url}/manage/tokens/")
    wait_for(driver, By.ID, "id_name").send_keys("R script")
    days = driver.find_element(By.ID, "id_days")
    days.clear()
    days.send_keys("30")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    key = wait_for(driver, By.ID, "new-token-key").text
    assert len(key) >= 40 and "…" not in key  # the whole token, not its prefix
    docs = driver.find_element(By.LINK_TEXT, "API documentation")
    assert docs.get_attribute("href").endswith("/api/docs/")
    assert_no_axe_violations(driver, "API token page")
    save_screenshot(driver, "api-token-created")

    assert press_copy_and_wait(driver) == "Copied"
    read = driver.execute_async_script(READ_CLIPBOARD)
    if "text" in read:
        assert read["text"] == key
    else:  # no readable clipboard here: check what the button hands to it instead
        driver.execute_script(RECORD_COPIES)
        assert press_copy_and_wait(driver) == "Copied"
        assert driver.execute_script("return window.copiedForTest;") == [key]
    assert_no_axe_violations(driver, "API token page after copying")
    assert csp_violations(driver) == []
