"""Per-hospital recording feedback: scoped to the liaison's own site, counts only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from programme.selectors import site_feedback
from tests.factories import login_verified
from tests.programme.conftest import make_incidents, make_submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(site_a, site_b, last_month):
    sub_a = make_submission(site_a, last_month)
    make_incidents(sub_a, last_month, n=2)  # placed
    make_incidents(sub_a, last_month, geo_class="vague", geo_method="rule", placed=False)
    make_incidents(sub_a, last_month, geo_class="home", geo_method="rule", placed=False)
    make_incidents(sub_a, last_month, geo_class="unknown", geo_method="rule", placed=False,
                   method="not_known")  # fmt: skip
    sub_b = make_submission(site_b, last_month)
    make_incidents(sub_b, last_month, n=3)
    make_incidents(sub_b, last_month, geo_class="unknown", geo_method="none", placed=False)
    make_incidents(sub_b, last_month, geo_class="abroad", geo_method="rule", placed=False)
    # An unpublished file does not count.
    draft = make_submission(site_a, last_month, version=2, status="ready_for_review")
    make_incidents(draft, last_month, geo_class="vague", n=5, placed=False)
    return sub_a, sub_b


def test_counts_for_site_and_london(recorded, site_a, last_month) -> None:
    months = site_feedback(site_a)
    assert len(months) == 12
    latest = months[-1]
    assert latest.month == last_month
    assert latest.site == {
        "total": 5, "vague": 1, "home": 1, "unknown": 1, "unplaceable": 0, "method_unknown": 1,
    }  # fmt: skip
    assert latest.london == {
        "total": 10, "vague": 1, "home": 1, "unknown": 1, "unplaceable": 2, "method_unknown": 1,
    }  # fmt: skip
    assert latest.share("site", "vague") == 20.0
    assert latest.share("london", "unplaceable") == 20.0
    assert months[0].share("site", "vague") is None  # no records: no share, not zero


def test_liaison_sees_own_site_never_free_text(client, recorded, liaison_a, site_a) -> None:
    login_verified(client, liaison_a)
    index = client.get(reverse("programme:feedback_index"))
    assert index.status_code == 302
    assert index["Location"] == reverse("programme:feedback_site", args=[site_a.pk])
    page = client.get(index["Location"])
    assert page.status_code == 200
    assert b"SECRET-FREE-TEXT" not in page.content
    assert b"feedback-data" in page.content
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]


def test_other_hospital_is_an_audited_404(client, recorded, liaison_a, site_b) -> None:
    login_verified(client, liaison_a)
    assert client.get(reverse("programme:feedback_site", args=[site_b.pk])).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).exists()


def test_data_manager_sees_every_site(client, recorded, data_manager, site_a, site_b) -> None:
    login_verified(client, data_manager)
    index = client.get(reverse("programme:feedback_index"))
    assert index.status_code == 200
    assert b"RJ122" in index.content and b"R1H12" in index.content
    assert client.get(reverse("programme:feedback_site", args=[site_b.pk])).status_code == 200


def test_guidance_pages_render(client, liaison_a) -> None:
    login_verified(client, liaison_a)
    for slug in ("why", "items", "locations", "personal-details"):
        page = client.get(reverse("programme:guidance_page", args=[slug]))
        assert page.status_code == 200, slug
    locations = client.get(reverse("programme:guidance_page", args=["locations"]))
    assert b"Black Lion pub, Commercial Road" in locations.content
    assert b"Sainsbury" in locations.content
    assert client.get(reverse("programme:guidance_page", args=["nope"])).status_code == 404
