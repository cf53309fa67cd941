"""A demo-style analyst signs in with password and TOTP in headless Chromium;
the pages on the way meet WCAG 2.2 AA according to axe-core."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import Membership, Organisation
from tests.browser.conftest import (
    WAIT_SECONDS,
    assert_no_axe_violations,
    csp_violations,
    current_totp_code,
    prepare_user_for_sign_in,
    save_screenshot,
    sign_in_with_totp,
    wait_for,
)
from tests.factories import TEST_PASSWORD, AccessGrantFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def analyst():
    organisation = Organisation.objects.create(name="Metropolitan Police Service", kind="mps")
    AccessGrantFactory(organisation=organisation)
    membership = MembershipFactory(organisation=organisation, role=Membership.Role.ANALYST)
    return membership.user


def test_analyst_signs_in_with_password_and_totp(driver, live_server, analyst):
    sign_in_with_totp(driver, live_server.url, analyst, check_accessibility=True)

    heading = wait_for(driver, By.TAG_NAME, "h1")
    assert heading.text == "Welcome to the ISTV Portal"
    assert "record data for all of London" in driver.find_element(By.TAG_NAME, "main").text
    nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Menu]").text
    assert "Home" in nav and "Sign out" in nav and "Manage access" not in nav
    assert_no_axe_violations(driver, "home page")
    save_screenshot(driver, "home")
    assert csp_violations(driver) == []


def test_styles_and_scripts_load_under_the_csp(driver, live_server):
    driver.get(live_server.url + "/accounts/login/")
    button = wait_for(driver, By.CSS_SELECTOR, "main .govuk-button")
    body = driver.find_element(By.TAG_NAME, "body")
    # govuk-frontend 6's CSS: its button green (#0f7a52); portal.css: the system font stack.
    assert button.value_of_css_property("background-color") == "rgba(15, 122, 82, 1)"
    assert body.value_of_css_property("font-family").startswith("system-ui")
    # portal.js ran (an external file, allowed by script-src 'self') and
    # govuk-frontend's module initialised the page's components.
    assert "govuk-frontend-supported" in body.get_attribute("class").split()
    wait_for(driver, By.CSS_SELECTOR, "[data-govuk-button-init]")
    assert csp_violations(driver) == []


def test_sign_in_error_summary_is_accessible(driver, live_server):
    driver.get(live_server.url + "/accounts/login/")
    wait_for(driver, By.ID, "id_login").send_keys("nobody@example.test")
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    summary = wait_for(driver, By.CSS_SELECTOR, ".govuk-error-summary")
    assert "There is a problem" in summary.text
    # govuk-frontend moves focus to the summary so screen readers announce it.
    assert driver.switch_to.active_element == summary
    assert_no_axe_violations(driver, "sign-in page with errors")


def test_newcomer_sets_up_authenticator_app(driver, live_server):
    """First sign-in without MFA: the portal insists on TOTP set-up, which is accessible."""
    user = prepare_user_for_sign_in(UserFactory(with_mfa=False))
    driver.get(live_server.url + "/accounts/login/")
    wait_for(driver, By.ID, "id_login").send_keys(user.email)
    driver.find_element(By.ID, "id_password").send_keys(TEST_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: "/reauthenticate/" in d.current_url or "/totp/activate/" in d.current_url
    )
    if "/reauthenticate/" in driver.current_url:
        # allauth asks for the password again before any change to MFA.
        assert_no_axe_violations(driver, "confirm password page")
        wait_for(driver, By.ID, "id_password").send_keys(TEST_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

    wait_for(driver, By.CSS_SELECTOR, "img.portal-qr-code")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Set up your authenticator app"
    assert_no_axe_violations(driver, "authenticator set-up page")
    save_screenshot(driver, "totp-activate")
    secret = driver.find_element(By.ID, "authenticator_secret").get_attribute("textContent")
    driver.find_element(By.ID, "id_code").send_keys(current_totp_code(secret.strip()))
    driver.find_element(By.CSS_SELECTOR, "main button.govuk-button[type=submit]").click()

    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: "/totp/activate/" not in d.current_url)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert_no_axe_violations(driver, f"page after MFA set-up ({driver.current_url})")
    save_screenshot(driver, "after-totp-activate")
    assert csp_violations(driver) == []


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/accounts/2fa/", "account-security"),
        ("/accounts/sessions/", "sessions"),
        ("/no-such-page/", "not-found"),
        ("/data-sources/", "attribution"),
    ],
)
def test_signed_in_pages_are_accessible(driver, live_server, analyst, path, name):
    sign_in_with_totp(driver, live_server.url, analyst)
    driver.get(live_server.url + path)
    wait_for(driver, By.TAG_NAME, "h1")
    assert_no_axe_violations(driver, f"{name} page")
    save_screenshot(driver, name)
