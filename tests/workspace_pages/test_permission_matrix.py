"""Every workspace page x persona → expected status (helpers in tests/permission_matrix.py).

Data pages answer 200 to anyone with a grant, 404 to everyone else (no data access is
"out of scope", not "forbidden"); downloads answer 403 to a data user whose grant has no
download right; objects (a record, a saved query) outside the viewer's scope are 404.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident
from incidents.services import saved_query_create
from tests.permission_matrix import ONE_OF_EACH_ROLE, Case, Fixture, everyone, run_case
from tests.personas import PERSONAS, SOUTHWARK

pytestmark = pytest.mark.django_db

DATA_USERS = dict.fromkeys(
    (
        "southwark_analyst",
        "lambeth_analyst",
        "mps_analyst",
        "aggregate_user",
        "mopac_analyst",
        "data_manager",
        "org_lead",
    ),
    200,
)
FULL_PAGES = ("incidents:dashboard", "incidents:explore")
DATA_PAGES = [
    "incidents:dashboard",
    "incidents:explore",
    "incidents:charts",
    "incidents:map",
    "incidents:map_data",
    "incidents:map_boundaries",
    "incidents:map_base",
    "incidents:saved_query_list",
    "incidents:police_gap",
    "incidents:hotspots",
    "incidents:alert_list",
    "incidents:top_locations",
    "incidents:licensing",
]


def _southwark_incident(fx: Fixture) -> str:
    from django.urls import reverse

    fx("seeded")
    incident = Incident.objects.filter(
        borough_code=SOUTHWARK, submission__status="published"
    ).first()
    assert incident is not None
    return reverse("incidents:incident_detail", args=[incident.pk])


_southwark_incident.label = "incidents:incident_detail"  # type: ignore[attr-defined]


def _shared_southwark_query(fx: Fixture) -> str:
    from django.urls import reverse

    saved = saved_query_create(
        actor=fx("southwark_analyst"),
        name="Shared",
        params={"method": ["knife"]},
        release=None,
        shared_with_organisation=True,
    )
    return reverse("incidents:saved_query_open", args=[saved.pk])


_shared_southwark_query.label = "incidents:saved_query_open"  # type: ignore[attr-defined]


def _monitoring_csv(fx: Fixture) -> str:
    from django.urls import reverse

    from incidents.monitoring import monitoring_report_generate

    fx("private_storage")
    entry = monitoring_report_generate(release=fx("seeded")["release"])
    return reverse("incidents:monitoring_file", args=[entry.release, "incidents_by_month.csv"])


_monitoring_csv.label = "incidents:monitoring_file"  # type: ignore[attr-defined]

MONITORING_READERS = {"aggregate_user": 200, "mopac_analyst": 200, "data_manager": 200}

CASES: list[Case] = []
# The explore table and the dashboard run against every persona; the other tabs read
# through the same access check, so one persona of each kind (plus the no-download,
# LSOA-precision MOPAC analyst) keeps the matrix quick.
for page in DATA_PAGES:
    personas = PERSONAS if page in FULL_PAGES else (*ONE_OF_EACH_ROLE, "mopac_analyst")
    CASES += everyone("GET", page, allowed=DATA_USERS, others=404, personas=personas)
CASES += everyone(
    "GET", "incidents:download", allowed={**DATA_USERS, "mopac_analyst": 403}, others=404
)
CASES += everyone(
    "GET", "incidents:licensing_csv", allowed={**DATA_USERS, "mopac_analyst": 403}, others=404
)
CASES += everyone(
    "POST",
    "incidents:saved_query_list",
    allowed=dict.fromkeys(DATA_USERS, 302),
    others=404,
    data={"name": "Matrix"},
)
CASES += everyone(
    "GET",
    _southwark_incident,
    allowed=dict.fromkeys(
        ("southwark_analyst", "org_lead", "mps_analyst", "mopac_analyst", "data_manager"), 200
    ),
    others=404,
)
CASES += everyone(
    "GET",
    _shared_southwark_query,
    allowed={"southwark_analyst": 302, "org_lead": 302},
    others=404,
)


def _southwark_alert_subscribe(fx: Fixture) -> str:
    from django.urls import reverse

    saved = saved_query_create(
        actor=fx("southwark_analyst"),
        name="Alert me",
        params={"method": ["knife"]},
        release=None,
        shared_with_organisation=True,
    )
    return reverse("incidents:alert_subscribe", args=[saved.pk])


_southwark_alert_subscribe.label = "incidents:alert_subscribe"  # type: ignore[attr-defined]


def _southwark_alert_stop(fx: Fixture) -> str:
    from django.urls import reverse

    from incidents.alert_digests import alert_subscribe

    analyst = fx("southwark_analyst")
    saved = saved_query_create(
        actor=analyst, name="Stop me", params={}, release=None, shared_with_organisation=False
    )
    subscription = alert_subscribe(actor=analyst, saved_query=saved)
    return reverse("incidents:alert_stop", args=[subscription.pk])


_southwark_alert_stop.label = "incidents:alert_stop"  # type: ignore[attr-defined]


def _alert_stop_link_unknown(fx: Fixture) -> str:
    from django.urls import reverse

    return reverse("incidents:alert_stop_link") + "?token=not-a-token"


_alert_stop_link_unknown.label = "incidents:alert_stop_link"  # type: ignore[attr-defined]

# Alerts: a saved query shared with Southwark can be subscribed to by its members only;
# a subscription is stopped by its owner only; an unknown stop token is 404 for anyone.
CASES += everyone(
    "POST",
    _southwark_alert_subscribe,
    allowed={"southwark_analyst": 302, "org_lead": 302},
    others=404,
)
CASES += everyone("POST", _southwark_alert_stop, allowed={"southwark_analyst": 302}, others=404)
CASES += everyone("GET", _alert_stop_link_unknown, allowed={}, others=404, anonymous=404)
CASES += everyone(
    "GET", "incidents:transparency", allowed={"liaison_a": 200, "liaison_b": 200}, others=404
)
CASES += everyone("GET", "incidents:monitoring_list", allowed=MONITORING_READERS, others=404)
CASES += everyone("GET", _monitoring_csv, allowed=MONITORING_READERS, others=404)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_permission_matrix(case: Case, client: Any, request: pytest.FixtureRequest) -> None:
    response = run_case(case, client, request)
    if response.status_code == 200:
        assert "no-store" in response["Cache-Control"]


def test_matrix_covers_every_workspace_url() -> None:
    """A page added to incidents/urls.py without matrix rows fails here."""
    from incidents.urls import urlpatterns

    named = {f"incidents:{p.name}" for p in urlpatterns}
    covered = {c.url if isinstance(c.url, str) else getattr(c.url, "label", "") for c in CASES}
    assert named <= covered, sorted(named - covered)
