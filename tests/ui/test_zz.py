import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.test import override_settings
from django.urls import reverse
from accounts.models import Membership, Organisation
@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
def test_x(client, signed_in_as):
    signed_in_as(Membership.Role.ANALYST)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("home"))
    for q in ctx.captured_queries: print(q["sql"][:150])
    print(len(ctx.captured_queries))
