"""Every submission page and API endpoint x persona → expected status.

Cases use the helpers of tests/permission_matrix.py. Liaisons and data managers use
these pages; a liaison sees only their own sites (liaison_b asking for site A's
submission gets 404); everyone else gets 404 on pages, 403 from the API.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from hospitals.models import HospitalSite, Submission

# The same request-and-assert as every other matrix row (one definition of a case's check).
from tests.permission_matrix import Case, Fixture, everyone, run_case, url
from tests.reference.permission_cases import REFERENCE_CASES
from tests.submissions_ui.conftest import MAPPING_REPORT

pytestmark = pytest.mark.django_db

LIAISONS_AND_MANAGERS = {"liaison_a": 200, "liaison_b": 200, "data_manager": 200}
SITE_A_READERS = {"liaison_a": 200, "data_manager": 200}

CASES: list[Case] = []
CASES += everyone("GET", "ingest:submission_list", allowed=LIAISONS_AND_MANAGERS, others=404)
CASES += everyone("GET", "ingest:tracker", allowed=LIAISONS_AND_MANAGERS, others=404)
CASES += everyone(
    "GET", "ingest:submission_upload", allowed={"liaison_a": 200, "liaison_b": 200}, others=404
)
# An empty upload is a form error for liaisons; others may not upload at all.
CASES += everyone(
    "POST",
    "ingest:submission_upload",
    allowed={"liaison_a": 400, "liaison_b": 400, "data_manager": 403},
    others=404,
)
CASES += everyone("GET", "ingest:review_queue", allowed={"data_manager": 200}, others=404)


def _template(extension: str) -> Callable[[Fixture], str]:
    """The ISTV template download (no fixture: the URL names the format)."""

    def build(_fx: Fixture) -> str:
        return reverse("ingest:submission_template", kwargs={"extension": extension})

    build.label = "ingest:submission_template"  # type: ignore[attr-defined]
    return build


for extension in ("csv", "xlsx"):
    CASES += everyone("GET", _template(extension), allowed=LIAISONS_AND_MANAGERS, others=404)
for name in (
    "ingest:submission_detail",
    "ingest:submission_progress",
    "ingest:submission_report",
    "ingest:submission_report_csv",
    "ingest:submission_scorecard",
    "ingest:submission_original",
):
    CASES += everyone("GET", url(name, pk="ready_a"), allowed=SITE_A_READERS, others=404)
CASES += everyone(
    "GET", url("ingest:submission_mapping", pk="mapping_a"), allowed=SITE_A_READERS, others=404
)
CASES += everyone(
    "POST",
    url("ingest:submission_mapping", pk="mapping_a"),
    allowed={"liaison_a": 400, "data_manager": 400},
    others=404,
)
# Publishing is confirmed on a check-your-answers page; ready_a failed a quality check,
# so a POST without a reason is that page again with the error (400).
CASES += everyone(
    "GET",
    url("ingest:submission_publish_check", pk="ready_a"),
    allowed={"data_manager": 200, "liaison_a": 403},
    others=404,
)
CASES += everyone(
    "POST",
    url("ingest:submission_publish", pk="ready_a"),
    allowed={"data_manager": 400, "liaison_a": 403},
    others=404,
)
# The API: 401 without credentials, 403 without a submission role, 404 out of scope.
CASES += everyone(
    "GET",
    "submissions_api:submission_list",
    allowed=LIAISONS_AND_MANAGERS,
    others=403,
    anonymous=401,
)
CASES += everyone(
    "POST",
    "submissions_api:submission_list",
    allowed={"liaison_a": 400, "liaison_b": 400, "data_manager": 400},
    others=403,
    anonymous=401,
)
CASES += everyone(
    "GET",
    url("submissions_api:submission_detail", pk="ready_a"),
    allowed={**SITE_A_READERS, "liaison_b": 404},
    others=403,
    anonymous=401,
)


@pytest.fixture
def mapping_a(make_submission: Callable[..., Submission], site_a: HospitalSite) -> Submission:
    return make_submission(site_a, Submission.Status.MAPPING_NEEDED, report=MAPPING_REPORT)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_submission_permission_matrix(case: Case, client, request) -> None:
    run_case(case, client, request)


def _label(target: str | Callable[[Fixture], str]) -> str:
    return target if isinstance(target, str) else getattr(target, "label", "")


def test_matrix_covers_every_submission_url() -> None:
    """A page or endpoint added without matrix rows fails here."""
    from ingest.api.urls import urlpatterns as api_patterns
    from ingest.urls import urlpatterns

    named = {f"ingest:{p.name}" for p in urlpatterns} | {
        f"submissions_api:{p.name}" for p in api_patterns
    }
    covered = {_label(case.url) for case in (*CASES, *REFERENCE_CASES)}
    assert named <= covered, sorted(named - covered)
