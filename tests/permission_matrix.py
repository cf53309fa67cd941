"""The permission matrix: method x URL x persona → expected status.

Every endpoint joins by appending ``Case`` rows to ``CASES`` (one block per feature);
``tests/accounts/test_permission_matrix.py`` runs them all. A URL or a POST body may be
a callable taking ``fx``: ``fx("grant_southwark")`` returns that fixture, so cases can
name objects that exist only inside the test. Out-of-scope answers are 404, writes by
people without the role are 403, anonymous requests are redirected to sign in (302).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from tests.personas import PERSONAS

Fixture = Callable[[str], Any]
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Case:
    method: str
    url: str | Callable[[Fixture], str]  # a URL name without arguments, or a callable
    persona: str  # a persona fixture name, or ANONYMOUS
    status: int
    data: Mapping[str, Any] | Callable[[Fixture], Mapping[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        url = self.url if isinstance(self.url, str) else getattr(self.url, "label", "url")
        return f"{self.method} {url} {self.persona} -> {self.status}"

    def resolve_url(self, fx: Fixture) -> str:
        return reverse(self.url) if isinstance(self.url, str) else self.url(fx)

    def resolve_data(self, fx: Fixture) -> Mapping[str, Any]:
        return self.data(fx) if callable(self.data) else self.data


def url(name: str, **fixture_kwargs: str) -> Callable[[Fixture], str]:
    """A URL whose keyword arguments are the primary keys of fixtures.

    ``url("accounts:grant_edit", pk="grant_southwark")`` reverses with that grant's pk.
    """

    def build(fx: Fixture) -> str:
        kwargs = {key: fx(fixture).pk for key, fixture in fixture_kwargs.items()}
        return reverse(name, kwargs=kwargs)

    build.label = name  # type: ignore[attr-defined]
    return build


# One persona of each kind, for read-only pages that differ only by role (keeps the
# matrix quick); writes and scoped pages run against every persona.
ONE_OF_EACH_ROLE = (
    "liaison_a",
    "southwark_analyst",
    "aggregate_user",
    "data_manager",
    "access_admin",
    "org_lead",
    "outsider",
)


def everyone(
    method: str,
    target: str | Callable[[Fixture], str],
    *,
    allowed: Mapping[str, int],
    others: int,
    anonymous: int = 302,
    data: Mapping[str, Any] | Callable[[Fixture], Mapping[str, Any]] | None = None,
    personas: tuple[str, ...] = PERSONAS,
) -> list[Case]:
    """One case per persona: ``allowed`` statuses for some, ``others`` for the rest."""
    cases = [Case(method, target, ANONYMOUS, anonymous, data or {})]
    for persona in personas:
        cases.append(Case(method, target, persona, allowed.get(persona, others), data or {}))
    return cases


CASES: list[Case] = []

# --- home -------------------------------------------------------------------------------
CASES += everyone("GET", "home", allowed={}, others=200)

# --- personal API tokens: every signed-in person, only their own tokens ------------------
CASES += everyone("GET", "accounts:token_list", allowed={}, others=200)
# The API reference page: everyone who may call the API (the endpoints scope the data).
CASES += everyone("GET", "api-docs", allowed={}, others=200, personas=ONE_OF_EACH_ROLE)
CASES += everyone(
    "POST", "accounts:token_list", allowed={}, others=200, data={"name": "R", "days": 30}
)
CASES += everyone(
    "POST",
    url("accounts:token_revoke", pk="mps_analyst_token"),
    allowed={"mps_analyst": 302},
    others=404,
)

# --- access administration: GLA access administrators only -------------------------------
CASES += everyone("GET", "accounts:index", allowed={"access_admin": 302}, others=404)
ADMIN_PAGES: list[str | Callable[[Fixture], str]] = [
    "accounts:user_list",
    "accounts:user_invite",
    url("accounts:user_detail", pk="southwark_analyst"),
    url("accounts:user_deactivate", pk="southwark_analyst"),
    "accounts:organisation_list",
    "accounts:organisation_create",
    url("accounts:organisation_detail", pk="org_southwark"),
    url("accounts:organisation_edit", pk="org_southwark"),
    "accounts:membership_add",
    url("accounts:membership_edit", pk="southwark_membership"),
    url("accounts:membership_remove", pk="southwark_membership"),
    "accounts:grant_list",
    url("accounts:grant_create", organisation_pk="org_southwark"),
    url("accounts:grant_edit", pk="grant_southwark"),
    url("accounts:grant_revoke", pk="grant_southwark"),
    "upload_rights:list",
    "accounts:access_review",
    "accounts:access_review_csv",
]
for page in ADMIN_PAGES:
    CASES += everyone(
        "GET", page, allowed={"access_admin": 200}, others=404, personas=ONE_OF_EACH_ROLE
    )


def _grant_form(fx: Fixture) -> dict[str, Any]:
    grant = fx("grant_southwark")
    return {
        "level": "aggregate",
        "boroughs": grant.boroughs,
        "download_allowed": "on",
        "location_precision": "lsoa",
        "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat(),
        "agreement_reference": fx("agreement_southwark").reference,
        "reason": "Matrix test",
    }


# Writes: an administrator's valid POST redirects; anyone else is refused with 403.
ADMIN_WRITES: list[tuple[str | Callable[[Fixture], str], Any]] = [
    (url("accounts:grant_create", organisation_pk="org_southwark"), _grant_form),
    (url("accounts:grant_edit", pk="grant_southwark"), _grant_form),
    (url("accounts:grant_revoke", pk="grant_southwark"), {"reason": "Matrix test"}),
    (url("accounts:user_deactivate", pk="southwark_analyst"), {"reason": "Matrix test"}),
    (url("accounts:user_reactivate", pk="southwark_analyst"), {}),
    (url("accounts:membership_remove", pk="southwark_membership"), {}),
    (url("accounts:pattern_flag_review", pk="aggregate_pattern_flag"), {}),
    (
        url("upload_rights:revoke", site_pk="site_a", user_pk="liaison_a"),
        {},
    ),
]
for target, body in ADMIN_WRITES:
    CASES += everyone("POST", target, allowed={"access_admin": 302}, others=403, data=body)

# --- an organisation's people: administrators, and that organisation's leads -------------
CASES += everyone(
    "GET",
    url("accounts:organisation_people", pk="org_southwark"),
    allowed={"access_admin": 200, "org_lead": 200},
    others=404,
)
CASES += everyone(
    "GET",
    url("accounts:organisation_people", pk="org_lambeth"),
    allowed={"access_admin": 200},
    others=404,
)
CASES += everyone("GET", "accounts:my_organisation", allowed={"org_lead": 302}, others=404)


def run_case(case: Case, client: Any, request: Any) -> Any:
    """Sign in as the case's persona (MFA-verified), make its request and assert the
    status; anonymous 302s must go to sign-in. Returns the response for extra checks."""
    from tests.factories import login_verified

    def fx(name: str) -> Any:
        return request.getfixturevalue(name)

    target = case.resolve_url(fx)
    if case.persona != ANONYMOUS:
        login_verified(client, fx(case.persona))
    response = getattr(client, case.method.lower())(target, data=case.resolve_data(fx))
    assert response.status_code == case.status, (
        f"{case.method} {target} as {case.persona}: {response.status_code}"
    )
    if case.persona == ANONYMOUS and case.status == 302:
        assert "/accounts/login/" in response["Location"]
    return response
