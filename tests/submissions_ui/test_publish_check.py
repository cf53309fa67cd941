"""Publishing goes through a check-your-answers page: what the version replaces, the
quality checks that failed or warned, and how many incidents and analysts it changes
(worked out from real rows, loaded by the real pipeline). A reason is required, and
audited, when a check failed."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.models import Incident
from ingest import services
from tests.factories import login_verified
from tests.personas import LAMBETH
from tests.submissions.helpers import HEADER, CsvSpec, csv_bytes, upload

pytestmark = pytest.mark.django_db
Status = Submission.Status
REASON_ERROR = "Enter a reason for publishing a file that failed a check"
FAILED_VOLUME = "The number of records is unusual for this hospital."


def _table() -> list[list[str]]:
    """The rows (no header) of a five-row test file."""
    lines = csv_bytes(CsvSpec(rows=5)).decode().strip().split("\r\n")
    return [line.split(",") for line in lines[1:]]


def _file(rows: list[list[str]]) -> bytes:
    return ("\r\n".join(",".join(r) for r in [HEADER, *rows]) + "\r\n").encode()


def _processed(liaison: User, site: HospitalSite, rows: list[list[str]]) -> Submission:
    received = services.submission_receive(
        actor=liaison,
        site=site,
        period="2025-05",
        upload=upload(_file(rows)),
        set_aside_invalid=False,
        dry_run=False,
    )
    done = services.submission_process(submission_id=received.pk)
    assert done.status == Status.READY_FOR_REVIEW, done.error
    return done


def _set_checks(submission: Submission, *, failed: list[str]) -> None:
    """Fix the quality outcome (the pipeline's own depends on history and thresholds)."""
    scorecard = {**submission.scorecard, "failed_checks": failed, "passes": not failed}
    report = {**submission.report, "warnings_by_code": {"W001_TIME_NOT_KNOWN": 2}}
    Submission.objects.filter(pk=submission.pk).update(scorecard=scorecard, report=report)


@pytest.fixture(autouse=True)
def review_by_hand(settings) -> None:
    settings.SUBMISSION_AUTO_PUBLISH = False


@pytest.fixture
def versions(
    liaison_a: User, data_manager: User, mapped_site: HospitalSite
) -> tuple[Submission, Submission]:
    """Version 1 (five rows) published; version 2 ready: row 2 changed (another method),
    row 5 removed, one new row added."""
    table = _table()
    v1 = _processed(liaison_a, mapped_site, table)
    services.submission_publish(actor=data_manager, submission=v1)
    changed = list(table[1])
    changed[4] = "Fist" if changed[4] != "Fist" else "Knife"
    added = ["20/05/2025", "03:33", "20/05/2025", "03:00", "Bottle", "", "Pub", "Mare St 99"]
    v2 = _processed(liaison_a, mapped_site, [table[0], changed, table[2], table[3], added])
    # Every row in Lambeth, so who sees them follows from the personas' grants alone.
    Incident.objects.update(borough_code=LAMBETH)
    v1.refresh_from_db()
    return v1, v2


@pytest.fixture
def failed_versions(
    client: Client, data_manager: User, versions: tuple[Submission, Submission]
) -> tuple[Submission, Submission]:
    """``versions`` with version 2's volume check failed, and the data manager signed in."""
    _set_checks(versions[1], failed=["volume"])
    login_verified(client, data_manager)
    return versions


def _summary(html: str, section: str) -> dict[str, str]:
    """The key → value pairs of one summary list on the page (text only)."""
    block = re.search(rf'data-check="{section}">(.*?)</dl>', html, re.S)
    assert block is not None, section
    pairs = re.findall(
        r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*'
        r'<dd class="govuk-summary-list__value">(.*?)</dd>',
        block.group(1),
        re.S,
    )
    return {
        unescape(k.strip()): " ".join(unescape(re.sub(r"<[^>]+>", " ", v)).split())
        for k, v in pairs
    }


def _check_page(client: Client, user: User, submission: Submission):
    login_verified(client, user)
    return client.get(reverse("ingest:submission_publish_check", kwargs={"pk": submission.pk}))


def _publish(client: Client, submission: Submission, **data: str):
    return client.post(reverse("ingest:submission_publish", kwargs={"pk": submission.pk}), data)


def test_check_page_shows_what_is_replaced_the_checks_and_what_changes(
    client: Client,
    data_manager: User,
    versions: tuple[Submission, Submission],
    lambeth_analyst: User,
    southwark_analyst: User,
    mps_analyst: User,
    outsider: User,
) -> None:
    v1, v2 = versions
    _set_checks(v2, failed=["volume"])
    response = _check_page(client, data_manager, v2)
    html = response.content.decode()
    assert response.status_code == 200

    replaces = _summary(html, "replaces")
    assert replaces["Replaces"] == f"Version {v1.version}"
    assert replaces["Rows in that version"] == str(Incident.objects.filter(submission=v1).count())
    assert replaces["Rows in that version"] == "5"
    assert v1.published_at is not None
    assert replaces["Published"] == date_format(timezone.localtime(v1.published_at), "j F Y H:i")

    quality = _summary(html, "quality")
    assert quality["Failed"] == FAILED_VOLUME
    assert (
        "The assault time is not known" in quality["Warnings"] and "(2 rows)" in quality["Warnings"]
    )

    changes = _summary(html, "changes")
    assert (
        changes["Incidents added"],
        changes["Incidents removed"],
        changes["Incidents changed"],
    ) == ("1", "1", "1")
    # Lambeth's analyst, the MPS analyst and the data manager (both pan-London) see
    # Lambeth; the Southwark analyst and the outsider do not.
    assert changes["Analysts who will see the change"].startswith("3 ")
    assert 'name="reason"' in html  # a check failed: a reason is asked for


def test_first_version_replaces_nothing_and_adds_every_row(
    client: Client, data_manager: User, liaison_a: User, mapped_site: HospitalSite
) -> None:
    v1 = _processed(liaison_a, mapped_site, _table())
    html = _check_page(client, data_manager, v1).content.decode()
    replaces = _summary(html, "replaces")
    assert replaces["Replaces"] == "Nothing \u2013 this is the first version for this month"
    assert "Rows in that version" not in replaces
    changes = _summary(html, "changes")
    assert (changes["Incidents added"], changes["Incidents removed"]) == ("5", "0")


def test_missing_reason_is_refused_when_a_check_failed(
    client: Client, failed_versions: tuple[Submission, Submission]
) -> None:
    _, v2 = failed_versions
    for data in ({}, {"reason": "   "}):
        response = _publish(client, v2, **data)
        html = response.content.decode()
        assert response.status_code == 400
        assert html.count(REASON_ERROR) == 2  # the error summary and the inline message
        assert "govuk-error-summary" in html and "govuk-textarea--error" in html
        assert "<title>Error: " in html
    v2.refresh_from_db()
    assert v2.status == Status.READY_FOR_REVIEW
    assert not AuditEvent.objects.filter(
        action=Action.SUBMISSION_PUBLISHED, object_id=str(v2.pk)
    ).exists()


def test_the_reason_lands_in_the_audit_row_without_personal_data(
    client: Client, data_manager: User, failed_versions: tuple[Submission, Submission]
) -> None:
    v1, v2 = failed_versions
    reason = "ED closed for two weeks, confirmed by the trust. Call 07700 900123 to check."
    response = _publish(client, v2, reason=reason)
    assert response.status_code == 302
    v2.refresh_from_db()
    v1.refresh_from_db()
    assert (v2.status, v1.status) == (Status.PUBLISHED, Status.SUPERSEDED)
    event = AuditEvent.objects.get(action=Action.SUBMISSION_PUBLISHED, object_id=str(v2.pk))
    assert event.actor == data_manager
    assert event.details["reason"].startswith("ED closed for two weeks, confirmed by the trust.")
    assert "07700 900123" not in str(event.details)  # a phone number never reaches the log
    assert event.details["failed_checks"] == ["volume"]


def test_no_reason_is_needed_when_the_checks_passed(
    client: Client, data_manager: User, versions: tuple[Submission, Submission]
) -> None:
    _, v2 = versions
    _set_checks(v2, failed=[])
    html = _check_page(client, data_manager, v2).content.decode()
    assert _summary(html, "quality")["Failed"] == "None"
    assert 'name="reason"' not in html
    response = _publish(client, v2)
    assert response.status_code == 302
    v2.refresh_from_db()
    assert v2.status == Status.PUBLISHED
    event = AuditEvent.objects.get(action=Action.SUBMISSION_PUBLISHED, object_id=str(v2.pk))
    assert "reason" not in event.details and event.details["failed_checks"] == []


def test_publishing_still_needs_the_csrf_token(
    data_manager: User, versions: tuple[Submission, Submission]
) -> None:
    _, v2 = versions
    _set_checks(v2, failed=[])
    client = Client(enforce_csrf_checks=True)
    login_verified(client, data_manager)
    assert _publish(client, v2).status_code == 403
    v2.refresh_from_db()
    assert v2.status == Status.READY_FOR_REVIEW


def test_only_data_managers_reach_the_check_page(
    client: Client,
    liaison_a: User,
    liaison_b: User,
    mps_analyst: User,
    versions: tuple[Submission, Submission],
) -> None:
    _, v2 = versions
    assert _check_page(client, liaison_a, v2).status_code == 403
    assert _check_page(client, liaison_b, v2).status_code == 404
    assert _check_page(client, mps_analyst, v2).status_code == 404
    login_verified(client, liaison_a)
    assert _publish(client, v2, reason="x").status_code == 403
    v2.refresh_from_db()
    assert v2.status == Status.READY_FOR_REVIEW


def test_check_page_is_404_for_a_version_not_waiting_to_be_published(
    client: Client, data_manager: User, versions: tuple[Submission, Submission]
) -> None:
    v1, _ = versions
    assert _check_page(client, data_manager, v1).status_code == 404
