"""A hospital's new ED system exports different columns: the liaison uploads the file,
sees what changed and the proposed new mapping, confirms it, and the same file continues
to "ready for review"; the data manager publishes it. axe-core finds no WCAG 2.2 AA
problems on the mapping page."""

from __future__ import annotations

import threading

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hospitals.models import MappingProfile, Submission
from incidents.models import Incident
from tests.browser.conftest import (
    WAIT_SECONDS,
    assert_no_axe_violations,
    csp_violations,
    process_received_submissions,
    save_screenshot,
    sign_in_with_totp,
    wait_for,
)
from tests.submissions.helpers import (
    CsvSpec,
    changed_layout_csv,
    confirm_test_layout,
    use_private_storage,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    use_private_storage(settings, tmp_path)


def _main_text(driver) -> str:
    """The page's main text; empty while the page is being replaced (after a click), so a
    wait simply tries again."""
    try:
        return driver.find_element(By.TAG_NAME, "main").text
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def test_liaison_confirms_a_changed_layout_and_the_data_manager_publishes(
    driver, live_server, liaison_a, data_manager, site_a, tmp_path
):
    confirm_test_layout(site_a)
    upload = tmp_path / "may.csv"
    upload.write_bytes(changed_layout_csv(CsvSpec(rows=6)))
    stop = threading.Event()
    worker = threading.Thread(target=process_received_submissions, args=(stop, 1), daemon=True)
    worker.start()
    try:
        sign_in_with_totp(driver, live_server.url, liaison_a)
        driver.get(live_server.url + "/submissions/upload/")
        wait_for(driver, By.ID, "id_file")
        Select(driver.find_element(By.ID, "id_period")).select_by_visible_text("May 2025")
        driver.find_element(By.ID, "id_file").send_keys(str(upload))
        driver.find_element(By.CSS_SELECTOR, "main button.govuk-button[type=submit]").click()

        # progress.js reloads the status page once the check has finished.
        link = WebDriverWait(driver, WAIT_SECONDS * 2).until(
            lambda d: d.find_elements(By.LINK_TEXT, "Check the proposed new mapping")
        )[0]
        assert "Mapping needed" in _main_text(driver)
        assert "confirmed mapping (version 1)" in _main_text(driver)
        submission = Submission.objects.get()
        assert not Incident.objects.exists()
        link.click()

        assert wait_for(driver, By.TAG_NAME, "h1").text == "The file's columns have changed"
        diff = driver.find_element(By.ID, "layout-change").text
        assert "Columns gone" in diff and "Columns new" in diff and "Columns kept" in diff
        assert "Assault Method (seems to be “Weapon used” now)" in diff
        assert "Col7 (seems to replace “Location Type”)" in diff
        # The proposal is preselected, built from version 1 and the values.
        columns = submission.report["columns"]
        chosen = {
            column: Select(
                driver.find_element(By.ID, f"id_column_{i}")
            ).first_selected_option.get_attribute("value")
            for i, column in enumerate(columns)
        }
        assert chosen["Weapon used"] == "method"
        assert chosen["Col7"] == "location_type"
        assert chosen["Incident Dt"] == "assault_date"
        assert chosen["Where it happened"] == "location_description"
        versions = driver.find_element(By.ID, "mapping-versions").find_element(
            By.XPATH, "following-sibling::div//table"
        )
        assert "Current" in versions.text
        assert_no_axe_violations(driver, "mapping page for a changed layout")
        save_screenshot(driver, "submission-mapping-changed-layout")

        driver.find_element(By.CSS_SELECTOR, "main button.govuk-button[type=submit]").click()
        # Checked again and loaded: the page reloads with the scorecard it now has.
        WebDriverWait(driver, WAIT_SECONDS * 2).until(
            lambda d: d.find_elements(By.LINK_TEXT, "Quality scorecard")
        )
        assert "Mapping saved. The file is being checked again." not in _main_text(driver)
        assert "Ready for review" in _main_text(driver)
        submission.refresh_from_db()
        assert submission.status == Submission.Status.READY_FOR_REVIEW
        assert Submission.objects.count() == 1  # the same stored file, not uploaded again
        assert Incident.objects.filter(submission=submission).count() == 6
        assert list(
            MappingProfile.objects.filter(site=site_a)
            .order_by("version")
            .values_list("version", flat=True)
        ) == [1, 2]
        assert csp_violations(driver) == []

        driver.delete_all_cookies()
        sign_in_with_totp(driver, live_server.url, data_manager)
        driver.get(f"{live_server.url}/submissions/{submission.pk}/")
        wait_for(driver, By.XPATH, "//a[normalize-space()='Publish this submission']").click()
        # Confirmed on the check-your-answers page (a reason when a check failed).
        wait_for(driver, By.XPATH, "//h1[starts-with(normalize-space(), 'Check before')]")
        if driver.find_elements(By.ID, "id_reason"):
            driver.find_element(By.ID, "id_reason").send_keys("Test file from a new ED system.")
        driver.find_element(By.CSS_SELECTOR, "main form button.govuk-button[type=submit]").click()
        WebDriverWait(driver, WAIT_SECONDS).until(lambda d: "Published" in _main_text(d))
        submission.refresh_from_db()
        assert submission.status == Submission.Status.PUBLISHED
        assert submission.published_by == data_manager
    finally:
        stop.set()
        worker.join(timeout=30)
