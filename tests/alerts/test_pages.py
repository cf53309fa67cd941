"""The alert pages: subscribe and stop beside each saved query, the Alerts list, the
e-mail's stop link without sign-in, and 404 for anything out of scope."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from incidents.alert_digests import alert_subscribe
from incidents.models import AlertSubscription
from tests.alerts.conftest import QUERY_NAME, saved_for

pytestmark = pytest.mark.django_db
SUCCESS_BANNER = "govuk-notification-banner--success"


def test_subscribe_and_stop_beside_a_saved_query(
    southwark_analyst: User, signed_in: Callable[[User], Client]
) -> None:
    saved = saved_for(southwark_analyst)
    client = signed_in(southwark_analyst)
    page = client.get(reverse("incidents:saved_query_list")).content.decode()
    assert f'Subscribe<span class="govuk-visually-hidden"> to alerts for {QUERY_NAME}' in page
    assert reverse("incidents:alert_list") in page

    response = client.post(
        reverse("incidents:alert_subscribe", args=[saved.pk]), {"next": "saved"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("incidents:saved_query_list")
    page = response.content.decode()
    assert SUCCESS_BANNER in page and "Alerts started for" in page
    assert "Stop alerts<span" in page
    subscription = AlertSubscription.objects.get(user=southwark_analyst)
    assert subscription.active and len(subscription.token) >= 32
    # Subscribing again keeps the one subscription.
    client.post(reverse("incidents:alert_subscribe", args=[saved.pk]), {"next": "saved"})
    assert AlertSubscription.objects.filter(user=southwark_analyst).count() == 1

    response = client.post(
        reverse("incidents:alert_stop", args=[subscription.pk]), {"next": "saved"}, follow=True
    )
    assert SUCCESS_BANNER in response.content.decode()
    subscription.refresh_from_db()
    assert not subscription.active
    actions = list(
        AuditEvent.objects.filter(action__startswith="alert.").values_list("action", "details")
    )
    assert actions == [
        (Action.ALERT_SUBSCRIBED, {"saved_query": saved.pk}),
        (Action.ALERT_STOPPED, {"saved_query": saved.pk, "via": "page"}),
    ]


def test_the_alerts_page_lists_the_users_subscriptions_with_a_stop_button(
    southwark_alert: AlertSubscription,
    southwark_analyst: User,
    signed_in: Callable[[User], Client],
) -> None:
    client = signed_in(southwark_analyst)
    page = client.get(reverse("incidents:alert_list")).content.decode()
    assert '<h1 class="govuk-heading-l">Alerts</h1>' in page
    assert "<caption" in page and QUERY_NAME in page
    assert reverse("incidents:alert_stop", args=[southwark_alert.pk]) in page
    assert "csrfmiddlewaretoken" in page
    response = client.post(
        reverse("incidents:alert_stop", args=[southwark_alert.pk]), {"next": "alerts"}, follow=True
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("incidents:alert_list")
    assert SUCCESS_BANNER in page and "You get no alerts yet." in page


def test_another_users_subscription_and_query_answer_404(
    southwark_alert: AlertSubscription,
    southwark_analyst: User,
    lambeth_analyst: User,
    signed_in: Callable[[User], Client],
) -> None:
    client = signed_in(lambeth_analyst)
    stop = client.post(reverse("incidents:alert_stop", args=[southwark_alert.pk]))
    assert stop.status_code == 404
    private = southwark_alert.saved_query
    assert client.post(reverse("incidents:alert_subscribe", args=[private.pk])).status_code == 404
    assert client.post(reverse("incidents:alert_subscribe", args=[999_999])).status_code == 404
    southwark_alert.refresh_from_db()
    assert southwark_alert.active
    assert not AlertSubscription.objects.filter(user=lambeth_analyst).exists()
    page = client.get(reverse("incidents:alert_list")).content.decode()
    assert QUERY_NAME not in page


def test_a_shared_query_can_be_watched_by_a_colleague(
    southwark_analyst: User, org_lead: User, signed_in: Callable[[User], Client]
) -> None:
    shared = saved_for(southwark_analyst, name="Shared with the partnership", shared=True)
    client = signed_in(org_lead)
    response = client.post(reverse("incidents:alert_subscribe", args=[shared.pk]))
    assert response.status_code == 302
    assert AlertSubscription.objects.get(user=org_lead).saved_query == shared


def test_the_stop_link_works_without_sign_in_and_again(
    southwark_alert: AlertSubscription,
) -> None:
    client = Client()
    path = f"{reverse('incidents:alert_stop_link')}?token={southwark_alert.token}"
    first = client.get(path)
    assert first.status_code == 200
    page = first.content.decode()
    assert "Alert stopped" in page and "govuk-panel--confirmation" in page
    southwark_alert.refresh_from_db()
    stopped_at = southwark_alert.stopped_at
    assert stopped_at is not None
    second = client.get(path)
    assert second.status_code == 200 and "already stopped" in second.content.decode()
    southwark_alert.refresh_from_db()
    assert southwark_alert.stopped_at == stopped_at
    events = AuditEvent.objects.filter(action=Action.ALERT_STOPPED)
    assert [e.details for e in events] == [
        {"saved_query": southwark_alert.saved_query_id, "via": "link"}
    ]


def test_one_click_unsubscribe_by_post_needs_no_csrf_token(
    southwark_alert: AlertSubscription,
) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"{reverse('incidents:alert_stop_link')}?token={southwark_alert.token}",
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    southwark_alert.refresh_from_db()
    assert not southwark_alert.active


def test_an_unknown_stop_token_answers_404(southwark_alert: AlertSubscription) -> None:
    client = Client()
    assert (
        client.get(f"{reverse('incidents:alert_stop_link')}?token=not-a-token").status_code == 404
    )
    assert client.get(reverse("incidents:alert_stop_link")).status_code == 404
    southwark_alert.refresh_from_db()
    assert southwark_alert.active


def test_subscribing_again_after_stopping_makes_a_new_link(southwark_analyst: User) -> None:
    saved = saved_for(southwark_analyst)
    first = alert_subscribe(actor=southwark_analyst, saved_query=saved)
    Client().get(f"{reverse('incidents:alert_stop_link')}?token={first.token}")
    second = alert_subscribe(actor=southwark_analyst, saved_query=saved)
    assert second.pk != first.pk and second.token != first.token and second.active
