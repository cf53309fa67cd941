"""Every refusal in the permission matrices leaves exactly one ``auth.denied`` row.

The case tables are imported from the matrices themselves, so a row added to any matrix
is walked here too: a 403 or 404 must write one ``auth.denied`` event for that request
(actor, status, path; no personal data), any other answer none. Pages no matrix covers
(the geocoding review queue and the audit viewer) get rows of their own below.
``test_every_matrix_is_walked`` fails when a new matrix module is not imported here.
"""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from hospitals.models import Submission
from incidents.geocoding.models import ReviewItem
from incidents.masking import reset_geography_cache
from incidents.models import Incident

# Besides the case tables, the fixtures those cases name, from the matrix modules and their
# conftest files: pytest uses a fixture imported into a test module as if defined here.
# tests/audit/conftest.py has simpler users named access_admin and outsider; the matrices
# mean the personas, whose imports below take precedence in this module.
from tests.accounts.test_permission_matrix import (  # noqa: F401
    aggregate_pattern_flag,
    mps_analyst_token,
    southwark_membership,
)
from tests.factories import login_verified
from tests.permission_matrix import ANONYMOUS, Case, Fixture, everyone, run_case
from tests.permission_matrix import CASES as ACCOUNT_CASES
from tests.personas import PERSONAS, SOUTHWARK, access_admin, outsider  # noqa: F401
from tests.programme.test_permission_matrix import CASES as PROGRAMME_CASES
from tests.programme.test_permission_matrix import (  # noqa: F401
    agreement,
    draft_study,
    published_study,
    release_one,
    study_image,
)
from tests.reference.permission_cases import REFERENCE_CASES
from tests.submissions.helpers import use_private_storage
from tests.submissions_ui.conftest import make_submission, ready_a  # noqa: F401
from tests.submissions_ui.test_permission_matrix import CASES as SUBMISSION_CASES
from tests.submissions_ui.test_permission_matrix import mapping_a  # noqa: F401
from tests.workspace_api.conftest import world  # noqa: F401
from tests.workspace_api.test_permission_matrix import CASES as API_CASES
from tests.workspace_api.test_permission_matrix import (  # noqa: F401
    matrix_csv,
    matrix_incident,
    matrix_release,
    matrix_saved_query,
)
from tests.workspace_pages.conftest import areas, codes, seeded  # noqa: F401
from tests.workspace_pages.test_permission_matrix import CASES as WORKSPACE_CASES

pytestmark = pytest.mark.django_db

REFUSED = frozenset({403, 404})
# Everything a denial row may say: no e-mail, name, query string or free text.
DENIAL_DETAIL_KEYS = {"status", "reason", "method", "path", "view"}


def _path(label: str, build: Any) -> Any:
    build.label = label
    return build


def _review_detail(fx: Fixture) -> str:
    return reverse("geocoding:review_detail", args=[fx("review_item").pk])


# Pages outside every matrix: data managers review geocodes, access admins read the log.
EXTRA_CASES: list[Case] = []
for _name in ("geocoding:review_list", "geocoding:boroughs_geojson"):
    EXTRA_CASES += everyone("GET", _name, allowed={"data_manager": 200}, others=404)
EXTRA_CASES += everyone(
    "GET",
    _path("geocoding:review_detail", _review_detail),
    allowed={"data_manager": 200},
    others=404,
)
for _name in ("audit:event_list", "audit:event_export"):
    EXTRA_CASES += everyone("GET", _name, allowed={"access_admin": 200}, others=404)

MATRICES: dict[str, list[Case]] = {
    "accounts": ACCOUNT_CASES,
    "workspace": WORKSPACE_CASES,
    "api": API_CASES,
    "submissions": SUBMISSION_CASES,
    "reference": REFERENCE_CASES,
    "programme": PROGRAMME_CASES,
    "other": EXTRA_CASES,
}
WALK = [(source, case) for source, cases in MATRICES.items() for case in cases]


@pytest.fixture(autouse=True)
def private_storage(settings: Any, tmp_path: Path) -> Path:
    """Private files under this test's tmp_path (the matrices' storage fixtures in one)."""
    return use_private_storage(settings, tmp_path)


@pytest.fixture(autouse=True)
def private_cache(settings: Any) -> None:
    """Throttle counters and cached geography of this test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"denials-{uuid.uuid4().hex}",
        }
    }
    reset_geography_cache()


@pytest.fixture
def review_item(db: None) -> ReviewItem:
    return ReviewItem.objects.create(phrase="albert road", text="Albert Road", hospital="RJ122")


def _last_event_id() -> int:
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last or 0


def _denials_since(last_id: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.ACCESS_DENIED, pk__gt=last_id))


def _assert_one_denial(
    events: list[AuditEvent], *, user: Any, status: int, path: str, method: str
) -> None:
    assert len(events) == 1, f"{method} {path}: {len(events)} auth.denied rows, expected 1"
    (event,) = events
    assert event.actor_id == (user.pk if user is not None else None)
    assert set(event.details) == DENIAL_DETAIL_KEYS
    assert event.details["status"] == status
    assert event.details["reason"] == ("out_of_scope" if status == 404 else "forbidden")
    assert event.details["method"] == method
    assert event.details["path"] == path
    if user is not None:
        recorded = json.dumps([event.details, event.object_type, event.object_id])
        assert user.email not in recorded and user.full_name not in recorded


@pytest.mark.parametrize(
    ("source", "case"), WALK, ids=[f"{source}: {case.id}" for source, case in WALK]
)
def test_each_refusal_writes_one_denial(
    source: str, case: Case, client: Client, request: pytest.FixtureRequest
) -> None:
    if source == "api":
        request.getfixturevalue("world")  # the API matrix runs in its small world
    last_id = _last_event_id()
    response = run_case(case, client, request)
    events = _denials_since(last_id)
    if case.status not in REFUSED:
        assert events == [], f"{case.id}: a {case.status} is not a refusal"
        return
    user = None if case.persona == ANONYMOUS else request.getfixturevalue(case.persona)
    _assert_one_denial(
        events,
        user=user,
        status=case.status,
        path=response.request["PATH_INFO"],
        method=case.method,
    )


def _published_incident(fx: Fixture) -> str:
    fx("seeded")
    incident = Incident.objects.filter(submission__status="published").order_by("pk").first()
    assert incident is not None
    return f"/data/incidents/{incident.pk}/"


# Refusals once answered with a bare 404 and no audit row, named by their paths.
EXAMPLES = [
    ("liaison_a", lambda fx: "/data/explore/"),
    ("liaison_a", _published_incident),
    ("liaison_a", lambda fx: "/geocoding/review/"),
    ("southwark_analyst", lambda fx: "/data/transparency/"),
    ("southwark_analyst", lambda fx: "/data/monitoring/"),
]


@pytest.mark.parametrize(
    ("persona", "build"),
    EXAMPLES,
    ids=["explore", "incident", "geocode-review", "transparency", "monitoring"],
)
def test_named_refusals_write_one_denial(
    persona: str, build: Any, client: Client, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    path = build(request.getfixturevalue)
    login_verified(client, user)
    last_id = _last_event_id()
    response = client.get(path)
    assert response.status_code == 404
    _assert_one_denial(_denials_since(last_id), user=user, status=404, path=path, method="GET")


@pytest.mark.usefixtures("seeded")
def test_a_record_outside_scope_names_the_record(client: Client, lambeth_analyst: Any) -> None:
    incident = Incident.objects.filter(
        borough_code=SOUTHWARK, submission__status="published"
    ).first()
    assert incident is not None
    login_verified(client, lambeth_analyst)
    last_id = _last_event_id()
    assert client.get(f"/data/incidents/{incident.pk}/").status_code == 404
    (event,) = _denials_since(last_id)
    assert (event.object_type, event.object_id) == ("incidents.incident", str(incident.pk))


def test_an_id_that_does_not_exist_is_not_a_denial(client: Client, mps_analyst: Any) -> None:
    """As ``get_in_scope_or_404`` decides: only objects that exist can be refused."""
    login_verified(client, mps_analyst)
    last_id = _last_event_id()
    assert client.get("/data/incidents/987654321/").status_code == 404
    assert _denials_since(last_id) == []


def test_every_matrix_is_walked() -> None:
    """A permission matrix module not imported above fails here."""
    tests_dir = Path(__file__).resolve().parents[1]
    files = [tests_dir / "permission_matrix.py", *tests_dir.glob("*/permission_cases.py")]
    files += tests_dir.glob("*/test_permission_matrix.py")
    walked = [case for _, case in WALK]
    missing = []
    for file in files:
        module = importlib.import_module(
            ".".join(file.relative_to(tests_dir.parent).with_suffix("").parts)
        )
        for name, value in vars(module).items():
            if isinstance(value, list) and value and all(isinstance(c, Case) for c in value):
                missing += [f"{file.name}:{name}: {c.id}" for c in value if c not in walked]
    assert missing == [], missing[:20]
    assert {c.persona for c in walked} >= {*PERSONAS, ANONYMOUS}


def test_a_quarantined_original_is_a_recorded_refusal(
    client: Client, data_manager: Any, site_a: Any, request: pytest.FixtureRequest
) -> None:
    make = request.getfixturevalue("make_submission")
    submission = make(site_a, Submission.Status.QUARANTINED)
    login_verified(client, data_manager)
    last_id = _last_event_id()
    path = reverse("ingest:submission_original", kwargs={"pk": submission.pk})
    assert client.get(path).status_code == 404
    (event,) = _denials_since(last_id)
    assert (event.object_type, event.object_id) == ("hospitals.submission", str(submission.pk))
