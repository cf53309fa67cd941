"""In headless Chromium: a data manager writes release notes; a liaison reads their
feedback page. axe-core finds no WCAG 2.2 AA violations on the pages on the way."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from incidents.models import Release, ReleaseNote
from tests.browser.conftest import (
    WAIT_SECONDS,
    assert_no_axe_violations,
    csp_violations,
    sign_in_with_totp,
    wait_for,
)
from tests.programme.conftest import make_incidents, make_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_data_manager_writes_release_notes(driver, live_server, data_manager, site_a, last_month):
    submission = make_submission(site_a, last_month)
    release = Release.objects.create(number=7, label=f"{last_month:%Y-%m}")
    release.submissions.set([submission])
    sign_in_with_totp(driver, live_server.url, data_manager)

    driver.get(f"{live_server.url}/programme/releases/7/notes/")
    body = wait_for(driver, By.ID, "id_body")
    assert "What this release adds" in body.get_attribute("value")
    assert_no_axe_violations(driver, "release notes editor")
    body.clear()
    body.send_keys("## Known issues\n\n- Late file from one site.\n\n<script>alert(1)</script>")
    driver.find_element(By.CSS_SELECTOR, "button[name=publish]").click()

    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.current_url.endswith("/releases/7/"))
    notes = wait_for(driver, By.CSS_SELECTOR, ".programme-markdown")
    assert "Late file from one site." in notes.text
    assert "<script>alert(1)</script>" in notes.text  # shown as text, never run
    assert ReleaseNote.objects.get(release=release).status == ReleaseNote.Status.PUBLISHED
    assert_no_axe_violations(driver, "release notes page")
    driver.get(f"{live_server.url}/programme/releases/")
    wait_for(driver, By.TAG_NAME, "h1")
    assert_no_axe_violations(driver, "release list")
    assert csp_violations(driver) == []


def test_liaison_opens_their_feedback(driver, live_server, liaison_a, site_a, last_month):
    submission = make_submission(site_a, last_month)
    make_incidents(submission, last_month, n=3)
    make_incidents(submission, last_month, geo_class="vague", geo_method="rule", placed=False)
    sign_in_with_totp(driver, live_server.url, liaison_a)

    driver.get(f"{live_server.url}/programme/feedback/")
    heading = wait_for(driver, By.TAG_NAME, "h1")
    assert heading.text == "Recording feedback"
    assert f"/programme/feedback/{site_a.pk}/" in driver.current_url
    table = driver.find_element(By.CSS_SELECTOR, "table.govuk-table").text
    assert "25.0%" in table  # 1 vague of 4
    assert "SECRET-FREE-TEXT" not in driver.page_source
    # Chart.js drew the canvas (it sets the width from the container).
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('feedback-chart'))")
    )
    assert_no_axe_violations(driver, "feedback page")
    driver.get(f"{live_server.url}/programme/guidance/locations/")
    wait_for(driver, By.TAG_NAME, "h1")
    assert_no_axe_violations(driver, "guidance page")
    assert csp_violations(driver) == []


def test_programme_pages_pass_axe(driver, live_server, data_manager, org_mps, org_gla):
    """The register, case studies and the impact dashboard, as a GLA data manager."""
    import datetime as dt

    from django.utils import timezone

    from programme import services

    agreement = services.agreement_create(
        actor=data_manager, providers=[], recipients=[org_mps], activate=True,
        reference="DSA-MPS", title="MPS", legal_basis="Public task", purpose="Reduction",
        ends_on=timezone.localdate() + dt.timedelta(days=30),
    )  # fmt: skip
    study = services.case_study_create(
        actor=data_manager, organisation=org_gla, title="Glassings fell", summary="Licensing.",
        body="## Outcome\n\nFewer injuries.", themes=["night_time_economy"],
    )  # fmt: skip
    sign_in_with_totp(driver, live_server.url, data_manager)
    for path, name in (
        ("/programme/agreements/", "agreement register"),
        (f"/programme/agreements/{agreement.pk}/", "agreement page"),
        ("/programme/agreements/new/", "new agreement form"),
        ("/programme/case-studies/", "case-study list"),
        (f"/programme/case-studies/{study.pk}/", "case study"),
        ("/programme/case-studies/new/", "case-study form"),
        ("/programme/impact/", "impact dashboard"),
        ("/programme/guidance/", "guidance"),
    ):
        driver.get(live_server.url + path)
        wait_for(driver, By.TAG_NAME, "h1")
        assert_no_axe_violations(driver, name)
    assert csp_violations(driver) == []
