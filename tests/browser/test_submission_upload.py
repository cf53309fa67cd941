"""A liaison signs in, uploads a small valid CSV, watches the progress bar reach the
report and sees the scorecard; axe-core finds no WCAG 2.2 AA problems on the upload,
status and report pages."""

from __future__ import annotations

import threading

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hospitals.models import Submission
from ingest import services
from tests.browser.conftest import (
    WAIT_SECONDS,
    assert_no_axe_violations,
    csp_violations,
    process_received_submissions,
    save_screenshot,
    sign_in_with_totp,
    wait_for,
)
from tests.submissions.helpers import confirm_test_layout, upload, use_private_storage
from tests.submissions_ui.conftest import csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    use_private_storage(settings, tmp_path)


def test_liaison_uploads_and_watches_progress_to_the_report(
    driver, live_server, liaison_a, site_a, tmp_path
):
    confirm_test_layout(site_a)
    upload = tmp_path / "may.csv"
    upload.write_bytes(csv_bytes(5))
    stop = threading.Event()
    worker = threading.Thread(target=process_received_submissions, args=(stop, 2), daemon=True)
    worker.start()
    try:
        sign_in_with_totp(driver, live_server.url, liaison_a)
        driver.get(live_server.url + "/submissions/upload/")
        wait_for(driver, By.ID, "id_file")
        assert_no_axe_violations(driver, "upload page")
        save_screenshot(driver, "submission-upload")

        Select(driver.find_element(By.ID, "id_period")).select_by_visible_text("May 2025")
        driver.find_element(By.ID, "id_file").send_keys(str(upload))
        driver.find_element(By.CSS_SELECTOR, "main button.govuk-button[type=submit]").click()

        bar = wait_for(driver, By.CSS_SELECTOR, "[role=progressbar]")
        assert bar.get_attribute("aria-valuemin") == "0"
        assert bar.get_attribute("aria-valuemax") == "100"
        assert_no_axe_violations(driver, "status page")
        save_screenshot(driver, "submission-status")

        # progress.js polls and reloads the page when processing has finished
        link = WebDriverWait(driver, WAIT_SECONDS * 2).until(
            lambda d: d.find_elements(By.LINK_TEXT, "Validation report")
        )[0]
        assert (
            driver.find_element(By.CSS_SELECTOR, "[role=progressbar]").get_attribute(
                "aria-valuenow"
            )
            == "100"
        )
        assert "Ready for review" in driver.find_element(By.TAG_NAME, "main").text
        link.click()

        heading = wait_for(driver, By.TAG_NAME, "h1")
        assert heading.text == "Validation report"
        main = driver.find_element(By.TAG_NAME, "main").text
        assert "Rows accepted 5" in main
        assert_no_axe_violations(driver, "report page")
        save_screenshot(driver, "submission-report")

        driver.find_element(By.LINK_TEXT, "Back to the submission's status").click()
        wait_for(driver, By.LINK_TEXT, "Quality scorecard").click()
        assert wait_for(driver, By.TAG_NAME, "h1").text == "Quality scorecard"
        assert "Completeness of each ISTV item" in driver.find_element(By.TAG_NAME, "main").text
        assert_no_axe_violations(driver, "scorecard page")
        assert csp_violations(driver) == []
    finally:
        stop.set()
        worker.join(timeout=30)


def test_a_rejected_file_shows_the_error_state_not_a_full_blue_bar(
    driver, live_server, liaison_a, site_a
):
    confirm_test_layout(site_a)
    received = services.submission_receive(
        actor=liaison_a,
        site=site_a,
        period="2025-05",
        upload=upload(csv_bytes(3, bad_dates=2)),
        set_aside_invalid=False,
        dry_run=False,
    )
    rejected = services.submission_process(submission_id=received.pk)
    assert rejected.status == Submission.Status.REJECTED
    sign_in_with_totp(driver, live_server.url, liaison_a)
    driver.get(f"{live_server.url}/submissions/{rejected.pk}/")
    bar = wait_for(driver, By.CSS_SELECTOR, "[role=progressbar]")
    assert "portal-progress--error" in (bar.get_attribute("class") or "")
    assert bar.get_attribute("aria-valuetext") == "Rejected \u2013 see the report"
    fill = bar.find_element(By.CSS_SELECTOR, "[data-progress-bar]")
    # GOV.UK's error red, not the progress blue.
    assert fill.value_of_css_property("background-color") in (
        "rgba(212, 53, 28, 1)",
        "rgb(212, 53, 28)",
    )
    assert "Rejected \u2013 see the report" in driver.find_element(By.TAG_NAME, "main").text
    assert_no_axe_violations(driver, "status page of a rejected file")
