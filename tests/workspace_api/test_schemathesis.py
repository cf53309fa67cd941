"""Every /api/v1/ answer matches the published OpenAPI schema (Schemathesis, all checks).

The schema is loaded from the running application (``/api/schema/``) with an analyst's
personal token, as a client generator would, and every operation is called through the
Django WSGI application with a bounded number of generated requests: all Schemathesis
checks (status codes, content types, response bodies, headers, negative and positive data
handling) must pass. Generated clients (R, Python, QGIS plugins) rely on exactly this.

No operation is excluded. The submissions upload (``POST /api/v1/submissions/``) is
called as well: the analyst handles no submissions, so it must answer its documented 403.
Two checks are narrowed, each for a stated reason (below): a 400 for a rule the schema
cannot state (``BEYOND_THE_SCHEMA``), and a "negative" query that is valid as sent (a
generated ``true`` in a code parameter). The generated requests are the same on every
run (``derandomize``), so a failure is reproducible.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.specs.openapi import checks as _openapi_checks  # registers the checks

from accounts.models import User
from accounts.services import api_token_create
from tests.workspace_api.conftest import World

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 8  # per operation and mode: the whole run stays well under a minute
# `--checks all`, with one replaced: `positive_data_acceptance` wants every schema-valid
# request accepted, but a few rules depend on the data, the caller's access or another
# parameter, which OpenAPI cannot state. `_valid_requests_accepted` below allows a 400
# naming only those parameters, and fails on any other (a wrong enum, pattern or range).
ALL_CHECKS = [c for c in CHECKS.get_all() if c is not _openapi_checks.positive_data_acceptance]
BEYOND_THE_SCHEMA = {
    "release": "must name an existing release",
    "cursor": "only a cursor the API issued",
    "assault_date_to": "not before assault_date_from",
    "arrival_date_to": "not before arrival_date_from",
    "q": "free-text search needs the free-text right",
    "purpose": "required for record-level downloads, which depend on access",
    "group_by": "a grouping too sparse to publish, or a dimension repeated",
}


def _sent(value: Any) -> str:
    """A query value as the request carries it."""
    if value is None or value == {}:
        # A generated null or empty object goes over the wire as an empty value
        # ("hour_from=", "method=").
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _text_is_valid(text: str, item: dict[str, Any], *, empty_allowed: bool) -> bool:
    """One query value, as text, against its parameter's schema (the keywords used here)."""
    if text == "" and empty_allowed:
        return True
    if "enum" in item:
        return text in map(str, item["enum"])
    if item.get("type") == "integer":
        if not re.fullmatch(r"-?[0-9]+", text):
            return False
        number = int(text)
        return item.get("minimum", number) <= number <= item.get("maximum", number)
    if item.get("format") == "date":
        return re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) is not None
    if item.get("type", "string") != "string" or len(text) > item.get("maxLength", len(text)):
        return False
    return re.search(item.get("pattern", ""), text) is not None


def _query_as_sent_is_valid(case: Any) -> bool:
    """Whether a GET's negative case, as it went over the wire, was in fact valid: a
    generated boolean in a string parameter arrives as ``true`` (a valid code), a null or
    an empty object as an empty value (allowed where the parameter allows one); an empty
    list is not sent at all."""
    if case.method != "GET":
        return False
    parameters = {p.name: p.definition for p in case.operation.query}
    for name, value in (case.query or {}).items():
        if name not in parameters:
            return False
        schema = parameters[name].get("schema", {})
        empty_allowed = bool(parameters[name].get("allowEmptyValue"))
        item = schema.get("items", {}) if schema.get("type") == "array" else schema
        values = value if isinstance(value, list) else [value]
        if not all(_text_is_valid(_sent(v), item, empty_allowed=empty_allowed) for v in values):
            return False
    required = {n for n, d in parameters.items() if d.get("required")}
    return required <= set(case.query or {})


def _rejects_invalid_requests(ctx: Any, response: Any, case: Any) -> Any:
    """`negative_data_rejection`, except where the request as sent was valid after all."""
    if _query_as_sent_is_valid(case):
        return None
    return _openapi_checks.negative_data_rejection(ctx, response, case)


def _valid_requests_accepted(ctx: Any, response: Any, case: Any) -> None:
    """A schema-valid request is accepted, or refused for a rule beyond the schema."""
    if response.status_code != 400:
        return
    body = response.json()
    refused = set(body) if isinstance(body, dict) else {"?"}
    assert refused <= set(BEYOND_THE_SCHEMA), f"schema-valid request refused: {body}"


@pytest.fixture
def analyst_token(mps_analyst: User, world: World) -> str:
    return api_token_create(actor=mps_analyst, name="schemathesis", days=1).key


@pytest.fixture
def api_schema(analyst_token: str) -> Iterator[Any]:
    # As Django's test client does: the test's transaction holds the connection, so the
    # handler must not close it between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json",
            WSGIHandler(),
            headers={"Authorization": f"Token {analyst_token}"},
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run(operation: Any, mode: GenerationMode, token: str) -> None:
    """``MAX_EXAMPLES`` generated requests of one mode against one operation."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: a failure is reproducible
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        cache.clear()  # the per-user rates would otherwise turn the run into 429s
        if mode is GenerationMode.POSITIVE:
            checks = [*ALL_CHECKS, _valid_requests_accepted]
        else:
            checks = [c for c in ALL_CHECKS if c is not _openapi_checks.negative_data_rejection]
            checks.append(_rejects_invalid_requests)
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)

    check()


def test_every_operation_matches_the_schema(api_schema: Any, analyst_token: str) -> None:
    failures = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12  # the whole API, not a silently shortened list
    for operation in operations:
        # An operation without parameters or body has no invalid request to generate.
        takes_input = bool(operation.query or operation.path_parameters or operation.body)
        for mode in GenerationMode if takes_input else [GenerationMode.POSITIVE]:
            try:
                _run(operation, mode, analyst_token)
            except (Exception, BaseExceptionGroup) as failure:  # collect all, report each
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
