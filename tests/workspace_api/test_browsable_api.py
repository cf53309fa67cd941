"""The API's browsable HTML pages, as an analyst signed in to the portal sees them when a
browser follows an API link: each endpoint renders with the portal's navigation (which
reads the same once-per-request access as the API's permission check)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import login_verified
from tests.workspace_api.conftest import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/hotspots/?cell=500",
        "/api/v1/top-locations/",
        "/api/v1/aggregates/?group_by=borough&borough=E09000028",
        "/api/v1/police-gap/?group_by=borough&borough=E09000028",
        "/api/v1/incidents/",
        "/api/v1/saved-queries/",
    ],
)
def test_browsable_api_pages_render_for_a_signed_in_analyst(
    client: Client, mps_analyst: User, world: World, path: str
) -> None:
    login_verified(client, mps_analyst)
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
