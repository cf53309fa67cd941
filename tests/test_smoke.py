import pytest
from django.urls import reverse

from tests.factories import AccessGrantFactory, MembershipFactory, login_verified


@pytest.mark.django_db
def test_home_requires_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.django_db
def test_verified_analyst_sees_their_access_on_home(client):
    membership = MembershipFactory()
    AccessGrantFactory(organisation=membership.organisation)
    login_verified(client, membership.user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"record data for all of London" in response.content
