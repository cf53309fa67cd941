"""A data manager opens a processed submission, presses publish, sees the
check-your-answers page (what it replaces, the failed check, what changes), is asked
for a reason because a check failed, enters one, confirms and sees it published.
axe-core finds no WCAG 2.2 AA problems on the page, with or without the error."""

from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from accounts.audit.models import Action, AuditEvent
from hospitals.models import Submission
from ingest import services
from tests.browser.conftest import (
    WAIT_SECONDS,
    assert_no_axe_violations,
    csp_violations,
    save_screenshot,
    sign_in_with_totp,
    wait_for,
)
from tests.submissions.helpers import (
    CsvSpec,
    confirm_test_layout,
    csv_bytes,
    upload,
    use_private_storage,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASON = "The trust confirmed the low count: the ED was closed for two weeks."


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    use_private_storage(settings, tmp_path)
    settings.SUBMISSION_AUTO_PUBLISH = False


def _main_text(driver) -> str:
    try:
        return driver.find_element(By.TAG_NAME, "main").text
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def _processed_with_a_failed_check(liaison, site) -> Submission:
    received = services.submission_receive(
        actor=liaison,
        site=site,
        period="2025-05",
        upload=upload(csv_bytes(CsvSpec(rows=4))),
        set_aside_invalid=False,
        dry_run=False,
    )
    done = services.submission_process(submission_id=received.pk)
    assert done.status == Submission.Status.READY_FOR_REVIEW, done.error
    scorecard = {**done.scorecard, "failed_checks": ["volume"], "passes": False}
    Submission.objects.filter(pk=done.pk).update(scorecard=scorecard)
    return done


def test_data_manager_confirms_publishing_on_the_check_page(
    driver, live_server, liaison_a, data_manager, site_a
):
    confirm_test_layout(site_a)
    submission = _processed_with_a_failed_check(liaison_a, site_a)
    sign_in_with_totp(driver, live_server.url, data_manager)
    driver.get(f"{live_server.url}/submissions/{submission.pk}/")
    wait_for(driver, By.XPATH, "//a[normalize-space()='Publish this submission']").click()

    heading = wait_for(driver, By.TAG_NAME, "h1")
    assert heading.text == "Check before you publish version 1"
    main = _main_text(driver)
    assert "Nothing \u2013 this is the first version for this month" in main
    assert "The number of records is unusual for this hospital." in main
    assert re.search(r"Incidents added\s+4\b", main)
    assert_no_axe_violations(driver, "publish check page")
    save_screenshot(driver, "submission-publish-check")

    # Confirming without a reason is refused with the GOV.UK error pattern.
    driver.find_element(By.CSS_SELECTOR, "main form button.govuk-button[type=submit]").click()
    summary = wait_for(driver, By.CSS_SELECTOR, ".govuk-error-summary")
    assert "Enter a reason for publishing a file that failed a check" in summary.text
    assert driver.title.startswith("Error: ")
    assert_no_axe_violations(driver, "publish check page with an error")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.READY_FOR_REVIEW

    driver.find_element(By.ID, "id_reason").send_keys(REASON)
    driver.find_element(By.CSS_SELECTOR, "main form button.govuk-button[type=submit]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: "Published St Thomas' Hospital, May 2025 (version 1)." in _main_text(d)
    )
    assert driver.find_element(By.TAG_NAME, "h1").text == "May 2025, version 1"
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PUBLISHED
    event = AuditEvent.objects.get(action=Action.SUBMISSION_PUBLISHED, object_id=str(submission.pk))
    assert event.details["reason"] == REASON
    assert csp_violations(driver) == []
