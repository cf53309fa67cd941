"""During a database outage web requests get a 503 page, never a traceback."""

import pytest
from django.test import Client, override_settings

from istv_portal import urls as portal_urls
from tests.ops.outage_urls import SECRET_DETAIL


@override_settings(ROOT_URLCONF="tests.ops.outage_urls", DEBUG=False)
def test_a_database_outage_answers_503_with_retry_after():
    response = Client(raise_request_exception=False).get("/outage/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Sorry, the service is unavailable" in body
    assert SECRET_DETAIL not in body and "Traceback" not in body


@override_settings(ROOT_URLCONF="tests.ops.outage_urls", DEBUG=False)
def test_any_other_error_is_still_a_generic_500():
    response = Client(raise_request_exception=False).get("/bug/")
    assert response.status_code == 500
    assert SECRET_DETAIL not in response.content.decode()


def test_the_portal_uses_this_handler():
    assert portal_urls.handler500 == "istv_portal.errors.server_error"


pytestmark = pytest.mark.django_db
